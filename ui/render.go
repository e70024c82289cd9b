package ui

import (
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"gatehouse/ui/views"
)

func (s *Server) pageFor(c echo.Context) *views.Page {
	p := &views.Page{
		Lang:     langOf(c),
		User:     userOf(c),
		Site:     s.app.Config.SiteName,
		Path:     c.Request().URL.RequestURI(),
		Location: s.app.Config.Location,
		Asset:    s.assets.URL,
	}
	p.CSRF, _ = c.Get("csrf").(string)
	if ck, err := c.Cookie(flashCookie); err == nil && strings.HasPrefix(ck.Value, "flash.") {
		p.Flash = ck.Value
		s.clearCookie(c, flashCookie)
	}
	return p
}

// render writes a page. Headers are all set before the status is written.
func (s *Server) render(c echo.Context, status int, comp templ.Component) error {
	ctx := views.WithPage(c.Request().Context(), s.pageFor(c))
	var buf strings.Builder
	if err := comp.Render(ctx, &buf); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	return c.String(status, buf.String())
}

func (s *Server) redirect(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}
