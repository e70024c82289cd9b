package ui

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/visit"
	"gatehouse/drivers/mrz"
	"gatehouse/ui/views"
)

func (s *Server) walkInPage(c echo.Context) error {
	until := s.app.Clock.Now().In(s.app.Config.Location).Add(2 * time.Hour).Format("15:04")
	d := views.WalkInData{Form: views.WalkInForm{Until: until, Party: "1", Lang: s.app.Settings().Language}}
	if err := s.withReaders(&d); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.WalkIn(d))
}

// withReaders lets the walk-in form listen to the lobby's document
// readers for the reads from now on.
func (s *Server) withReaders(d *views.WalkInData) error {
	ids, _, err := s.deskReaders()
	if err != nil {
		return err
	}
	d.Readers = len(ids) > 0
	d.DocAfter = strconv.FormatUint(s.app.Devices.Live().Seq(), 10)
	return nil
}

// deskHosts is reception's host search: any company, with the phone to
// call the host before registering a walk-in. Staff may find a host by the
// last 4 digits of the mobile (appliance/directory/hosts.go).
func (s *Server) deskHosts(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("host_q"))
	if r := []rune(q); len(r) > 50 {
		q = string(r[:50])
	}
	var out []views.DeskHost
	if q != "" {
		hs, err := s.app.Directory.Hosts(directory.HostQuery{Text: q, Limit: 20}, true)
		if err != nil {
			return err
		}
		fo, err := s.floorNames()
		if err != nil {
			return err
		}
		for _, h := range hs {
			m, err := s.app.Directory.Mobile(h.Person) // reception calls the host
			if err != nil {
				return err
			}
			out = append(out, views.DeskHost{ID: h.ID, Name: h.Name, EnglishName: h.EnglishName, Company: h.CompanyName,
				Floor: fo[h.FloorID], Mobile: m, Masked: visit.MaskMobile(m)})
		}
	}
	// A late answer to an earlier keystroke must not undo the host picked.
	return s.render(c, http.StatusOK, views.DeskHosts(out, q != "", c.QueryParam("host_id")))
}

