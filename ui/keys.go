package ui

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	qrcode "github.com/skip2/go-qrcode"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/appliance/keys"
	"gatehouse/ui/views"
)

// The key room: the register of customers' keys with who holds them
// (overdue first), one page per key with its forms and whole history, the
// rules per key level, the lost-key case, audits, QR labels and exports.

const dueLayout = "2006-01-02T15:04"

func keyPerson(c echo.Context) keys.Person { return keys.PersonOf(accountOf(c)) }

// staffOptions lists the active staff accounts (not hosts).
func (s *Server) staffOptions(except string) ([]views.Option, error) {
	as, err := s.app.Auth.Accounts()
	if err != nil {
		return nil, err
	}
	var out []views.Option
	for _, a := range as {
		if a.Disabled || a.Role == auth.Host || a.ID == except {
			continue
		}
		out = append(out, views.Option{Value: a.ID, Label: a.Name + " (" + a.Username + ")"})
	}
	slices.SortFunc(out, func(a, b views.Option) int { return strings.Compare(a.Label, b.Label) })
	return out, nil
}

func (s *Server) keyRoom(c echo.Context) error {
	q := c.QueryParam("q")
	rows, err := s.app.KeyRoom.Search(q)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.KeyRoom(views.KeyRoomData{Q: q, Rows: rows, CanEdit: userOf(c).Can(auth.Admin, auth.Manager)}))
}

func (s *Server) keyFormPage(c echo.Context, status int, d views.KeyFormData) error {
	ks, err := s.app.KeyRoom.Search("")
	if err != nil {
		return err
	}
	for _, r := range ks {
		if r.Key.SpareOf == "" && (r.Key.State == keys.In || r.Key.State == keys.Out) {
			d.Mains = append(d.Mains, views.Option{Value: r.Key.ID, Label: r.Key.Tag + " · " + r.Key.Customer})
		}
	}
	slices.SortFunc(d.Mains, func(a, b views.Option) int { return strings.Compare(a.Label, b.Label) })
	if d.Accounts, err = s.staffOptions(""); err != nil {
		return err
	}
	if d.Level == "" {
		d.Level = "1"
	}
	return s.render(c, status, views.KeyForm(d))
}

func (s *Server) keyNew(c echo.Context) error {
	d := views.KeyFormData{CaseID: c.QueryParam("case")}
	if d.CaseID != "" {
		cs, err := s.app.KeyRoom.Case(d.CaseID)
		if err != nil {
			return err
		}
		old, err := s.app.KeyRoom.Get(cs.KeyID)
		if err != nil {
			return err
		}
		d.Key = keys.Key{Customer: old.Customer, Unit: old.Unit, Cabinet: old.Cabinet, Slot: old.Slot, Roles: old.Roles, Accounts: old.Accounts}
		d.Level = strconv.Itoa(old.Level)
	}
	return s.keyFormPage(c, http.StatusOK, d)
}

func formKey(c echo.Context) (keys.Key, string) {
	lv := c.FormValue("level")
	n, err := strconv.Atoi(strings.TrimSpace(lv))
	if err != nil {
		n = 0
	}
	f, _ := c.FormParams()
	return keys.Key{Tag: c.FormValue("tag"), Customer: c.FormValue("customer"), Unit: c.FormValue("unit"),
		Cabinet: c.FormValue("cabinet"), Slot: c.FormValue("slot"), Level: n, SpareOf: c.FormValue("spare_of"),
		Roles: f["roles"], Accounts: f["accounts"]}, lv
}

func (s *Server) keyCreate(c echo.Context) error {
	return s.keySave(c, "")
}

func (s *Server) keyReplace(c echo.Context) error {
	if _, err := s.app.KeyRoom.Case(c.Param("id")); err != nil {
		return err
	}
	return s.keySave(c, c.Param("id"))
}

