// Package ui is the appliance's web server: pages for guards, receptionists,
// managers, administrators and hosts, and the JSON API. Every route is
// listed in routes.go with the roles allowed on it; handlers are methods on
// Server, one concern per file.
package ui

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/pass"
	"gatehouse/ui/static"
)

// Options configures the server.
type Options struct {
	// SecureCookies marks cookies Secure; set when serving TLS.
	SecureCookies bool
}

// Server is the HTTP side of one appliance.
type Server struct {
	app      *appliance.App
	e        *echo.Echo
	log      *slog.Logger
	sessions sessionStore
	imports  *importJobs
	feed     *feed
	assets   *static.Assets
	secure   bool
	limits   rateLimits
	uploads  map[string]int64       // "METHOD /path" of upload routes: their body limits
	roles    map[string][]auth.Role // "METHOD /path": who may use it (nil: anyone)
	large    chan struct{}          // slots for bodies over largeBody
	now      func() time.Time       // wall clock of rate limits: they count real traffic
	metricsH http.Handler           // the Prometheus exposition of app.Metrics

	fontsOnce sync.Once
	fonts     *pass.Fonts // the pass picture's, read on first use

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the server and starts its session sweeper; Close stops it.
func New(app *appliance.App, o Options) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		app:      app,
		e:        echo.New(),
		log:      app.Log,
		sessions: sessionStore{app.Sessions},
		imports:  newImportJobs(),
		feed:     newFeed(),
		assets:   static.New(),
		secure:   o.SecureCookies,
		limits:   newRateLimits(),
		uploads:  uploadLimits(),
		roles:    map[string][]auth.Role{},
		large:    make(chan struct{}, largeSlots),
		now:      time.Now,
		ctx:      ctx,
		cancel:   cancel,
	}
	s.e.HideBanner, s.e.HidePort = true, true
	s.e.HTTPErrorHandler = s.handleError
	s.e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.log.Error("panic in handler", "path", c.Path(), "err", err, "stack", string(stack))
			return err
		}}))
	s.e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy:        "same-origin",
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'",
	}))
	// The client's address is the connection's: X-Forwarded-For and
	// X-Real-IP are a client's to write, and limits count by address.
	s.e.IPExtractor = echo.ExtractIPDirect()
	s.e.Use(withClient)
	s.e.Use(s.withLang)
	s.e.Use(s.withSession) // reads only the cookie: nothing of the body
	s.e.Use(s.limitBody)
	s.e.Use(s.rateLimit)
	s.e.Use(s.csrf)
	s.metricsH = s.metricsHandler()
	app.Access.OnEvent(s.feed.publish)
	app.Access.OnAlarm(s.feed.publishAlarm)
	s.routes()
	s.wg.Add(1)
	go s.sweep()
	return s
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.e }

// Close stops background work and waits for running imports to finish.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Server) sweep() {
	defer s.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			if err := s.sessions.sweep(s.app.Clock.Now()); err != nil {
				s.log.Error("sessions: sweep failed", "err", err)
			}
			s.imports.sweep(s.app.Clock.Now())
		}
	}
}