func atoiDefault(s string, def int) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func (s *Server) walkIn(c echo.Context) error {
	f := views.WalkInForm{Name: c.FormValue("name"), Title: c.FormValue("title"), Mobile: c.FormValue("mobile"),
		IDNumber: c.FormValue("id_number"), Company: c.FormValue("company"), HostID: c.FormValue("host_id"),
		Reason: c.FormValue("reason"), Until: c.FormValue("until"), Party: c.FormValue("party"), Badge: c.FormValue("badge"),
		Nationality: c.FormValue("nationality"), Birth: c.FormValue("birth"), Sex: c.FormValue("sex"), DocExpiry: c.FormValue("doc_expiry"),
		Chip: strings.TrimSpace(c.FormValue("chip")), BindCard: c.FormValue("bind_card") == "1", FaceConsent: c.FormValue("face_consent") == "1",
		Lang: c.FormValue("lang")}
	now := s.app.Clock.Now()
	fail := func(es field.Errors) error {
		d := views.WalkInData{Form: f, Errs: es}
		if err := s.withReaders(&d); err != nil {
			return err
		}
		if p, err := s.app.Directory.Person(f.HostID); err == nil {
			d.HostName = s.personName(c, p)
		} else {
			d.Form.HostID = ""
		}
		return s.render(c, http.StatusUnprocessableEntity, views.WalkIn(d))
	}
	_, until, es := s.parseWindow(now.In(s.app.Config.Location).Format("2006-01-02"), "00:00", f.Until)
	party, ok := atoiDefault(f.Party, 1)
	if !ok {
		es.Add("party_size", "not_a_number")
	}
	photo, perr := decodePhoto(c.FormValue("photo"))
	if perr != nil {
		es.Add("photo", "invalid_photo")
	} else if f.FaceConsent && photo == nil {
		es.Add("photo", "face_photo_required") // consent to a face the desk did not take
	}
	if len(es) == 0 && !until.After(now) {
		until = until.Add(24 * time.Hour) // "leaves by 01:00" typed at 22:30 means tomorrow
	}
	q := visit.Request{Name: f.Name, Title: f.Title, Mobile: f.Mobile, IDNumber: f.IDNumber, Company: f.Company,
		HostID: f.HostID, Reason: f.Reason, From: now, Until: until, PartySize: party, Badge: f.Badge,
		Doc: visit.DocDetails{Nationality: f.Nationality, Birth: f.Birth, Sex: f.Sex, Expiry: f.DocExpiry}, MobileOptional: f.BindCard, Lang: f.Lang}
	if f.BindCard && access.NormalizeCard(f.Chip) == "" {
		es.Add("chip", "invalid_card_number")
	} else if f.BindCard {
		if _, err := s.app.Access.CredentialByCard(f.Chip); err == nil {
			es.Add("chip", "duplicate_card")
		}
	}
	if len(es) > 0 {
		return fail(s.allErrors(es, q, false))
	}
	v, link, err := s.app.Visits.WalkIn(c.Request().Context(), actor(c), q)
	if fe, ok := field.As(err); ok {
		return fail(fe)
	}
	if errors.Is(err, visit.ErrBlocked) {
		return s.render(c, http.StatusForbidden, views.ErrorPage(http.StatusForbidden, langOf(c).T("walkin.blocked")))
	}
	if err != nil {
		return err
	}
	// The visit is registered: what follows (its photo, the ID card, the
	// face) is said on the pass page if it fails, never a 500 that hides
	// a visit that exists.
	var problems []string
	followUp := func(key string, err error) {
		if err != nil {
			s.app.Log.Warn("walk-in registered, a follow-up failed", "visit", v.ID, "step", key, "err", err)
			problems = append(problems, langOf(c).T(key))
		}
	}
	if photo != nil {
		followUp("walkin.followup_photo", s.app.Visits.SetPhoto(c.Request().Context(), actor(c), v.ID, photo))
	}
	if f.BindCard {
		followUp("walkin.followup_card", s.app.Access.BindVisitCard(c.Request().Context(), actor(c), v.ID, f.Chip))
	}
	if f.FaceConsent && photo != nil && len(problems) == 0 {
		followUp("walkin.followup_face", s.enrolVisitFace(c, v, photo, now))
	}
	d, _, err := s.passData(c, v, link, langOf(c).T("walkin.registered"))
	if err != nil {
		return err
	}
	d.Problems = problems
	return s.render(c, http.StatusOK, views.PassIssued(d))
}

// passIssued shows the new pass with the link to send the visitor.
func (s *Server) passIssued(c echo.Context, v visit.Visit, link, title string) error {
	d, _, err := s.passData(c, v, link, title)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.PassIssued(d))
}

// passData is the pass page of v: the QR of its pass (tok, returned for
// the slip), the link to send, and whether the desk's printer can print it.
func (s *Server) passData(c echo.Context, v visit.Visit, link, title string) (d views.PassIssuedData, tok string, err error) {
	if tok, err = s.app.Visits.Token(v); err != nil {
		return d, "", err
	}
	svg, err := pass.SVG(tok)
	if err != nil {
		return d, "", err
	}
	// The link to hand on is the one the SMS carries: under the public
	// address when it is set, else under the address this page came by.
	base := s.app.Settings().BaseURL
	if base == "" {
		scheme := "http"
		if c.IsTLS() {
			scheme = "https"
		}
		base = scheme + "://" + c.Request().Host
	}
	d = views.PassIssuedData{Title: title, Name: v.Visitor.Name, VisitID: v.ID,
		Link: base + "/v/" + link, QRSVG: svg, Badge: v.Badge}
	// The desk's receipt printer, when one runs, prints the slip; hosts
	// inviting from their desks have none.
	if u := userOf(c); u != nil && slices.Contains(staff, u.Role) {
		d.Printer = s.app.Devices.Printer() != nil
	}
	return d, tok, nil
}