func (s *Server) keySave(c echo.Context, caseID string) error {
	k, lv := formKey(c)
	var saved keys.Key
	var err error
	if caseID != "" {
		k.SpareOf = ""
		saved, err = s.app.KeyRoom.Replace(c.Request().Context(), keyPerson(c), caseID, k)
	} else {
		saved, err = s.app.KeyRoom.RegisterKey(c.Request().Context(), keyPerson(c), k)
	}
	if es, ok := field.As(err); ok {
		return s.keyFormPage(c, http.StatusUnprocessableEntity, views.KeyFormData{Key: k, Level: lv, CaseID: caseID, Errs: es})
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/keys/"+saved.ID)
}

func (s *Server) keyPage(c echo.Context, status int, id string, form views.KeyActionForm, es field.Errors) error {
	k, err := s.app.KeyRoom.Get(id)
	if err != nil {
		return err
	}
	d := views.KeyData{Key: k, Form: form, Errs: es, CanEdit: userOf(c).Can(auth.Admin, auth.Manager)}
	if k.Checkout != "" {
		co, err := s.app.KeyRoom.CheckoutByID(k.Checkout)
		if err != nil {
			return err
		}
		d.Checkout, d.Overdue = &co, co.Due <= s.app.Clock.Now().UnixNano()
	}
	if k.SpareOf != "" {
		if m, err := s.app.KeyRoom.Get(k.SpareOf); err == nil {
			d.Main = &m
		}
	}
	if d.Spares, err = s.app.KeyRoom.Spares(k.ID); err != nil {
		return err
	}
	if d.Cases, err = s.app.KeyRoom.CasesOf(k.ID); err != nil {
		return err
	}
	if d.History, err = s.app.KeyRoom.History(k.ID); err != nil {
		return err
	}
	if d.Rule, err = s.app.KeyRoom.Rule(k.Level); err != nil {
		return err
	}
	if d.CanEdit {
		if d.Accounts, err = s.staffOptions(""); err != nil {
			return err
		}
	}
	if d.Form.Due == "" {
		d.Form.Due = s.app.Clock.Now().Add(2 * time.Hour).In(s.app.Config.Location).Format(dueLayout)
	}
	if err := s.keySensorData(&d); err != nil {
		return err
	}
	return s.render(c, status, views.Key(d))
}

func (s *Server) keyShow(c echo.Context) error {
	return s.keyPage(c, http.StatusOK, c.Param("id"), views.KeyActionForm{}, nil)
}

// keyResult re-renders the key page with the form's errors, or goes back
// to it after a change.
func (s *Server) keyResult(c echo.Context, id string, form views.KeyActionForm, err error) error {
	if es, ok := field.As(err); ok {
		return s.keyPage(c, http.StatusUnprocessableEntity, id, form, es)
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/keys/"+id)
}

func approvalOf(c echo.Context) keys.Approval {
	return keys.Approval{Username: c.FormValue("approver"), Password: c.FormValue("approver_password")}
}

func (s *Server) keyCheckout(c echo.Context) error {
	id := c.Param("id")
	form := views.KeyActionForm{Reason: c.FormValue("reason"), Note: c.FormValue("note"), Due: c.FormValue("due"), Approver: c.FormValue("approver")}
	due, err := time.ParseInLocation(dueLayout, strings.TrimSpace(form.Due), s.app.Config.Location)
	if err != nil {
		if _, err := s.app.KeyRoom.Get(id); err != nil {
			return err
		}
		return s.keyPage(c, http.StatusUnprocessableEntity, id, form, field.Errors{{Field: "due", Code: "invalid_date"}})
	}
	_, err = s.app.KeyRoom.Checkout(c.Request().Context(), keyPerson(c), keys.CheckoutInput{KeyID: id, Reason: form.Reason,
		Note: form.Note, Due: due, Approval: approvalOf(c)})
	return s.keyResult(c, id, form, err)
}

func (s *Server) keyReturn(c echo.Context) error {
	id := c.Param("id")
	form := views.KeyActionForm{Slot: c.FormValue("slot"), Approver: c.FormValue("approver")}
	err := s.app.KeyRoom.Return(c.Request().Context(), keyPerson(c), keys.ReturnInput{KeyID: id, Slot: form.Slot, Approval: approvalOf(c)})
	return s.keyResult(c, id, form, err)
}

func (s *Server) keyLost(c echo.Context) error {
	id := c.Param("id")
	form := views.KeyActionForm{LostNote: c.FormValue("lost_note")}
	_, err := s.app.KeyRoom.ReportLost(c.Request().Context(), keyPerson(c), id, form.LostNote)
	if es, ok := field.As(err); ok {
		for i := range es {
			if es[i].Field == "note" {
				es[i].Field = "lost_note"
			}
		}
		err = es
	}
	if err == nil {
		s.log.Info("key reported lost", "key", id, "by", actor(c))
	}
	return s.keyResult(c, id, form, err)
}

func (s *Server) keyPermissions(c echo.Context) error {
	id := c.Param("id")
	f, _ := c.FormParams()
	err := s.app.KeyRoom.SetPermissions(c.Request().Context(), keyPerson(c), id, f["roles"], f["accounts"])
	return s.keyResult(c, id, views.KeyActionForm{}, err)
}

func (s *Server) keyCaseStep(c echo.Context) error {
	cs, err := s.app.KeyRoom.Case(c.Param("id"))
	if err != nil {
		return err
	}
	form := views.KeyActionForm{StepNote: c.FormValue("note")}
	err = s.app.KeyRoom.CaseStep(c.Request().Context(), keyPerson(c), cs.ID, c.FormValue("step"), form.StepNote)
	return s.keyResult(c, cs.KeyID, form, err)
}

func (s *Server) keyLabel(c echo.Context) error {
	k, err := s.app.KeyRoom.Get(c.Param("id"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.KeyLabel(k))
}

// keyLabelPNG is the key's tag as a QR code, for the label.
func (s *Server) keyLabelPNG(c echo.Context) error {
	k, err := s.app.KeyRoom.Get(c.Param("id"))
	if err != nil {
		return err
	}
	png, err := qrcode.Encode(k.Tag, qrcode.Medium, 256)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/png", png)
}

func (s *Server) keyLevelsPage(c echo.Context, status int, d views.KeyLevelsData) error {
	rs, err := s.app.KeyRoom.Rules()
	if err != nil {
		return err
	}
	for i := range rs {
		if len(d.Rules) > 0 && rs[i].Level == d.Level {
			rs[i] = d.Rules[0] // as typed
		}
	}
	d.Rules = rs
	if d.Accounts, err = s.staffOptions(""); err != nil {
		return err
	}
	return s.render(c, status, views.KeyLevels(d))
}

func (s *Server) keyLevels(c echo.Context) error {
	return s.keyLevelsPage(c, http.StatusOK, views.KeyLevelsData{})
}

func (s *Server) keyLevelSave(c echo.Context) error {
	n, err := strconv.Atoi(strings.TrimSpace(c.FormValue("level")))
	if err != nil || n < keys.MinLevel || n > keys.TopLevel {
		return echo.NewHTTPError(http.StatusUnprocessableEntity)
	}
	f, _ := c.FormParams()
	r := keys.Rule{Level: n, Roles: f["roles"], Accounts: f["accounts"], Curfew: c.FormValue("curfew")}
	err = s.app.KeyRoom.SaveRule(c.Request().Context(), actor(c), r)
	if es, ok := field.As(err); ok {
		return s.keyLevelsPage(c, http.StatusUnprocessableEntity, views.KeyLevelsData{Rules: []keys.Rule{r}, Level: n, Errs: es})
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/keys/levels")
}

func (s *Server) keyAudits(c echo.Context) error {
	as, err := s.app.KeyRoom.Audits()
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.KeyAudits(views.KeyAuditsData{Audits: as}))
}

func (s *Server) keyAuditStart(c echo.Context) error {
	a, err := s.app.KeyRoom.StartAudit(c.Request().Context(), keyPerson(c), c.FormValue("cabinet"))
	if es, ok := field.As(err); ok {
		as, err := s.app.KeyRoom.Audits()
		if err != nil {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, views.KeyAudits(views.KeyAuditsData{Audits: as, Errs: es}))
	}
	if err != nil {
		return err
	}
	return s.redirect(c, "/keys/audits/"+a.ID)
}

func (s *Server) keyAuditPage(c echo.Context, status int, id string, d views.KeyAuditData) error {
	a, err := s.app.KeyRoom.Audit(id)
	if err != nil {
		return err
	}
	d.Audit, d.Seen = a, map[string]string{}
	for _, sn := range a.Seen {
		d.Seen[sn.Tag] = sn.Slot
	}
	rows, err := s.app.KeyRoom.Search("")
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.Key.State == keys.In && (a.Cabinet == "" || strings.EqualFold(a.Cabinet, r.Key.Cabinet)) {
			d.Expected = append(d.Expected, r.Key)
		}
	}
	if d.Sensors, err = s.keyAuditSensorLines(id); err != nil {
		return err
	}
	return s.render(c, status, views.KeyAudit(d))
}

func (s *Server) keyAudit(c echo.Context) error {
	return s.keyAuditPage(c, http.StatusOK, c.Param("id"), views.KeyAuditData{})
}

func (s *Server) keyAuditTick(c echo.Context) error {
	id := c.Param("id")
	tag, slot := c.FormValue("tag"), c.FormValue("slot")
	err := s.app.KeyRoom.Tick(c.Request().Context(), keyPerson(c), id, tag, slot)
	if es, ok := field.As(err); ok {
		return s.keyAuditPage(c, http.StatusUnprocessableEntity, id, views.KeyAuditData{Tag: tag, Slot: slot, Errs: es})
	}
	if err != nil {
		return err
	}
	return s.redirect(c, "/keys/audits/"+id)
}

func (s *Server) keyAuditFinish(c echo.Context) error {
	id := c.Param("id")
	_, err := s.app.KeyRoom.FinishAudit(c.Request().Context(), keyPerson(c), id)
	if es, ok := field.As(err); ok {
		return s.keyAuditPage(c, http.StatusUnprocessableEntity, id, views.KeyAuditData{Errs: es})
	}
	if err != nil {
		return err
	}
	return s.redirect(c, "/keys/audits/"+id)
}

// keyRegisterExport downloads the key register as it stands.
func (s *Server) keyRegisterExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		rows, err := s.app.KeyRoom.Search("")
		if err != nil {
			return err
		}
		l := langOf(c)
		t := table{name: "keys-" + s.app.Clock.Now().In(s.app.Config.Location).Format("2006-01-02"),
			header: []string{l.T("keys.tag"), l.T("keys.customer"), l.T("keys.unit"), l.T("keys.cabinet"), l.T("keys.slot"),
				l.T("keys.level"), l.T("field.status"), l.T("keys.holder"), l.T("keys.due")},
			rows: func(yield func([]any) bool) {
				for _, r := range rows {
					st, holder, due := l.T("keystate."+string(r.Key.State)), "", time.Time{}
					if r.Overdue {
						st = l.T("keys.overdue")
					}
					if r.Checkout != nil {
						holder, due = r.Checkout.Holder.Name, time.Unix(0, r.Checkout.Due)
					}
					if !yield([]any{r.Key.Tag, r.Key.Customer, r.Key.Unit, r.Key.Cabinet, r.Key.Slot, r.Key.Level, st, holder, due}) {
						return
					}
				}
			}}
		if format == formatPDF {
			return s.sendPDF(c, l.T("keys.title"), nil, t)
		}
		return s.sendTable(c, format, t)
	}
}

