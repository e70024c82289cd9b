package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// The access pages: zones, lanes, access groups, time profiles and
// holidays (administrators and managers), and credentials (reception may
// look them up, suspend them and report them lost). Every change goes
// through the access service's commands, so the audit trail records it.

const (
	credPageSize = 50
	enrolWait    = 25 * time.Second // the "present card" long poll
	credEvents   = 20
)

func canManage(c echo.Context) bool { return userOf(c).Can("admin", "manager") }

// find returns the element of xs with id, or access.ErrNotFound.
func find[T any](xs []T, id string, idOf func(T) string) (T, error) {
	for _, x := range xs {
		if idOf(x) == id {
			return x, nil
		}
	}
	var zero T
	return zero, access.ErrNotFound
}

func byName[T any](xs []T, name func(T) string) {
	slices.SortFunc(xs, func(a, b T) int { return strings.Compare(strings.ToLower(name(a)), strings.ToLower(name(b))) })
}

// ---- zones

func (s *Server) zonesPage(c echo.Context, status int, edit access.Zone, errs field.Errors) error {
	zs, err := s.app.Access.Zones()
	if err != nil {
		return err
	}
	byName(zs, func(z access.Zone) string { return z.Name })
	return s.render(c, status, views.Zones(views.ZonesData{AccessEditData: views.AccessEditData{CanEdit: canManage(c), Errs: errs}, Zones: zs, Edit: edit}))
}

func (s *Server) accessZones(c echo.Context) error {
	var edit access.Zone
	if id := c.QueryParam("edit"); id != "" {
		zs, err := s.app.Access.Zones()
		if err != nil {
			return err
		}
		if edit, err = find(zs, id, func(z access.Zone) string { return z.ID }); err != nil {
			return err
		}
	}
	return s.zonesPage(c, http.StatusOK, edit, nil)
}

func (s *Server) accessZoneSave(c echo.Context) error {
	z := access.Zone{ID: c.FormValue("id"), Name: c.FormValue("name"), Passback: access.Passback(c.FormValue("passback"))}
	if z.Passback == "off" {
		z.Passback = access.PassbackOff
	}
	if z.ID != "" {
		zs, err := s.app.Access.Zones()
		if err != nil {
			return err
		}
		if _, err := find(zs, z.ID, func(z access.Zone) string { return z.ID }); err != nil {
			return err
		}
	}
	saved, err := s.app.Access.SaveZone(c.Request().Context(), actor(c), z)
	if es, ok := field.As(err); ok {
		return s.zonesPage(c, http.StatusUnprocessableEntity, z, es)
	}
	if err != nil {
		return err
	}
	s.log.Info("zone saved", "zone", saved.ID, "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/access/zones")
}

// ---- groups

// places are the names the pages put doors, zones and floors in words with.
type places struct {
	lanes  []access.Lane
	zones  map[string]string
	floors map[string]string
}

func (s *Server) places() (places, error) {
	var p places
	var err error
	if p.lanes, err = s.app.Access.Lanes(); err != nil {
		return p, err
	}
	byName(p.lanes, func(l access.Lane) string { return l.Name })
	zs, err := s.app.Access.Zones()
	if err != nil {
		return p, err
	}
	p.zones = map[string]string{}
	for _, z := range zs {
		p.zones[z.ID] = z.Name
	}
	_, p.floors, err = s.floorOpts()
	return p, err
}

// doors says what groups open: "Gate A, Gate B (zone Lobby), 3F door (floor 3F)".
func (p places) doors(l i18n.Lang, gs ...access.Group) string {
	var parts []string
	add := func(s string) {
		if s != "" && !slices.Contains(parts, s) {
			parts = append(parts, s)
		}
	}
	lanesWhere := func(keep func(access.Lane) bool) string {
		var ns []string
		for _, ln := range p.lanes {
			if keep(ln) {
				ns = append(ns, ln.Name)
			}
		}
		return strings.Join(ns, ", ")
	}
	for _, g := range gs {
		for _, z := range g.ZoneIDs {
			add(strings.TrimSpace(l.T("access.in_zone", lanesWhere(func(ln access.Lane) bool { return ln.ZoneID == z }), p.zones[z])))
		}
		for _, f := range g.FloorIDs {
			add(strings.TrimSpace(l.T("access.on_floor", lanesWhere(func(ln access.Lane) bool { return ln.FloorID == f }), p.floors[f])))
		}
		for _, id := range g.LaneIDs {
			add(lanesWhere(func(ln access.Lane) bool { return ln.ID == id }))
		}
	}
	if len(parts) == 0 {
		return l.T("access.no_doors")
	}
	return strings.Join(parts, ", ")
}

