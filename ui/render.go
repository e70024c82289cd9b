package ui

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/ui/views"
)

// cutOffAfter is how long without a leader before the pages say the lobby
// is cut off: an election after a leader's death takes under a second.
const cutOffAfter = 3 * time.Second

func (s *Server) pageFor(c echo.Context) *views.Page {
	set := s.app.Settings()
	p := &views.Page{
		Lang:     langOf(c),
		User:     userOf(c),
		Site:     set.SiteName,
		Path:     returnPath(c),
		Location: s.app.Config.Location,
		Asset:    s.assets.URL,
	}
	p.CSRF, _ = c.Get("csrf").(string)
	p.BaseURLMissing = set.BaseURL == ""
	// The administrator is the one who can restore a backup: every page
	// they open says so while the store is corrupt. It is read from memory,
	// so it shows even when the store cannot be read.
	if err := s.app.Store.Corrupt(); err != nil && p.User.Can(auth.Admin) {
		p.Corrupt = appliance.CorruptWhere(err)
	}
	// A lobby cut off from its site keeps reading and deciding at its
	// gates, and refuses changes: every signed-in page says since when.
	if n := s.app.Node; n != nil && p.User != nil {
		if since := n.CutOffSince(); !since.IsZero() && time.Since(since) > cutOffAfter {
			p.CutOff = since.In(s.app.Config.Location).Format("01-02 15:04:05")
		}
	}
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

// returnPath is where the language switch comes back to: the page itself
// for a GET, but for a page shown in answer to a POST (a form with errors)
// the page the form was on, since the POST's URL cannot be fetched.
func returnPath(c echo.Context) string {
	r := c.Request()
	if r.Method == http.MethodGet {
		return r.URL.RequestURI()
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path != "" {
		return localPath(ref.RequestURI())
	}
	return "/"
}
