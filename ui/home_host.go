package ui

import (
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// hostHomeData is the host's start page: requests waiting for them first,
// then today's visitors, then the coming ones (ended and answered-no
// visits are on /host/visits).
func (s *Server) hostHomeData(c echo.Context) (views.HostHomeData, error) {
	a := accountOf(c)
	d := views.HostHomeData{Linked: a.PersonID != "", Notices: s.noticesFor(c)}
	if !d.Linked {
		return d, nil
	}
	vs, err := s.app.Visits.ForHost(a.PersonID, 200)
	if err != nil {
		return d, err
	}
	loc := s.app.Config.Location
	now := s.app.Clock.Now().In(loc)
	y, m, day := now.Date()
	tomorrow := time.Date(y, m, day+1, 0, 0, 0, 0, loc).UnixNano()
	today := time.Date(y, m, day, 0, 0, 0, 0, loc).UnixNano()
	for _, v := range vs {
		switch {
		case v.State == visit.Requested:
			if v.Until > now.UnixNano() {
				d.Pending = append(d.Pending, v)
			}
		case v.State.Final() && v.State != visit.Closed:
		case v.From < tomorrow && v.Until >= today:
			d.Today = append(d.Today, v)
		case v.From >= tomorrow && v.State == visit.Approved:
			d.Upcoming = append(d.Upcoming, v)
		}
	}
	if id := c.QueryParam("approved"); id != "" {
		d.Next = s.nextStep(c, id)
	}
	return d, nil
}

func (s *Server) hostHome(c echo.Context) error {
	d, err := s.hostHomeData(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.HostHome(d))
}

// nextStep says, in the host's language, what happens after they approved
// visit id: how the visitor gets their pass. Only the host's own visits.
func (s *Server) nextStep(c echo.Context, id string) string {
	v, err := s.app.Visits.Get(id)
	if err != nil || v.HostID != accountOf(c).PersonID || !v.State.PassValid() {
		return ""
	}
	name := v.Visitor.Name
	if v.Visitor.MobileMasked != "" && v.Visitor.Purged == 0 && s.app.Notify.SMSEnabled() {
		return langOf(c).T("hosthome.next_sms", name)
	}
	return langOf(c).T("hosthome.next_page", name)
}

// hostRequest is one request, where the host's notifications link: it
// asks them to sign in first (the router's redirect to /login?next=).
func (s *Server) hostRequest(c echo.Context) error {
	a := accountOf(c)
	v, err := s.app.Visits.Get(c.Param("id"))
	if err != nil {
		return err
	}
	if a.PersonID == "" || v.HostID != a.PersonID {
		return errForbidden
	}
	d := views.HostRequestData{Visit: v}
	if c.QueryParam("approved") == v.ID {
		d.Next = s.nextStep(c, v.ID)
	}
	return s.render(c, http.StatusOK, views.HostRequest(d))
}

// rejectReason is the reason a host picked (or typed), in the visitor's
// language: the visitor reads it.
func (s *Server) rejectReason(c echo.Context, v visit.Visit) string {
	key := c.FormValue("reason_key")
	for _, r := range views.RejectReasons {
		if key == r {
			l, ok := i18n.Parse(v.Lang)
			if !ok {
				l = i18n.Lang(s.app.Settings().Language)
			}
			return l.T("decline." + r)
		}
	}
	return c.FormValue("reason")
}

// decidedPath is where an answer returns: the page it came from (a local
// path only), with the approval named so that the page says what happens
// next.
func decidedPath(back, id string, approved bool) string {
	if !approved {
		return back
	}
	u, _ := url.Parse(back) // localPath checked it
	q := u.Query()
	q.Set("approved", id)
	u.RawQuery = q.Encode()
	return u.String()
}