func (s *Server) groupsPage(c echo.Context, status int, edit access.Group, errs field.Errors) error {
	gs, err := s.app.Access.Groups()
	if err != nil {
		return err
	}
	byName(gs, func(g access.Group) string { return g.Name })
	p, err := s.places()
	if err != nil {
		return err
	}
	l := langOf(c)
	d := views.GroupsData{AccessEditData: views.AccessEditData{CanEdit: canManage(c), Errs: errs}, Edit: edit}
	for _, g := range gs {
		d.Groups = append(d.Groups, views.GroupRow{Group: g, Opens: p.doors(l, g)})
	}
	for _, ln := range p.lanes {
		d.Lanes = append(d.Lanes, views.Option{Value: ln.ID, Label: ln.Name})
	}
	d.Zones, d.Floors = sortedOpts(p.zones), sortedOpts(p.floors)
	return s.render(c, status, views.Groups(d))
}

func sortedOpts(m map[string]string) []views.Option {
	out := make([]views.Option, 0, len(m))
	for id, n := range m {
		out = append(out, views.Option{Value: id, Label: n})
	}
	byName(out, func(o views.Option) string { return o.Label + "\x00" + o.Value })
	return out
}

func (s *Server) accessGroups(c echo.Context) error {
	var edit access.Group
	if id := c.QueryParam("edit"); id != "" {
		gs, err := s.app.Access.Groups()
		if err != nil {
			return err
		}
		if edit, err = find(gs, id, func(g access.Group) string { return g.ID }); err != nil {
			return err
		}
	}
	return s.groupsPage(c, http.StatusOK, edit, nil)
}

// known keeps the values that are keys of m, once each: a form cannot grant
// a door that does not exist.
func known[V any](vals []string, m map[string]V) []string {
	var out []string
	for _, v := range vals {
		if _, ok := m[v]; ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func (s *Server) accessGroupSave(c echo.Context) error {
	form, err := c.FormParams()
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	p, err := s.places()
	if err != nil {
		return err
	}
	laneIDs := map[string]bool{}
	for _, l := range p.lanes {
		laneIDs[l.ID] = true
	}
	g := access.Group{ID: form.Get("id"), Name: form.Get("name"), LaneIDs: known(form["lane_ids"], laneIDs),
		ZoneIDs: known(form["zone_ids"], p.zones), FloorIDs: known(form["floor_ids"], p.floors)}
	if g.ID != "" {
		gs, err := s.app.Access.Groups()
		if err != nil {
			return err
		}
		if _, err := find(gs, g.ID, func(g access.Group) string { return g.ID }); err != nil {
			return err
		}
	}
	saved, err := s.app.Access.SaveGroup(c.Request().Context(), actor(c), g)
	if es, ok := field.As(err); ok {
		return s.groupsPage(c, http.StatusUnprocessableEntity, g, es)
	}
	if err != nil {
		return err
	}
	s.log.Info("access group saved", "group", saved.ID, "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/access/groups")
}

// ---- time profiles

// weekOrder is Monday first, as a week is read here.
var weekOrder = [7]int{1, 2, 3, 4, 5, 6, 0}

func hhmm(m int) string {
	return strconv.Itoa(m/60/10) + strconv.Itoa(m/60%10) + ":" + strconv.Itoa(m%60/10) + strconv.Itoa(m%10)
}

func parseHHMM(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(m) != 2 || len(h) < 1 || len(h) > 2 {
		return 0, false
	}
	hn, err1 := strconv.Atoi(h)
	mn, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hn < 0 || hn > 24 || mn < 0 || mn > 59 || (hn == 24 && mn != 0) {
		return 0, false
	}
	return hn*60 + mn, true
}

// parseRanges reads "08:00-18:00, 19:00-22:00"; "22:00-06:00" crosses
// midnight. An empty text is a closed day.
func parseRanges(s string) ([]access.Range, bool) {
	s = strings.NewReplacer("，", ",", ";", ",", "–", "-", "—", "-", "~", "-").Replace(s)
	var out []access.Range
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		a, b, ok := strings.Cut(part, "-")
		if !ok {
			return nil, false
		}
		from, ok1 := parseHHMM(a)
		to, ok2 := parseHHMM(b)
		if !ok1 || !ok2 || from == to || from >= 1440 {
			return nil, false
		}
		out = append(out, access.Range{From: from, To: to})
	}
	return out, true
}

func formatRanges(rs []access.Range, dash string) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, hhmm(r.From)+dash+hhmm(r.To))
	}
	return strings.Join(parts, ", ")
}

