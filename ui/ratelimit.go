package ui

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/throttle"
)

// Rate limits on the routes anyone can reach, per client address (an IPv6
// client by its /64, which one household or phone gets whole). The numbers
// leave room for a lobby's guest Wi-Fi, where many visitors share one
// address, and none for a script: see docs/decisions.md. The client
// address is the connection's, never a header a client can write.
type rateLimits struct {
	book   *throttle.Limiter // POST /book and its phone check
	login  *throttle.Limiter // POST /login: bounds argon2 work per client
	signup *throttle.Limiter // POST /signup and /signup/verify: codes sent, codes tried, argon2 work
	search *throttle.Limiter // the booking page's host search
	kiosk  *throttle.Limiter // the kiosk's registration
	// The pass picture is drawn for each request (~50 ms of a core): a
	// visitor saves it once or twice, a script holding a link must not
	// keep the appliance's two cores busy.
	picture *throttle.Limiter
	public  *throttle.Limiter // every other public page, asset and picture
}

func newRateLimits() rateLimits {
	const keys = 10000
	return rateLimits{
		book:    throttle.New(30*time.Second, 10, keys),
		login:   throttle.New(3*time.Second, 20, keys),
		signup:  throttle.New(30*time.Second, 10, keys),
		search:  throttle.New(time.Second, 20, keys),
		kiosk:   throttle.New(10*time.Second, 20, keys),
		picture: throttle.New(time.Second, 10, keys),
		public:  throttle.New(20*time.Millisecond, 300, keys),
	}
}

var errTooMany = errors.New("ui: too many requests")

// rateClass is the limiter of a route, nil for signed-in routes.
func (s *Server) rateClass(method, path string) *throttle.Limiter {
	switch {
	case method == http.MethodPost && (path == "/book" || path == "/book/verify" || path == "/book/resend"):
		return s.limits.book
	case method == http.MethodPost && path == "/login":
		return s.limits.login
	case method == http.MethodPost && (path == "/signup" || path == "/signup/verify"):
		return s.limits.signup
	case path == "/book/hosts" || path == "/kiosk/hosts":
		return s.limits.search
	case method == http.MethodPost && path == "/kiosk/register":
		return s.limits.kiosk
	case path == "/v/:token/pass.png":
		return s.limits.picture
	case path == metricsPath:
		// Anyone can reach it to try a token; a scraper asks every 15 s or so.
		return s.limits.public
	}
	if roles, ok := s.roles[method+" "+path]; ok && roles != nil && !isKioskRoute(roles) {
		return nil
	}
	return s.limits.public // public routes, kiosk pages, and paths no route matches
}

func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		l := s.rateClass(c.Request().Method, c.Path())
		if l == nil {
			return next(c)
		}
		ok, wait := l.Take(clientKey(c.Request()), s.now())
		if !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			return errTooMany
		}
		return next(c)
	}
}

// withClient puts the client's address in the request's context, where the
// lockout (auth.WithClient) finds it.
func withClient(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(auth.WithClient(r.Context(), clientKey(r))))
		return next(c)
	}
}

// clientKey is the client's address as rate limits and lockouts count it.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}
