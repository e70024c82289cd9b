package ui

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/appliance/field"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// feed fans the gate's decisions out to the guard stations' live streams.
// A station that cannot keep up loses rows rather than slowing the gates.
type feed struct {
	mu   sync.Mutex
	subs map[chan feedItem]struct{}
}

type feedItem struct {
	out   access.Outcome
	ev    access.Event
	alarm *access.AlarmRecord // set for alarms raised outside a decision
}

func newFeed() *feed { return &feed{subs: map[chan feedItem]struct{}{}} }

func (f *feed) publish(o access.Outcome, e access.Event) { f.send(feedItem{out: o, ev: e}) }

// publishAlarm carries an alarm raised by a door, a sweep or the key room.
func (f *feed) publishAlarm(a access.AlarmRecord) { f.send(feedItem{alarm: &a}) }

func (f *feed) send(it feedItem) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- it:
		default:
		}
	}
}

func (f *feed) subscribe() (chan feedItem, func()) {
	ch := make(chan feedItem, 64)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
	}
}

// who describes a holder for the guard: name, kind, company, floor, photo.
type who struct {
	name, kind, company, floor, photo string
	visit                             *visit.Visit // the visit of a visitor
}

func (s *Server) holderInfo(c echo.Context, holder, credID string) who {
	l := langOf(c)
	var w who
	switch {
	case strings.HasPrefix(holder, "visit:"):
		v, err := s.app.Visits.Get(strings.TrimPrefix(holder, "visit:"))
		if err != nil {
			return w
		}
		w = who{name: v.Visitor.Name, kind: l.T("guard.visitor"), visit: &v}
		if co, err := s.app.Directory.Company(v.CompanyID); err == nil {
			w.company = co.Name
		}
		if f, err := s.app.Directory.Floor(v.FloorID); err == nil {
			w.floor = f.Name
		}
		if v.Photo {
			w.photo = "/desk/visits/" + v.ID + "/photo"
		}
	case holder != "" && !strings.HasPrefix(holder, "cred:"):
		if p, err := s.app.Directory.Person(holder); err == nil {
			w = who{name: s.personName(c, p), kind: l.T("kind." + string(p.Kind))}
			if co, err := s.app.Directory.Company(p.CompanyID); err == nil {
				w.company = co.Name
			}
			if f, err := s.app.Directory.Floor(p.FloorID); err == nil {
				w.floor = f.Name
			}
		}
	}
	if w.name == "" && credID != "" {
		if cr, err := s.app.Access.Credential(credID); err == nil {
			w = who{name: cr.HolderName, kind: l.T("holder." + string(cr.HolderKind)), company: cr.Company}
		}
	}
	return w
}

func (s *Server) laneNames() (map[string]string, []access.Lane, error) {
	ls, err := s.app.Access.Lanes()
	m := map[string]string{}
	for _, l := range ls {
		m[l.ID] = l.Name
	}
	return m, ls, err
}

func (s *Server) guardRow(c echo.Context, e access.Event, lanes map[string]string, name, lobby string) views.GuardRow {
	r := views.GuardRow{Time: e.Time.UnixNano(), Lane: lanes[e.Lane], In: e.Entry, Grant: e.Grant, Reason: string(e.Reason), Lobby: lobby}
	r.At, r.AtFull = s.feedTime(e.Time)
	if e.Kind == 'm' {
		r.Name, r.Who = name, langOf(c).T("guard.manual")
		return r
	}
	w := s.holderInfo(c, e.Holder, e.CredID)
	r.Name, r.Who, r.Photo = w.name, w.kind, w.photo
	if r.Name == "" {
		r.Name = "—"
	}
	if admittable(e, w.visit) {
		r.LaneID, r.VisitID = e.Lane, w.visit.ID
	}
	return r
}