// scheduleWords is a profile in words: "Mon–Fri 08:00–18:00, not on holidays".
func scheduleWords(l i18n.Lang, p access.Profile) string {
	var runs []string
	for i := 0; i < 7; {
		text := formatRanges(p.Week[weekOrder[i]], "–")
		j := i
		for j+1 < 7 && formatRanges(p.Week[weekOrder[j+1]], "–") == text {
			j++
		}
		if text != "" {
			days := l.T("access.day." + strconv.Itoa(weekOrder[i]))
			if j > i {
				days += "–" + l.T("access.day."+strconv.Itoa(weekOrder[j]))
			}
			runs = append(runs, days+" "+text)
		}
		i = j + 1
	}
	if len(runs) == 0 {
		return l.T("access.never")
	}
	hol := l.T("access.not_on_holidays")
	if p.Holidays {
		hol = l.T("access.also_on_holidays")
	}
	return strings.Join(runs, ", ") + ", " + hol
}

func profileDays(l i18n.Lang, p access.Profile, typed map[string]string) []views.ProfileDay {
	var out []views.ProfileDay
	for _, wd := range weekOrder {
		name := "day" + strconv.Itoa(wd)
		v, ok := typed[name]
		if !ok {
			v = formatRanges(p.Week[wd], "-")
		}
		out = append(out, views.ProfileDay{Field: name, Label: l.T("access.weekday." + strconv.Itoa(wd)), Value: v})
	}
	return out
}

func (s *Server) profilesPage(c echo.Context, status int, edit access.Profile, typed map[string]string, errs field.Errors) error {
	ps, err := s.app.Access.Profiles()
	if err != nil {
		return err
	}
	byName(ps, func(p access.Profile) string { return p.Name })
	l := langOf(c)
	d := views.ProfilesData{AccessEditData: views.AccessEditData{CanEdit: canManage(c), Errs: errs}, Edit: edit, Days: profileDays(l, edit, typed)}
	for _, p := range ps {
		d.Profiles = append(d.Profiles, views.ProfileRow{Profile: p, Summary: scheduleWords(l, p)})
	}
	return s.render(c, status, views.Profiles(d))
}

func (s *Server) accessProfiles(c echo.Context) error {
	var edit access.Profile
	if id := c.QueryParam("edit"); id != "" {
		ps, err := s.app.Access.Profiles()
		if err != nil {
			return err
		}
		if edit, err = find(ps, id, func(p access.Profile) string { return p.ID }); err != nil {
			return err
		}
	}
	return s.profilesPage(c, http.StatusOK, edit, nil, nil)
}

func (s *Server) accessProfileSave(c echo.Context) error {
	p := access.Profile{ID: c.FormValue("id"), Name: c.FormValue("name"), Holidays: c.FormValue("holidays") == "1"}
	typed := map[string]string{}
	var es field.Errors
	for wd := 0; wd < 7; wd++ {
		name := "day" + strconv.Itoa(wd)
		typed[name] = c.FormValue(name)
		rs, ok := parseRanges(typed[name])
		if !ok {
			es.Add(name, "invalid_range")
			continue
		}
		p.Week[wd] = rs
	}
	if p.ID != "" {
		ps, err := s.app.Access.Profiles()
		if err != nil {
			return err
		}
		if _, err := find(ps, p.ID, func(p access.Profile) string { return p.ID }); err != nil {
			return err
		}
	}
	if len(es) > 0 {
		return s.profilesPage(c, http.StatusUnprocessableEntity, p, typed, es)
	}
	saved, err := s.app.Access.SaveProfile(c.Request().Context(), actor(c), p)
	if fe, ok := field.As(err); ok {
		return s.profilesPage(c, http.StatusUnprocessableEntity, p, typed, fe)
	}
	if err != nil {
		return err
	}
	s.log.Info("time profile saved", "profile", saved.ID, "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/access/profiles")
}

