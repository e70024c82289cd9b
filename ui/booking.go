package ui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// The visitor's pages need no account: the booking page is public, and the
// status page is reached by an unguessable link. The booking page's host
// search shows at most a handful of names of one company, never the
// directory.

func (s *Server) bookPage(c echo.Context) error {
	return s.renderBook(c, http.StatusOK, views.BookData{Form: views.BookForm{Party: "1",
		Date: s.app.Clock.Now().In(s.app.Config.Location).Format("2006-01-02")}}, nil)
}

func (s *Server) renderBook(c echo.Context, status int, d views.BookData, errs field.Errors) error {
	cs, err := s.app.Directory.Companies(false)
	if err != nil {
		return err
	}
	d.Companies, d.Errs = cs, errs
	if d.Form.HostID != "" {
		if p, err := s.app.Directory.Person(d.Form.HostID); err == nil && p.CanHost && p.Active {
			d.HostName = s.personName(c, p)
		} else {
			d.Form.HostID = ""
		}
	}
	return s.render(c, status, views.Book(d))
}

// The booking page's host search shows a stranger as little of the
// directory as picking the right person needs: a search of at least
// minHostQuery characters within one company, at most maxHostChoices names,
// and a floor only where two of them share a name. It is rate-limited per
// client address (ratelimit.go).
const (
	maxHostChoices = 5
	minHostQuery   = 2
)

func (s *Server) bookHosts(c echo.Context) error {
	company := c.QueryParam("company_id")
	q := strings.TrimSpace(c.QueryParam("host_q"))
	if r := []rune(q); len(r) > 50 {
		q = string(r[:50])
	}
	// Signed-in staff (the conference form picks its organiser here) may
	// search by one character and see floors.
	staff := userOf(c) != nil
	minQ := minHostQuery
	if staff {
		minQ = 1
	}
	var out []views.HostChoice
	short := company != "" && q != "" && len([]rune(q)) < minQ
	searched := company != "" && !short && q != ""
	if searched {
		// Never by phone digits: a stranger's search must not tell whose
		// mobile ends in which 4 digits (appliance/directory/hosts.go).
		hs, err := s.app.Directory.Hosts(directory.HostQuery{CompanyID: company, Text: q, Limit: maxHostChoices}, false)
		if err != nil {
			return err
		}
		fo, err := s.floorNames()
		if err != nil {
			return err
		}
		names := map[string]int{}
		for _, h := range hs {
			out = append(out, views.HostChoice{ID: h.ID, Name: h.Name, EnglishName: h.EnglishName, Floor: fo[h.FloorID]})
			names[h.Name]++
		}
		for i := range out {
			if names[out[i].Name] < 2 && !staff {
				out[i].Floor = ""
			}
		}
	}
	// A late answer to an earlier keystroke must not undo the host picked.
	return s.render(c, http.StatusOK, views.HostChoices(out, searched, short, c.QueryParam("host_id")))
}

// parseWindow reads a date and two clock times in the building's zone.
func (s *Server) parseWindow(date, from, until string) (time.Time, time.Time, field.Errors) {
	var es field.Errors
	loc := s.app.Config.Location
	d, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(date), loc)
	if err != nil {
		es.Add("date", "invalid_date")
		return time.Time{}, time.Time{}, es
	}
	clock := func(name, v string) time.Time {
		t, err := time.Parse("15:04", strings.TrimSpace(v))
		if err != nil {
			es.Add(name, "invalid_time")
			return time.Time{}
		}
		return time.Date(d.Year(), d.Month(), d.Day(), t.Hour(), t.Minute(), 0, 0, loc)
	}
	return clock("from", from), clock("until", until), es
}