// feedTime is a row's time: hh:mm:ss for today's, with the date for
// older ones; and the full date and time for the hover.
func (s *Server) feedTime(t time.Time) (short, full string) {
	loc := s.app.Config.Location
	t = t.In(loc)
	full = t.Format("2006-01-02 15:04:05")
	y1, m1, d1 := t.Date()
	y2, m2, d2 := s.app.Clock.Now().In(loc).Date()
	switch {
	case y1 == y2 && m1 == m2 && d1 == d2:
		return t.Format("15:04:05"), full
	case y1 == y2:
		return t.Format("01-02 15:04:05"), full
	}
	return full, full
}

// admittable says whether a row offers to let its visitor in: a visitor
// refused on entry whose visit may enter now (approved, or out again),
// unless screening refused them — a blacklisted or rejected visitor is
// for the alarm, not one click.
func admittable(e access.Event, v *visit.Visit) bool {
	if v == nil || e.Grant || !e.Entry || e.Reason == access.Blacklisted || e.Reason == access.VisitRejected {
		return false
	}
	_, err := visit.Next(v.State, visit.EvEnter)
	return err == nil
}

func (s *Server) guardData(c echo.Context) (views.GuardData, error) {
	var d views.GuardData
	lanes, ls, err := s.laneNames()
	if err != nil {
		return d, err
	}
	d.Lanes = ls
	_, floorNames, err := s.floorOpts()
	if err != nil {
		return d, err
	}
	d.Lifts = s.lifts(ls, floorNames)
	if live, ok := s.app.Devices.Live().(device.ElevatorReader); ok {
		d.Fire = live.Fire()
	}
	alarms, err := s.app.Access.Alarms(true, 50)
	if err != nil {
		return d, err
	}
	for _, a := range alarms {
		d.Alarms = append(d.Alarms, views.GuardAlarm{Alarm: a, Lane: lanes[a.Lane]})
	}
	evs, err := s.app.Access.Recent(50)
	if err != nil {
		return d, err
	}
	// In a site of several lobbies the feed is the whole site's, each row
	// naming its lobby.
	lobbies, err := s.app.Access.Lobbies()
	if err != nil {
		return d, err
	}
	for _, e := range evs {
		lobby := s.app.Access.Lobby() // this lobby's own, not shipped yet
		if int(e.Lobby) < len(lobbies) {
			lobby = lobbies[e.Lobby]
		}
		d.Rows = append(d.Rows, s.guardRow(c, e, lanes, "", lobby))
	}
	inside, err := s.app.Access.Inside("")
	if err != nil {
		return d, err
	}
	zones, err := s.app.Access.Zones()
	if err != nil {
		return d, err
	}
	perZone := map[string]int{}
	people := map[string]bool{}
	perFloor, perCompany := map[string]int{}, map[string]int{}
	for _, p := range inside {
		perZone[p.ZoneID]++
		if people[p.Holder] {
			continue
		}
		people[p.Holder] = true
		w := s.holderInfo(c, p.Holder, strings.TrimPrefix(p.Holder, "cred:"))
		if w.floor != "" {
			perFloor[w.floor]++
		}
		if w.company != "" {
			perCompany[w.company]++
		}
	}
	d.Inside = len(people)
	for _, z := range zones {
		d.PerZone = append(d.PerZone, views.ZoneCount{Name: z.Name, Count: perZone[z.ID]})
	}
	d.PerFloor, d.PerCompany = counts(perFloor), counts(perCompany)
	return d, nil
}

func (s *Server) guard(c echo.Context) error {
	d, err := s.guardData(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Guard(d))
}

// isHTMX says the request comes from htmx, which swaps a part of the page
// with the answer instead of loading another.
func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