// ---- holidays

func (s *Server) holidaysPage(c echo.Context, status int, edit access.Holiday, errs field.Errors) error {
	hs, err := s.app.Access.Holidays()
	if err != nil {
		return err
	}
	return s.render(c, status, views.Holidays(views.HolidaysData{AccessEditData: views.AccessEditData{CanEdit: canManage(c), Errs: errs},
		Holidays: hs, Edit: edit}))
}

func (s *Server) accessHolidays(c echo.Context) error {
	return s.holidaysPage(c, http.StatusOK, access.Holiday{}, nil)
}

func (s *Server) accessHolidaySave(c echo.Context) error {
	h := access.Holiday{Date: strings.TrimSpace(c.FormValue("date")), Name: c.FormValue("name")}
	err := s.app.Access.SaveHoliday(c.Request().Context(), actor(c), h)
	if es, ok := field.As(err); ok {
		return s.holidaysPage(c, http.StatusUnprocessableEntity, h, es)
	}
	if err != nil {
		return err
	}
	s.log.Info("holiday saved", "date", h.Date, "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/access/holidays")
}

// accessHolidayDelete issues the access service's delete command directly:
// the service has no method for it yet.
func (s *Server) accessHolidayDelete(c echo.Context) error {
	date := c.Param("id")
	hs, err := s.app.Access.Holidays()
	if err != nil {
		return err
	}
	if _, err := find(hs, date, func(h access.Holiday) string { return h.Date }); err != nil {
		return err
	}
	if err := s.app.Access.DeleteHoliday(c.Request().Context(), actor(c), date); err != nil {
		return err
	}
	s.log.Info("holiday deleted", "date", date, "by", actor(c))
	s.flash(c, "flash.holiday_deleted")
	return s.redirect(c, "/access/holidays")
}

// ---- credentials

func (s *Server) allCredentials() ([]access.Credential, error) { return s.app.Access.Credentials() }

func credMatches(c access.Credential, q string) bool {
	if q == "" {
		return true
	}
	if strings.Contains(strings.ToLower(c.HolderName), strings.ToLower(q)) {
		return true
	}
	n := strings.NewReplacer(":", "", "-", "", " ", "").Replace(strings.ToUpper(q))
	return n != "" && strings.Contains(strings.NewReplacer(":", "").Replace(c.Number), n)
}

func (s *Server) accessCredentials(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	if r := []rune(q); len(r) > 100 {
		q = string(r[:100])
	}
	offset, _ := strconv.Atoi(c.QueryParam("offset"))
	all, err := s.allCredentials()
	if err != nil {
		return err
	}
	var hits []access.Credential
	for _, cr := range all {
		if credMatches(cr, q) {
			hits = append(hits, cr)
		}
	}
	byName(hits, func(c access.Credential) string { return c.HolderName + "\x00" + c.ID })
	offset = max(0, min(offset, len(hits)))
	d := views.CredentialsData{Q: q, CanEdit: canManage(c),
		Pager: views.Pager{Offset: offset, Limit: credPageSize, Total: len(hits), Base: url.Values{"q": {q}}, Path: "/access/credentials"}}
	for _, cr := range hits[offset:min(len(hits), offset+credPageSize)] {
		d.Rows = append(d.Rows, views.CredRow{Cred: cr})
	}
	return s.render(c, http.StatusOK, views.Credentials(d))
}

// enrolSeq is the newest read at any enrolment reader: "present card"
// waits for a later one.
func (s *Server) enrolSeq() uint64 {
	ds, err := s.app.Devices.Devices()
	if err != nil {
		return 0
	}
	live := s.app.Devices.Live()
	var seq uint64
	for _, d := range ds {
		if d.Role == device.EnrolmentReader {
			if r, ok := live.LastRead(d.ID); ok && r.Seq > seq {
				seq = r.Seq
			}
		}
	}
	return seq
}