func (s *Server) book(c echo.Context) error {
	f := views.BookForm{Name: c.FormValue("name"), Title: c.FormValue("title"), Mobile: c.FormValue("mobile"),
		IDLast6: c.FormValue("id_last6"), Company: c.FormValue("company"), HostID: c.FormValue("host_id"),
		Reason: c.FormValue("reason"), Date: c.FormValue("date"), From: c.FormValue("from"), Until: c.FormValue("until"),
		Party: c.FormValue("party")}
	d := views.BookData{Form: f, Company: c.FormValue("company_id")}
	from, until, es := s.parseWindow(f.Date, f.From, f.Until)
	party := 1
	if strings.TrimSpace(f.Party) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(f.Party))
		if err != nil {
			es.Add("party_size", "not_a_number")
		}
		party = n
	}
	q := visit.Request{Name: f.Name, Title: f.Title, Mobile: f.Mobile,
		IDLast6: f.IDLast6, Company: f.Company, HostID: f.HostID, Reason: f.Reason, From: from, Until: until, PartySize: party,
		Lang: string(langOf(c))} // the visitor's messages in the language they booked in
	if len(es) > 0 {
		return s.renderBook(c, http.StatusUnprocessableEntity, d, s.allErrors(es, q, true))
	}
	if s.app.Visits.PhoneCheckNeeded() {
		ticket, err := s.app.Visits.StartBooking(c.Request().Context(), q)
		if fe, ok := field.As(err); ok {
			return s.renderBook(c, http.StatusUnprocessableEntity, d, fe)
		}
		if err != nil {
			return err
		}
		mobile, _ := s.app.Visits.PendingMobile(ticket)
		return s.render(c, http.StatusOK, views.BookCode(views.BookCodeData{Ticket: ticket, Mobile: mobile}))
	}
	_, link, err := s.app.Visits.Book(c.Request().Context(), q)
	return s.booked(c, link, err, func(fe field.Errors) error {
		return s.renderBook(c, http.StatusUnprocessableEntity, d, fe)
	})
}

