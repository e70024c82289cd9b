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
	"gatehouse/ui/i18n"
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
	sessions *sessionStore
	imports  *importJobs
	feed     *feed
	assets   *static.Assets
	secure   bool
	lang     i18n.Lang

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the server and starts its session sweeper; Close stops it.
func New(app *appliance.App, o Options) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := app.Config
	s := &Server{
		app:      app,
		e:        echo.New(),
		log:      app.Log,
		sessions: newSessionStore(time.Duration(cfg.SessionIdleMin)*time.Minute, time.Duration(cfg.SessionMaxHrs)*time.Hour),
		imports:  newImportJobs(),
		feed:     newFeed(),
		assets:   static.New(),
		secure:   o.SecureCookies,
		lang:     i18n.Lang(cfg.Language),
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
	s.e.Use(middleware.BodyLimit("21M"))
	s.e.Use(s.withLang)
	s.e.Use(middleware.CSRFWithConfig(middleware.CSRFConfig{
		Skipper:        func(c echo.Context) bool { return isAPI(c) },
		TokenLookup:    "form:_csrf,header:X-CSRF-Token",
		CookieName:     "gh_csrf",
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSecure:   o.SecureCookies,
		CookieSameSite: http.SameSiteStrictMode,
		ContextKey:     "csrf",
		ErrorHandler:   func(err error, c echo.Context) error { return errCSRF },
	}))
	s.e.Use(s.withSession)
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
			s.sessions.sweep(s.app.Clock.Now())
			s.imports.sweep(s.app.Clock.Now())
		}
	}
}