// enrolRead answers "present card": it waits for the next read at an
// enrolment reader (or enrolWait) and sends back the number field.
func (s *Server) enrolRead(c echo.Context) error {
	after, _ := strconv.ParseUint(c.QueryParam("after"), 10, 64)
	l := langOf(c)
	d := views.EnrolNumberData{Number: c.QueryParam("number"), After: after}
	ctx, cancel := context.WithTimeout(c.Request().Context(), enrolWait)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel) // the server closing ends the wait
	defer stop()
	rd, err := s.app.Devices.Live().WaitRead(ctx, "", after)
	switch {
	case errors.Is(err, device.ErrNotRunning):
		d.Message = l.T("access.no_runtime")
	case errors.Is(err, context.DeadlineExceeded):
		d.Message = l.T("access.no_card_read")
	case err != nil:
		if c.Request().Context().Err() != nil || s.ctx.Err() != nil {
			return nil // the page went away
		}
		return err
	default:
		d.Number, d.After, d.Message = rd.Value, rd.Seq, l.T("access.card_read")
		if n := access.NormalizeCard(rd.Value); n != "" {
			d.Number = n
		}
		s.log.Info("enrolment read", "read", rd, "by", actor(c))
	}
	return s.render(c, http.StatusOK, views.EnrolNumber(d))
}

func (s *Server) credFormPage(c echo.Context, status int, d views.CredFormData) error {
	gs, err := s.app.Access.Groups()
	if err != nil {
		return err
	}
	byName(gs, func(g access.Group) string { return g.Name })
	for _, g := range gs {
		d.Groups = append(d.Groups, views.Option{Value: g.ID, Label: g.Name})
	}
	ps, err := s.app.Access.Profiles()
	if err != nil {
		return err
	}
	byName(ps, func(p access.Profile) string { return p.Name })
	for _, p := range ps {
		d.Profiles = append(d.Profiles, views.Option{Value: p.ID, Label: p.Name})
	}
	if e := d.Errs.For("number"); e.Code != "" {
		d.Number.Err = langOf(c).Field(e)
	}
	return s.render(c, status, views.CredentialForm(d))
}

func (s *Server) localDate(ns int64, end bool) string {
	if ns == 0 {
		return ""
	}
	t := time.Unix(0, ns).In(s.app.Config.Location)
	if end {
		t = t.Add(-time.Nanosecond) // NotAfter is the first instant no longer valid
	}
	return t.Format("2006-01-02")
}

func credFormData(s *Server, cr access.Credential) views.CredFormData {
	d := views.CredFormData{Cred: cr, From: s.localDate(cr.NotBefore, false), Until: s.localDate(cr.NotAfter, true),
		Number: views.EnrolNumberData{Number: cr.Number, After: s.enrolSeq()}}
	if cr.LimitDay > 0 {
		d.LimitDay = strconv.Itoa(cr.LimitDay)
	}
	if cr.LimitTotal > 0 {
		d.LimitTotal = strconv.Itoa(cr.LimitTotal)
	}
	if cr.HolderID != "" {
		if p, err := s.app.Directory.Person(cr.HolderID); err == nil {
			d.EmployeeNo = p.EmployeeNo
		}
	}
	return d
}

func (s *Server) credentialNew(c echo.Context) error {
	d := credFormData(s, access.Credential{Kind: access.Card, HolderKind: access.HolderEmployee})
	d.New = true
	return s.credFormPage(c, http.StatusOK, d)
}

func (s *Server) credentialEdit(c echo.Context) error {
	cr, err := s.app.Access.Credential(c.Param("id"))
	if err != nil {
		return err
	}
	return s.credFormPage(c, http.StatusOK, credFormData(s, cr))
}