// booked answers a booking: straight to its status page (which says to
// keep its link, and updates itself), the form again with its field
// errors, or the desk's number for a screened-out visitor.
func (s *Server) booked(c echo.Context, link string, err error, form func(field.Errors) error) error {
	if fe, ok := field.As(err); ok {
		return form(fe)
	}
	if errors.Is(err, visit.ErrBlocked) {
		// Say nothing of lists: only that the desk must handle it.
		return s.render(c, http.StatusForbidden, views.ErrorPage(http.StatusForbidden, langOf(c).T("book.blocked")))
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.booking_sent")
	return s.redirect(c, appliance.StatusPath+link)
}

// bookVerify takes the code sent to the visitor's phone and, if it is
// right, records the booking.
func (s *Server) bookVerify(c echo.Context) error {
	ticket, code := c.FormValue("ticket"), strings.TrimSpace(c.FormValue("code"))
	if len(ticket) > 64 || len(code) > 16 {
		return s.codePage(c, ticket, field.Errors{{Field: "code", Code: "code_wrong", Arg: "0"}}, false)
	}
	_, link, err := s.app.Visits.ConfirmBooking(c.Request().Context(), ticket, code)
	return s.booked(c, link, err, func(fe field.Errors) error { return s.codePage(c, ticket, fe, false) })
}

// bookResend sends a new code, at most once a minute.
func (s *Server) bookResend(c echo.Context) error {
	ticket := c.FormValue("ticket")
	if len(ticket) > 64 {
		ticket = ""
	}
	err := s.app.Visits.ResendCode(c.Request().Context(), ticket)
	if fe, ok := field.As(err); ok {
		return s.codePage(c, ticket, fe, false)
	}
	if err != nil {
		return err
	}
	return s.codePage(c, ticket, nil, true)
}

func (s *Server) codePage(c echo.Context, ticket string, es field.Errors, resent bool) error {
	mobile, ok := s.app.Visits.PendingMobile(ticket)
	d := views.BookCodeData{Ticket: ticket, Mobile: mobile, Errs: es, Resent: resent, Ended: !ok}
	if !ok && len(es) == 0 {
		d.Errs = field.Errors{{Field: "code", Code: "code_expired"}}
	}
	status := http.StatusOK
	if len(d.Errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	return s.render(c, status, views.BookCode(d))
}

func (s *Server) visitByLink(c echo.Context) (visit.Visit, error) {
	v, err := s.app.Visits.ByLink(c.Param("token"))
	if errors.Is(err, visit.ErrNotFound) {
		return v, echo.ErrNotFound
	}
	return v, err
}

// statusData is what the status page and its live card show of v.
func (s *Server) statusData(c echo.Context, v visit.Visit) (views.StatusData, error) {
	set := s.app.Settings()
	d := views.StatusData{Visit: v, Token: c.Param("token"), Address: set.Address, MapURL: set.MapURL, DeskPhone: set.DeskPhone,
		MapDirections: set.MapDirections}
	if set.MapImage != "" {
		d.MapImage = notice.ImagePath + set.MapImage
	}
	if p, err := s.app.Directory.Person(v.HostID); err == nil {
		d.HostName = s.personName(c, p)
	}
	if co, err := s.app.Directory.Company(v.CompanyID); err == nil {
		d.Company = co.Name
	}
	if f, err := s.app.Directory.Floor(v.FloorID); err == nil {
		d.Floor = f.Name
	}
	loc := s.app.Config.Location
	from, until := v.Window()
	d.From, d.Until = from.In(loc).Format("2006-01-02 15:04"), until.In(loc).Format("15:04")
	if v.State.PassValid() {
		tok, err := s.app.Visits.Token(v)
		if err != nil {
			return d, err
		}
		if d.QRSVG, err = pass.SVG(tok); err != nil {
			return d, err
		}
	}
	// The link is the key: never sent on as a referrer, never cached.
	c.Response().Header().Set("Referrer-Policy", "no-referrer")
	c.Response().Header().Set("Cache-Control", "no-store")
	return d, nil
}

func (s *Server) visitStatus(c echo.Context) error {
	v, err := s.visitByLink(c)
	if errors.Is(err, echo.ErrNotFound) {
		// Not a dead end: book again, or call the desk.
		c.Response().Header().Set("Referrer-Policy", "no-referrer")
		return s.render(c, http.StatusNotFound, views.StatusUnknown(s.app.Settings().DeskPhone))
	}
	if err != nil {
		return err
	}
	d, err := s.statusData(c, v)
	if err != nil {
		return err
	}
	d.Notices = s.visitorNotices()
	return s.render(c, http.StatusOK, views.Status(d))
}

// visitStatusLive is the status page's card alone, polled by the page
// while the visit can still change. A public route: the public rate limit
// and body limit apply (ratelimit.go, bodylimit.go).
func (s *Server) visitStatusLive(c echo.Context) error {
	v, err := s.visitByLink(c)
	if err != nil {
		return err
	}
	d, err := s.statusData(c, v)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.StatusCard(d))
}

// visitPassPNG is "save the pass as a picture": the pass as a guard reads
// it — building, visitor, host and company, floor, time window, address —
// around the QR, in the visitor's language (appliance/pass/card.go).
func (s *Server) visitPassPNG(c echo.Context) error {
	v, err := s.visitByLink(c)
	if err != nil {
		return err
	}
	if !v.State.PassValid() {
		return echo.ErrNotFound
	}
	d, err := s.statusData(c, v)
	if err != nil {
		return err
	}
	tok, err := s.app.Visits.Token(v)
	if err != nil {
		return err
	}
	l := langOf(c)
	host := d.HostName
	if d.Company != "" {
		host += " · " + d.Company
	}
	card := pass.Card{Building: s.app.Settings().SiteName, Name: strings.TrimSpace(v.Visitor.Name + " " + v.Visitor.Title),
		Lines:  []string{l.T("pass.card_host", host), l.T("pass.card_floor", d.Floor), l.T("pass.card_when", d.From+" – "+d.Until)},
		Footer: l.T("pass.card_show"), Token: tok}
	if d.Address != "" {
		card.Lines = append(card.Lines, l.T("pass.card_address", d.Address))
	}
	png, err := s.cardFonts().CardPNG(card)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="pass.png"`)
	return c.Blob(http.StatusOK, "image/png", png)
}

// cardFonts are the pass picture's fonts, read on first use: the pass
// sheet's fonts (Debian's fonts-dejavu-core and fonts-droid-fallback).
// Missing, the picture's text falls back to ASCII and the log says so once.
func (s *Server) cardFonts() *pass.Fonts {
	s.fontsOnce.Do(func() {
		var errs []error
		s.fonts, errs = pass.LoadFonts(visit.DefaultLatinFont, visit.DefaultFont)
		for _, err := range errs {
			s.log.Warn("pass picture: a font is missing; its characters are drawn as ?", "err", err)
		}
	})
	return s.fonts
}

// allErrors adds the request's own field problems to those found while
// reading the form (dates, times, numbers), so a page names every problem
// in one go rather than one round at a time.
func (s *Server) allErrors(es field.Errors, q visit.Request, requireID bool) field.Errors {
	now := s.app.Clock.Now()
	q.From, q.Until = now.Add(time.Hour), now.Add(2*time.Hour)
	for _, e := range visit.CheckRequest(&q, now, requireID) {
		if es.For(e.Field).Code == "" {
			es = append(es, e)
		}
	}
	return es
}