func (s *Server) guardOpen(c echo.Context) error {
	start := time.Now()
	err := s.app.Access.ManualOpen(c.Request().Context(), actor(c), c.FormValue("lane_id"), c.FormValue("reason"))
	s.log.Info("manual open", "by", actor(c), "ok", err == nil, "err", err, "took", time.Since(start).Round(time.Millisecond))
	var d views.GuardData
	status, err := openAnswer(&d, err)
	if err != nil {
		return err
	}
	if isHTMX(c) {
		// The card alone, with its answer; 200, so htmx swaps it in.
		if _, d.Lanes, err = s.laneNames(); err != nil {
			return err
		}
		d.OpenOK = status == http.StatusOK
		return s.render(c, http.StatusOK, views.GuardOpenCard(d))
	}
	if status == http.StatusOK {
		s.flash(c, "flash.lane_opened")
		return s.redirect(c, "/guard")
	}
	full, err := s.guardData(c)
	if err != nil {
		return err
	}
	full.OpenMsg, full.OpenErrs = d.OpenMsg, d.OpenErrs
	return s.render(c, status, views.Guard(full))
}

// openAnswer puts what a manual open or an admission answered into d: the
// status and the message; other errors are returned.
func openAnswer(d *views.GuardData, err error) (int, error) {
	switch {
	case err == nil:
		return http.StatusOK, nil
	case errors.Is(err, access.ErrNoRelay):
		d.OpenMsg = "guard.no_relay" // recorded as not opened: nothing to pulse
		return http.StatusConflict, nil
	case errors.Is(err, access.ErrNotOpened):
		d.OpenMsg = "guard.pulse_failed"
		return http.StatusConflict, nil
	case errors.Is(err, access.ErrNotFound):
		d.OpenErrs = field.Errors{{Field: "lane_id", Code: "required"}}
		return http.StatusUnprocessableEntity, nil
	case errors.Is(err, visit.ErrNotFound), errors.Is(err, visit.ErrTransition):
		d.OpenMsg = "guard.admit_state"
		return http.StatusConflict, nil
	}
	es, ok := field.As(err)
	if !ok {
		return 0, err
	}
	d.OpenErrs = es
	return http.StatusUnprocessableEntity, nil
}

// guardAdmit lets in the visitor of a refused row (access.AdmitVisit):
// the lane opens and the visit goes in, by this guard. An htmx request
// gets the row's new action cell; a plain form, the station again.
func (s *Server) guardAdmit(c echo.Context) error {
	start := time.Now()
	err := s.app.Access.AdmitVisit(c.Request().Context(), actor(c), c.FormValue("lane_id"), c.FormValue("visit_id"), c.FormValue("reason"))
	s.log.Info("visitor let in by the guard", "by", actor(c), "ok", err == nil, "err", err, "took", time.Since(start).Round(time.Millisecond))
	var d views.GuardData
	status, err := openAnswer(&d, err)
	if err != nil {
		return err
	}
	msg := d.OpenMsg
	if msg == "" && len(d.OpenErrs) > 0 {
		msg = "guard.admit_state" // a form not sent by the row
	}
	var acked []string
	if status == http.StatusOK {
		// The refusals' alarms are dealt with: the visitor is in.
		if acked, err = s.app.Access.AckVisitAlarms(c.Request().Context(), actor(c), c.FormValue("visit_id")); err != nil {
			s.log.Error("acknowledge a visitor's alarms", "err", err)
		}
	}
	if isHTMX(c) {
		if status == http.StatusOK {
			return s.render(c, http.StatusOK, views.GuardAdmitted("guard.admitted", true, acked))
		}
		return s.render(c, http.StatusOK, views.GuardAdmitted(msg, false, nil))
	}
	if status == http.StatusOK {
		s.flash(c, "flash.visitor_admitted")
		return s.redirect(c, "/guard")
	}
	full, err := s.guardData(c)
	if err != nil {
		return err
	}
	full.Notice = msg
	return s.render(c, status, views.Guard(full))
}