// formCredential reads the enrol form over base; local problems (dates,
// numbers, the employee number) come back as field errors.
func (s *Server) formCredential(c echo.Context, base access.Credential) (access.Credential, views.CredFormData, field.Errors, error) {
	form, err := c.FormParams()
	if err != nil {
		return base, views.CredFormData{}, nil, echo.NewHTTPError(http.StatusBadRequest)
	}
	cr := base
	if cr.Kind != access.Quick {
		cr.Kind, cr.Number = access.CredKind(form.Get("kind")), strings.TrimSpace(form.Get("number"))
	}
	cr.HolderKind, cr.HolderName, cr.Company = access.HolderKind(form.Get("holder_kind")), form.Get("holder_name"), form.Get("company")
	cr.GroupIDs, cr.ProfileID = form["group_ids"], form.Get("profile_id")
	d := views.CredFormData{Cred: cr, EmployeeNo: strings.TrimSpace(form.Get("employee_no")), From: form.Get("valid_from"),
		Until: form.Get("valid_until"), LimitDay: form.Get("limit_day"), LimitTotal: form.Get("limit_total"),
		Number: views.EnrolNumberData{Number: form.Get("number"), After: s.enrolSeq()}}
	var es field.Errors
	loc := s.app.Config.Location
	cr.NotBefore, cr.NotAfter = 0, 0
	if v := strings.TrimSpace(d.From); v != "" {
		if t, err := time.ParseInLocation("2006-01-02", v, loc); err != nil {
			es.Add("not_before", "invalid_date")
		} else {
			cr.NotBefore = t.UnixNano()
		}
	}
	if v := strings.TrimSpace(d.Until); v != "" {
		if t, err := time.ParseInLocation("2006-01-02", v, loc); err != nil {
			es.Add("not_after", "invalid_date")
		} else {
			cr.NotAfter = t.AddDate(0, 0, 1).UnixNano() // valid through that whole day
		}
	}
	limit := func(name, v string) int {
		v = strings.TrimSpace(v)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			es.Add(name, "not_a_number")
		}
		return n
	}
	cr.LimitDay, cr.LimitTotal = limit("limit_day", d.LimitDay), limit("limit_total", d.LimitTotal)
	cr.HolderID = ""
	if d.EmployeeNo != "" {
		p, err := s.app.Directory.PersonByNumber(d.EmployeeNo)
		switch {
		case errors.Is(err, directory.ErrNotFound):
			es.Add("employee_no", "unknown_employee_no")
		case err != nil:
			return cr, d, nil, err
		default:
			cr.HolderID = p.ID
			if strings.TrimSpace(cr.HolderName) == "" {
				cr.HolderName = p.Name
			}
			if cr.Company == "" {
				if co, err := s.app.Directory.Company(p.CompanyID); err == nil {
					cr.Company = co.Name
				}
			}
		}
	}
	d.Cred = cr
	return cr, d, es, nil
}

func (s *Server) credentialSave(c echo.Context, base access.Credential, isNew bool) error {
	cr, d, es, err := s.formCredential(c, base)
	if err != nil {
		return err
	}
	d.New = isNew
	if len(es) > 0 {
		d.Errs = es
		return s.credFormPage(c, http.StatusUnprocessableEntity, d)
	}
	saved, err := s.app.Access.Enrol(c.Request().Context(), actor(c), cr)
	if fe, ok := field.As(err); ok {
		d.Errs = fe
		return s.credFormPage(c, http.StatusUnprocessableEntity, d)
	}
	if err != nil {
		return err
	}
	s.log.Info("credential saved", "credential", saved.ID, "kind", saved.Kind, "new", isNew, "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/access/credentials/"+saved.ID)
}

func (s *Server) credentialCreate(c echo.Context) error {
	return s.credentialSave(c, access.Credential{}, true)
}

func (s *Server) credentialUpdate(c echo.Context) error {
	cr, err := s.app.Access.Credential(c.Param("id"))
	if err != nil {
		return err
	}
	return s.credentialSave(c, cr, false)
}