// keyHistoryExport downloads every key's history.
func (s *Server) keyHistoryExport(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		rows, err := s.app.KeyRoom.Search("")
		if err != nil {
			return err
		}
		tags := map[string]string{}
		for _, r := range rows {
			tags[r.Key.ID] = r.Key.Tag
		}
		l := langOf(c)
		t := table{name: "key-history", header: []string{l.T("audit.time"), l.T("keys.tag"), l.T("keys.event"), l.T("keys.by"),
			l.T("keys.approver"), l.T("keys.reason"), l.T("keys.note"), l.T("keys.due"), l.T("keys.slot")},
			// Entry by entry from the store, not years of history in memory.
			rows: func(yield func([]any) bool) {
				err = s.app.KeyRoom.EachEvent(func(e keys.Event) bool {
					reason, due := "", time.Time{}
					if e.Reason != "" {
						reason = l.T("keyreason." + e.Reason)
					}
					if e.Due != 0 {
						due = time.Unix(0, e.Due)
					}
					note := e.Note
					if e.Kind == "sensed_out" || e.Kind == "sensed_in" {
						note = l.T("keysensed." + e.Note) // what the sensor's change meant, in words
					}
					return yield([]any{time.Unix(0, e.At), tags[e.KeyID], l.T("keyev." + e.Kind), e.By, e.Approver, reason, note, due, e.Slot})
				})
			},
			failed: func() error { return err }}
		if format == formatPDF {
			return s.sendPDF(c, l.T("keys.history"), nil, t)
		}
		return s.sendTable(c, format, t)
	}
}