// printSlip prints a visitor slip (name, host, floor, validity and the QR
// pass) on the desk's receipt printer, and shows the pass again with the
// outcome.
func (s *Server) printSlip(c echo.Context) error {
	v, err := s.app.Visits.Get(c.Param("id"))
	if err != nil {
		return err
	}
	link, err := s.app.Visits.StatusLink(v)
	if err != nil {
		return err
	}
	d, tok, err := s.passData(c, v, link, v.Visitor.Name)
	if err != nil {
		return err
	}
	l := langOf(c)
	slip := device.Slip{Site: s.app.Config.SiteName, Visitor: v.Visitor.Name, Pass: tok, Lang: string(l)}
	from, until := v.Window()
	slip.From, slip.Until = from.In(s.app.Config.Location), until.In(s.app.Config.Location)
	if p, err := s.app.Directory.Person(v.HostID); err == nil {
		slip.Host = s.personName(c, p)
	}
	if f, err := s.app.Directory.Floor(v.FloorID); err == nil {
		slip.Floor = f.Name
	}
	status, msg := http.StatusOK, "desk.slip_printed"
	if p := s.app.Devices.Printer(); p == nil {
		status, msg = http.StatusConflict, "desk.slip_no_printer"
	} else if err := p.PrintSlip(c.Request().Context(), slip); err != nil {
		s.log.Warn("desk: slip not printed", "err", err) // the printer's state, never the slip
		status, msg = http.StatusServiceUnavailable, "desk.slip_failed"
	}
	d.Printed, d.PrintFailed = l.T(msg), status != http.StatusOK
	return s.render(c, status, views.PassIssued(d))
}

func (s *Server) invitePage(c echo.Context) error {
	if accountOf(c).PersonID == "" {
		return errForbidden
	}
	// Suggest the next whole hour, for two hours.
	from := s.app.Clock.Now().In(s.app.Config.Location).Truncate(time.Hour).Add(time.Hour)
	return s.render(c, http.StatusOK, views.Invite(views.InviteData{Form: views.InviteForm{Date: from.Format("2006-01-02"),
		From: from.Format("15:04"), Until: from.Add(2 * time.Hour).Format("15:04"), Party: "1", Lang: string(langOf(c))}}))
}

func (s *Server) invite(c echo.Context) error {
	a := accountOf(c)
	if a.PersonID == "" {
		return errForbidden
	}
	f := views.InviteForm{Name: c.FormValue("name"), Title: c.FormValue("title"), Mobile: c.FormValue("mobile"),
		Company: c.FormValue("company"), Reason: c.FormValue("reason"), Message: c.FormValue("message"),
		Date: c.FormValue("date"), From: c.FormValue("from"), Until: c.FormValue("until"), Party: c.FormValue("party"),
		Lang: c.FormValue("lang")}
	from, until, es := s.parseWindow(f.Date, f.From, f.Until)
	party, ok := atoiDefault(f.Party, 1)
	if !ok {
		es.Add("party_size", "not_a_number")
	}
	q := visit.Request{Name: f.Name, Title: f.Title, Mobile: f.Mobile, Company: f.Company, HostID: a.PersonID,
		Reason: f.Reason, Message: f.Message, From: from, Until: until, PartySize: party, Lang: f.Lang}
	var v visit.Visit
	var link string
	var err error = s.allErrors(es, q, false)
	if len(es) == 0 {
		v, link, err = s.app.Visits.Invite(c.Request().Context(), actor(c), q)
	}
	if fe, ok := field.As(err); ok {
		return s.render(c, http.StatusUnprocessableEntity, views.Invite(views.InviteData{Form: f, Errs: fe}))
	}
	if errors.Is(err, visit.ErrBlocked) {
		return s.render(c, http.StatusForbidden, views.ErrorPage(http.StatusForbidden, langOf(c).T("walkin.blocked")))
	}
	if err != nil {
		return err
	}
	return s.passIssued(c, v, link, langOf(c).T("invite.sent"))
}