// rights puts a credential's effective rights in words a guard reads at a
// glance: "Gate A, Gate B (zone Lobby) — Mon–Fri 08:00–18:00, not on
// holidays — valid until 2026-12-31 — at most 2 entries a day".
func (s *Server) rights(l i18n.Lang, cr access.Credential) ([]string, error) {
	var out []string
	if cr.State != access.Active {
		out = append(out, l.T("access.rights_state", l.T("access.state."+string(cr.State))))
	}
	p, err := s.places()
	if err != nil {
		return nil, err
	}
	gs, err := s.app.Access.Groups()
	if err != nil {
		return nil, err
	}
	var mine []access.Group
	for _, id := range cr.GroupIDs {
		if g, err := find(gs, id, func(g access.Group) string { return g.ID }); err == nil {
			mine = append(mine, g)
		}
	}
	parts := []string{p.doors(l, mine...)}
	if cr.ProfileID == "" {
		parts = append(parts, l.T("access.any_time"))
	} else {
		ps, err := s.app.Access.Profiles()
		if err != nil {
			return nil, err
		}
		if prof, err := find(ps, cr.ProfileID, func(p access.Profile) string { return p.ID }); err == nil {
			parts = append(parts, scheduleWords(l, prof))
		} else {
			parts = append(parts, l.T("access.never"))
		}
	}
	from, until := s.localDate(cr.NotBefore, false), s.localDate(cr.NotAfter, true)
	switch {
	case from != "" && until != "":
		parts = append(parts, l.T("access.valid_between", from, until))
	case until != "":
		parts = append(parts, l.T("access.valid_to", until))
	case from != "":
		parts = append(parts, l.T("access.valid_since", from))
	default:
		parts = append(parts, l.T("access.no_end"))
	}
	if cr.LimitDay > 0 {
		parts = append(parts, l.T("access.at_most_day", cr.LimitDay))
	}
	if cr.LimitTotal > 0 {
		parts = append(parts, l.T("access.at_most_total", cr.LimitTotal))
	}
	return append(out, strings.Join(parts, " — ")), nil
}

// holderOf is the holder key the events are indexed by.
func holderOf(cr access.Credential) string {
	if cr.HolderID != "" {
		return cr.HolderID
	}
	return "cred:" + cr.ID
}

func (s *Server) credentialPage(c echo.Context, status int, cr access.Credential, replaceTo string, errs field.Errors) error {
	l := langOf(c)
	rs, err := s.rights(l, cr)
	if err != nil {
		return err
	}
	d := views.CredentialData{Cred: cr, Rights: rs, Opens: cr.State == access.Active, CanEdit: canManage(c), ReplaceTo: replaceTo, Errs: errs}
	evs, err := s.app.Access.HolderEvents(holderOf(cr), credEvents)
	if err != nil {
		return err
	}
	lanes, _, err := s.laneNames()
	if err != nil {
		return err
	}
	for _, e := range evs {
		d.Events = append(d.Events, views.CredEvent{Time: e.Time.UnixNano(), Lane: lanes[e.Lane], In: e.Entry, Grant: e.Grant, Reason: string(e.Reason)})
	}
	return s.render(c, status, views.Credential(d))
}

func (s *Server) credentialShow(c echo.Context) error {
	cr, err := s.app.Access.Credential(c.Param("id"))
	if err != nil {
		return err
	}
	return s.credentialPage(c, http.StatusOK, cr, "", nil)
}

// credentialState makes a handler that moves a credential to st.
func (s *Server) credentialState(st access.CredState) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Param("id")
		cr, err := s.app.Access.Credential(id)
		if err != nil {
			return err
		}
		err = s.app.Access.SetState(c.Request().Context(), actor(c), id, st, strings.TrimSpace(c.FormValue("note")))
		if es, ok := field.As(err); ok {
			return s.credentialPage(c, http.StatusUnprocessableEntity, cr, "", es)
		}
		if err != nil {
			return err
		}
		s.log.Info("credential state", "credential", id, "state", st, "by", actor(c))
		s.flash(c, "flash.cred_state")
		return s.redirect(c, "/access/credentials/"+id)
	}
}

func (s *Server) credentialReplace(c echo.Context) error {
	old, err := s.app.Access.Credential(c.Param("id"))
	if err != nil {
		return err
	}
	number := strings.TrimSpace(c.FormValue("number"))
	n, err := s.app.Access.Replace(c.Request().Context(), actor(c), old.ID, old.Kind, number)
	if es, ok := field.As(err); ok {
		return s.credentialPage(c, http.StatusUnprocessableEntity, old, number, es)
	}
	if err != nil {
		return err
	}
	s.log.Info("credential replaced", "old", old.ID, "credential", n.ID, "by", actor(c))
	s.flash(c, "flash.cred_replaced")
	return s.redirect(c, "/access/credentials/"+n.ID)
}

func (s *Server) credentialDelete(c echo.Context) error {
	id := c.Param("id")
	if _, err := s.app.Access.Credential(id); err != nil {
		return err
	}
	if err := s.app.Access.Delete(c.Request().Context(), actor(c), id); err != nil {
		return err
	}
	s.log.Info("credential deleted", "credential", id, "by", actor(c))
	s.flash(c, "flash.cred_deleted")
	return s.redirect(c, "/access/credentials")
}
