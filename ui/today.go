package ui

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/field"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// The desk's groups of today's visits (docs/decisions.md, "The desk's
// today list"): expected (approved, not yet in), waiting (an application
// the host has not answered), inside, left (out, or closed after an
// entry), and the rest (refused, cancelled, no-show, closed unused).
const (
	groupExpected = "expected"
	groupWaiting  = "waiting"
	groupInside   = "inside"
	groupLeft     = "left"
	groupOther    = "other"
	groupBadges   = "badges" // a badge handed out and not yet back
)

var todayGroups = []string{groupExpected, groupWaiting, groupInside, groupLeft, groupOther, groupBadges}

// todayGroup is the desk's group of v.
func todayGroup(v visit.Visit) string {
	switch v.State {
	case visit.Approved:
		return groupExpected
	case visit.Requested:
		return groupWaiting
	case visit.In:
		return groupInside
	case visit.Out:
		return groupLeft
	case visit.Closed:
		if v.FirstIn != 0 {
			return groupLeft
		}
	}
	return groupOther
}

// badgeOut reports whether v's visitor holds a badge not yet given back.
func badgeOut(v visit.Visit) bool { return v.Badge != "" && v.BadgeBack == 0 }

// maxTodayQuery bounds the search text, as the records page does.
const maxTodayQuery = 64

// todayFilter reads the list's state and search from a query. An unknown
// state is the whole day; the old "badges=out" link is the badges group.
func todayFilter(q url.Values) (state, text string) {
	state = q.Get("state")
	if q.Get("badges") == "out" {
		state = groupBadges
	}
	known := false
	for _, g := range todayGroups {
		known = known || g == state
	}
	if !known {
		state = ""
	}
	text = strings.TrimSpace(q.Get("q"))
	if r := []rune(text); len(r) > maxTodayQuery {
		text = string(r[:maxTodayQuery])
	}
	return state, text
}

