package ui

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gatehouse/appliance/auth"
)

// metricsPath serves the appliance's metrics in Prometheus's text format
// (appliance/metric). A scraper reads them with an API token of a role the
// route allows (administrators), or from the appliance itself over
// loopback — a node exporter's textfile job, a Prometheus agent on the
// lobby computer — without one.
const metricsPath = "/metrics"

// metricsHandler is the exposition of the app's registry. At most two
// scrapes run at once (the appliance has two cores); a collector that fails
// (the store closing) leaves its family out rather than the whole page.
func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.app.Metrics.Gatherer(), promhttp.HandlerOpts{
		ErrorLog:            promLog{s},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 2,
	})
}

func (s *Server) metrics(c echo.Context) error {
	s.metricsH.ServeHTTP(c.Response(), c.Request())
	return nil
}

// metricsAllow lets a request through from loopback, or with a bearer
// token of one of roles; anything else is refused before a metric is read.
func (s *Server) metricsAllow(roles []auth.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok {
				if fromLoopback(r) {
					return next(c)
				}
				c.Response().Header().Set("WWW-Authenticate", `Bearer realm="gatehouse metrics"`)
				return errUnauthorized
			}
			t, err := s.app.Auth.TokenFor(strings.TrimSpace(tok))
			if err != nil {
				return errUnauthorized // a wrong token is wrong from loopback too
			}
			if !slices.Contains(roles, t.Role) {
				return errForbidden
			}
			c.Set("token", t)
			return next(c)
		}
	}
}

// fromLoopback tells a request made on the appliance itself: by the
// connection's address (never a header a client writes), and only when no
// proxy says it forwarded the request — behind a reverse proxy on the same
// machine every outside request arrives from loopback.
func fromLoopback(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// promLog sends the exposition's errors to the server's log.
type promLog struct{ s *Server }

func (l promLog) Println(v ...any) {
	l.s.log.Error("metrics: "+strings.TrimSuffix(fmt.Sprintln(v...), "\n"), "route", metricsPath)
}