// decodePhoto reads the camera's data URL; empty means no photo.
func decodePhoto(dataURL string) ([]byte, error) {
	if dataURL == "" {
		return nil, nil
	}
	b64, ok := strings.CutPrefix(dataURL, "data:image/jpeg;base64,")
	if !ok || len(b64) > visit.MaxPhotoBytes*4/3+4 {
		return nil, errors.New("not a JPEG data URL")
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	return b, visit.CheckPhoto(b)
}

// visitPhoto shows a visitor's photo to the desk and the guards.
func (s *Server) visitPhoto(c echo.Context) error {
	b, err := s.app.Visits.Photo(c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(http.StatusOK, "image/jpeg", b)
}

// walkInDocument fills the walk-in form from a travel document's machine
// readable zone: typed, pasted, or sent by a document reader that types
// like a keyboard. A serial document reader (drivers/mrz) hands its reads
// to the same parser. The whole number and the check digits are verified;
// the number is never logged.
func (s *Server) walkInDocument(c echo.Context) error {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(c.FormValue("mrz"), "\r", ""), "\n") {
		if l = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(l), " ", "")); l != "" {
			lines = append(lines, l)
		}
	}
	until := s.app.Clock.Now().In(s.app.Config.Location).Add(2 * time.Hour).Format("15:04")
	d := views.WalkInData{Form: views.WalkInForm{Until: until, Party: "1"}}
	if err := s.withReaders(&d); err != nil {
		return err
	}
	doc, err := mrz.Parse(lines...)
	var ce *mrz.CheckError
	if err != nil && !errors.As(err, &ce) {
		d.Errs = field.Errors{{Field: "mrz", Code: "invalid_mrz"}}
		return s.render(c, http.StatusUnprocessableEntity, views.WalkIn(d))
	}
	// As a reader's read: the fields filled, and the ones whose check
	// digits fail marked, named, for the desk to correct from the document.
	now := s.app.Clock.Now().In(s.app.Config.Location)
	fill := fillOf(langOf(c), device.Document{Given: doc.Secondary, Surname: doc.Primary, Number: doc.Number,
		Nationality: doc.Nationality, Birth: doc.Birth, Sex: doc.Sex, Expiry: doc.Expiry}, "", now)
	d.Form.Name, d.Form.IDNumber, d.Form.Nationality = fill.Fields["name"], fill.Fields["id_number"], fill.Fields["nationality"]
	d.Form.Birth, d.Form.Sex, d.Form.DocExpiry = fill.Fields["birth"], fill.Fields["sex"], fill.Fields["doc_expiry"]
	if ce != nil {
		d.Errs = field.Errors{{Field: "mrz", Code: "mrz_check_digit"}}
		seen := map[string]bool{}
		for _, f := range ce.Fields {
			if k, _ := docFormField(f.Key()); k != "" && !seen[k] {
				seen[k] = true
				d.Errs = append(d.Errs, field.Error{Field: k, Code: "check_digit"})
			}
		}
		return s.render(c, http.StatusUnprocessableEntity, views.WalkIn(d))
	}
	return s.render(c, http.StatusOK, views.WalkIn(d))
}

// enrolVisitFace enrols a walk-in's face on the face terminals for their
// visit's window, with the consent the desk recorded at consent. The
// picture is the walk-in photo, sealed again as the credential's own, so
// that the photo's retention and the face's consent stay apart.
func (s *Server) enrolVisitFace(c echo.Context, v visit.Visit, photo []byte, consent time.Time) error {
	sealed, err := s.app.Keys.Seal(string(photo))
	if err != nil {
		return err
	}
	from, until := v.Window()
	_, err = s.app.Access.EnrolFace(c.Request().Context(), actor(c), access.Credential{HolderKind: access.HolderVisitor, HolderID: v.ID,
		HolderName: v.Visitor.Name, NotBefore: from.UnixNano(), NotAfter: until.UnixNano()}, sealed, consent)
	if err != nil {
		return err
	}
	s.app.Devices.SyncFaces()
	return nil
}

// visitFaceWithdraw records that a visitor withdrew their consent to the
// use of their face: the picture goes, the credential is revoked, the
// terminals forget them.
func (s *Server) visitFaceWithdraw(c echo.Context) error {
	v, err := s.app.Visits.Get(c.Param("id"))
	if err != nil {
		return err
	}
	f, err := s.app.Access.FaceOf(v.ID)
	if errors.Is(err, access.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil {
		return err
	}
	if f.State == access.Active {
		if err := s.app.Access.WithdrawFace(c.Request().Context(), actor(c), f.ID); err != nil {
			return err
		}
		s.app.Devices.SyncFaces()
		s.log.Info("face consent withdrawn", "visit", v.ID, "by", actor(c))
	}
	s.flash(c, "flash.face_withdrawn")
	return s.redirect(c, "/desk/visits/"+v.ID)
}