// todayQuery is the list's query string for state, text and offset.
func todayQuery(state, text string, offset int) url.Values {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if text != "" {
		q.Set("q", text)
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return q
}

// today is the desk's home: today's visits with what the desk can do to
// each, counted per group, filtered by group and searched by visitor,
// host or company; the page refreshes its list every few seconds.
func (s *Server) today(c echo.Context) error {
	now := s.app.Clock.Now()
	loc := s.app.Config.Location
	vs, err := s.app.Visits.Day(now, loc)
	if err != nil {
		return err
	}
	state, text := todayFilter(c.QueryParams())
	d := views.TodayData{Day: now.In(loc).Format("2006-01-02"), State: state, Query: text,
		Counts: map[string]int{}, HostOf: map[string]string{}}
	if d.FloorOf, err = s.floorNames(); err != nil {
		return err
	}
	if d.CompanyOf, err = s.companyNames(); err != nil {
		return err
	}
	for _, v := range vs {
		if _, ok := d.HostOf[v.HostID]; !ok {
			if p, err := s.app.Directory.Person(v.HostID); err == nil {
				d.HostOf[v.HostID] = s.personName(c, p)
			}
		}
	}
	// The counts follow the search, not the group: they say where the
	// visitors searched for are.
	needle := strings.ToLower(text)
	var shown []visit.Visit
	for _, v := range vs {
		if needle != "" && !todayMatches(v, needle, d.HostOf, d.CompanyOf) {
			continue
		}
		g := todayGroup(v)
		d.Total++
		d.Counts[g]++
		if badgeOut(v) {
			d.Counts[groupBadges]++
		}
		if state == "" || state == g || (state == groupBadges && badgeOut(v)) {
			shown = append(shown, v)
		}
	}
	offset := intParam(c, "offset")
	if offset >= len(shown) {
		offset = 0
	}
	d.Visits = shown[offset:min(len(shown), offset+pageSize)]
	base := todayQuery(state, text, 0)
	d.Pager = views.Pager{Offset: offset, Limit: pageSize, Total: len(shown), Base: base, Path: "/desk/today"}
	d.Back = todayQuery(state, text, offset).Encode()
	d.Self = "/desk/today"
	if d.Back != "" {
		d.Self += "?" + d.Back
	}
	d.Printer = s.app.Devices.Printer() != nil
	d.Notices = s.noticesFor(c)
	return s.render(c, http.StatusOK, views.Today(d))
}

// todayMatches reports whether the lower-cased needle is in v's visitor
// name, the visitor's own company, the host's name or the company visited.
func todayMatches(v visit.Visit, needle string, hostOf, companyOf map[string]string) bool {
	for _, h := range []string{v.Visitor.Name, v.Visitor.Company, hostOf[v.HostID], companyOf[v.CompanyID]} {
		if h != "" && strings.Contains(strings.ToLower(h), needle) {
			return true
		}
	}
	return false
}

// companyNames maps every company, active or not, to its name.
func (s *Server) companyNames() (map[string]string, error) {
	cs, err := s.app.Directory.Companies(true)
	m := map[string]string{}
	for _, co := range cs {
		m[co.ID] = co.Name
	}
	return m, err
}

// deskBack is where a desk action returns to: the visit's own page, or
// today's list as the form's hidden "back" had it (group, search, page).
func deskBack(c echo.Context) string {
	back := c.FormValue("back")
	switch back {
	case "visit":
		return "/desk/visits/" + url.PathEscape(c.Param("id"))
	case "badges": // the unreturned badges' list, as linked before
		return "/desk/today?state=" + groupBadges
	}
	q, err := url.ParseQuery(back)
	if err != nil {
		return "/desk/today"
	}
	state, text := todayFilter(q)
	offset := 0
	if n, ok := atoiDefault(q.Get("offset"), 0); ok && n > 0 {
		offset = n
	}
	if e := todayQuery(state, text, offset).Encode(); e != "" {
		return "/desk/today?" + e
	}
	return "/desk/today"
}

// deskDone ends a desk action: a visit that moved on meanwhile (another
// guard, the gate, the sweep) is a notice on the list, not an error page.
func (s *Server) deskDone(c echo.Context, err error, ok string) error {
	switch {
	case err == nil:
		s.flash(c, ok)
	case errors.Is(err, visit.ErrTransition):
		s.flash(c, "error.transition")
	default:
		return err
	}
	return s.redirect(c, deskBack(c))
}

// deskAdmit checks a visitor in at the desk: the entry a gate would record
// (visit.enter), by the guard, noted "desk".
func (s *Server) deskAdmit(c echo.Context) error {
	err := s.app.Visits.Move(c.Request().Context(), actor(c), c.Param("id"), visit.EvEnter, "desk")
	return s.deskDone(c, err, "flash.admitted")
}

// deskCheckOut records a visitor's leaving at the desk (visit.exit).
func (s *Server) deskCheckOut(c echo.Context) error {
	err := s.app.Visits.Move(c.Request().Context(), actor(c), c.Param("id"), visit.EvExit, "desk")
	return s.deskDone(c, err, "flash.checked_out")
}

// badgeIssue records the temporary badge handed to a visitor already
// registered (a walk-in registers it with the visit).
func (s *Server) badgeIssue(c echo.Context) error {
	err := s.app.Visits.IssueBadge(c.Request().Context(), actor(c), c.Param("id"), c.FormValue("badge"))
	if _, ok := field.As(err); ok {
		s.flash(c, "flash.badge_number")
		return s.redirect(c, deskBack(c))
	}
	return s.deskDone(c, err, "flash.badge_issued")
}

// badgeReturn records that the visitor gave the badge back.
func (s *Server) badgeReturn(c echo.Context) error {
	err := s.app.Visits.ReturnBadge(c.Request().Context(), actor(c), c.Param("id"))
	return s.deskDone(c, err, "flash.badge_back")
}

// resendPass texts the visitor their pass link again.
func (s *Server) resendPass(c echo.Context) error {
	err := s.app.ResendPass(c.Request().Context(), actor(c), c.Param("id"))
	if errors.Is(err, notify.ErrNoChannel) {
		s.flash(c, "flash.pass_no_sms")
		return s.redirect(c, deskBack(c))
	}
	return s.deskDone(c, err, "flash.pass_resent")
}

// deskVisit is one visit as the desk sees it: who, whom, when, its way
// through the states, and the same actions as its row on today's list.
func (s *Server) deskVisit(c echo.Context) error {
	v, err := s.app.Visits.Get(c.Param("id"))
	if err != nil {
		return err
	}
	d := views.DeskVisitData{Visit: v, Printer: s.app.Devices.Printer() != nil}
	if d.HostOf, d.CompanyOf, d.FloorOf, err = s.names(c, []visit.Visit{v}); err != nil {
		return err
	}
	// Who moved the visit: a guard's or host's account by name; a lane,
	// the system or a kiosk as recorded.
	d.ByName = map[string]string{}
	for _, t := range v.History {
		if id, ok := strings.CutPrefix(t.By, "account:"); ok {
			if a, err := s.app.Auth.Account(id); err == nil {
				d.ByName[t.By] = a.Name
			}
		}
	}
	if f, err := s.app.Access.FaceOf(v.ID); err == nil {
		d.Face, d.HasFace = f, true
	} else if !errors.Is(err, access.ErrNotFound) {
		return err
	}
	return s.render(c, http.StatusOK, views.DeskVisit(d))
}