func (s *Server) guardAck(c echo.Context) error {
	err := s.app.Access.Acknowledge(c.Request().Context(), actor(c), c.Param("id"), c.FormValue("note"))
	if _, ok := field.As(err); ok {
		s.flash(c, "flash.ack_needs_note")
		return s.redirect(c, "/guard")
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.acknowledged")
	return s.redirect(c, "/guard")
}

// guardStream is the live gate feed as server-sent events: "gate" events
// carry a table row, "alarm" events an alarm card, both rendered in the
// guard's language.
func (s *Server) guardStream(c echo.Context) error {
	ch, cancel := s.feed.subscribe()
	defer cancel()
	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	// A stream outlives the server's write timeout.
	_ = http.NewResponseController(w.Writer).SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	w.Flush()
	lanes, _, err := s.laneNames()
	if err != nil {
		return nil
	}
	ping := time.NewTicker(25 * time.Second)
	defer ping.Stop()
	ctx := c.Request().Context()
	send := func(event, html string) error {
		var b strings.Builder
		fmt.Fprintf(&b, "event: %s\n", event)
		for _, line := range strings.Split(html, "\n") {
			fmt.Fprintf(&b, "data: %s\n", line)
		}
		b.WriteString("\n")
		if _, err := w.Write([]byte(b.String())); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	pctx := views.WithPage(ctx, s.pageFor(c))
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.ctx.Done():
			return nil
		case <-ping.C:
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return nil
			}
			w.Flush()
		case it := <-ch:
			if a := it.alarm; a != nil {
				if _, ok := lanes[a.Lane]; !ok && a.Lane != "" {
					lanes, _, _ = s.laneNames()
				}
				var b strings.Builder
				if err := views.GuardAlarmRow(views.GuardAlarm{Alarm: *a, Lane: lanes[a.Lane]}).Render(pctx, &b); err != nil {
					return nil
				}
				if send("alarm", b.String()) != nil {
					return nil
				}
				continue
			}
			if _, ok := lanes[it.ev.Lane]; !ok {
				lanes, _, _ = s.laneNames()
			}
			var b strings.Builder
			if err := views.GuardEventRow(s.guardRow(c, it.ev, lanes, it.out.Name, it.out.Lobby)).Render(pctx, &b); err != nil {
				return nil
			}
			if send("gate", b.String()) != nil {
				return nil
			}
			if it.ev.Alarm != access.NoAlarm {
				b.Reset()
				a := access.AlarmOf(it.ev, it.out.Name)
				if err := views.GuardAlarmRow(views.GuardAlarm{Alarm: a, Lane: lanes[a.Lane]}).Render(pctx, &b); err != nil {
					return nil
				}
				if send("alarm", b.String()) != nil {
					return nil
				}
			}
		}
	}
}

// muster is the evacuation list: everyone inside, by zone, printable.
func (s *Server) muster(c echo.Context) error {
	inside, err := s.app.Access.Inside("")
	if err != nil {
		return err
	}
	zones, err := s.app.Access.Zones()
	if err != nil {
		return err
	}
	zoneName := map[string]string{}
	for _, z := range zones {
		zoneName[z.ID] = z.Name
	}
	loc := s.app.Config.Location
	groups := map[string]*views.MusterGroup{}
	var order []string
	for _, p := range inside {
		g := groups[p.ZoneID]
		if g == nil {
			g = &views.MusterGroup{Zone: zoneName[p.ZoneID]}
			groups[p.ZoneID] = g
			order = append(order, p.ZoneID)
		}
		w := s.holderInfo(c, p.Holder, strings.TrimPrefix(p.Holder, "cred:"))
		g.People = append(g.People, views.MusterPerson{Name: w.name, Who: w.kind, Company: w.company, Floor: w.floor,
			Since: p.Since.In(loc).Format("01-02 15:04")})
	}
	d := views.MusterData{At: s.app.Clock.Now().In(loc).Format("2006-01-02 15:04"), Total: len(inside)}
	for _, z := range order {
		g := groups[z]
		sort.Slice(g.People, func(i, j int) bool { return g.People[i].Name < g.People[j].Name })
		d.Groups = append(d.Groups, *g)
	}
	return s.render(c, http.StatusOK, views.Muster(d))
}

// counts turns a tally into rows, largest first.
func counts(m map[string]int) []views.ZoneCount {
	out := make([]views.ZoneCount, 0, len(m))
	for k, n := range m {
		out = append(out, views.ZoneCount{Name: k, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}
