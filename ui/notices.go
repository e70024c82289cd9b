package ui

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// boardSize is how many announcements a home or visit page shows.
const boardSize = 5

// noticesFor is what the signed-in user's home page shows.
func (s *Server) noticesFor(c echo.Context) []notice.Announcement {
	u := userOf(c)
	if u == nil {
		return nil
	}
	as, err := s.app.Notices.Visible(appliance.AudienceOf(u.Role), boardSize)
	if err != nil {
		s.log.Error("announcements", "err", err)
	}
	return as
}

// visitorNotices is what visitors see on their visit pages.
func (s *Server) visitorNotices() []notice.Announcement {
	as, err := s.app.Notices.Visible(notice.Visitors, boardSize)
	if err != nil {
		s.log.Error("announcements", "err", err)
	}
	return as
}

func (s *Server) noticeParam(c echo.Context) (notice.Announcement, error) {
	a, err := s.app.Notices.Get(c.Param("id"))
	if errors.Is(err, notice.ErrNotFound) {
		return a, echo.ErrNotFound
	}
	return a, err
}

// noticeList is the directors' list, searchable by title, audience and
// publication date.
func (s *Server) noticeList(c echo.Context) error {
	d := views.NoticeListData{Title: strings.TrimSpace(c.QueryParam("q")), Audience: c.QueryParam("audience"),
		From: c.QueryParam("from"), To: c.QueryParam("to")}
	q := notice.Query{Title: d.Title}
	if a := notice.Audience(d.Audience); a.Valid() {
		q.Audience = a
	}
	loc := s.app.Config.Location
	if t, err := time.ParseInLocation("2006-01-02", d.From, loc); err == nil {
		q.From = t
	}
	if t, err := time.ParseInLocation("2006-01-02", d.To, loc); err == nil {
		q.To = t.AddDate(0, 0, 1) // the whole last day
	}
	var err error
	if d.Notices, err = s.app.Notices.List(q); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.NoticeList(d))
}

func (s *Server) noticeNew(c echo.Context) error {
	return s.render(c, http.StatusOK, views.NoticeForm(views.NoticeFormData{New: true, Notice: notice.Announcement{Audience: notice.Everyone}}))
}

func (s *Server) noticeEdit(c echo.Context) error {
	a, err := s.noticeParam(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.NoticeForm(views.NoticeFormData{Notice: a}))
}

func (s *Server) noticeCreate(c echo.Context) error { return s.noticeSave(c, "", "") }

func (s *Server) noticeUpdate(c echo.Context) error {
	a, err := s.noticeParam(c)
	if err != nil {
		return err
	}
	return s.noticeSave(c, a.ID, a.State)
}

// noticeSave reads the form (with its cover picture, if one was chosen)
// and saves; "publish" in the action publishes too.
func (s *Server) noticeSave(c echo.Context, id string, state notice.State) error {
	a := notice.Announcement{ID: id, State: state, Title: c.FormValue("title"), Audience: notice.Audience(c.FormValue("audience")),
		Description: c.FormValue("description"), Content: c.FormValue("content"), CoverID: c.FormValue("cover_id")}
	if c.FormValue("cover_remove") == "1" {
		a.CoverID = ""
	}
	var es field.Errors
	if fh, err := c.FormFile("cover"); err == nil && fh.Size > 0 {
		b, err := readUpload(fh)
		var cover string
		if err == nil {
			cover, err = s.app.Notices.AddImage(c.Request().Context(), actor(c), b)
		}
		switch {
		case errors.Is(err, notice.ErrImage):
			es = append(es, pictureError("cover", err))
		case err != nil:
			return err
		default:
			a.CoverID = cover
		}
	}
	publish := c.FormValue("action") == "publish"
	var saved notice.Announcement
	var err error
	if len(es) > 0 {
		// A refused cover saves nothing (saved, the announcement would
		// lose its cover, and sending the form again would make another
		// draft); the form comes back with the other fields' errors too.
		es = append(es, notice.Check(&a)...)
	} else {
		saved, err = s.app.Notices.Save(c.Request().Context(), actor(c), a, publish)
	}
	if fe, ok := field.As(err); ok {
		es = append(es, fe...)
	} else if errors.Is(err, notice.ErrNotFound) {
		return echo.ErrNotFound
	} else if err != nil && len(es) == 0 {
		if errors.Is(err, field.ErrInvalid) { // a cover ID that names no picture
			es.Add("cover", "invalid")
		} else {
			return err
		}
	}
	if len(es) > 0 {
		if len(a.Content) > notice.MaxRawContent {
			a.Content = "" // refused unread (the error says so), not worth parsing to show again
		}
		a.Content = notice.Sanitize(a.Content)
		return s.render(c, http.StatusUnprocessableEntity, views.NoticeForm(views.NoticeFormData{New: id == "", Notice: a, Errs: es}))
	}
	switch {
	case notice.LongTitle(saved.Title):
		s.flash(c, "flash.notice_saved_long_title")
	case publish:
		s.flash(c, "flash.notice_published")
	default:
		s.flash(c, "flash.saved")
	}
	return s.redirect(c, "/notices")
}

// readUpload reads an uploaded file of at most notice.MaxUpload bytes.
func readUpload(fh *multipart.FileHeader) ([]byte, error) {
	if fh.Size > notice.MaxUpload {
		return nil, notice.ErrImage
	}
	f, err := fh.Open()
	if err != nil {
		return nil, notice.ErrImage
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, notice.MaxUpload+1))
	if err != nil || len(b) > notice.MaxUpload {
		return nil, notice.ErrImage
	}
	return b, nil
}

// pictureError says why a picture was refused: not a picture (or over
// notice.MaxUpload), or too large to decode.
func pictureError(name string, err error) field.Error {
	if errors.Is(err, notice.ErrImageTooLarge) {
		return field.Error{Field: name, Code: "picture_too_large", Arg: strconv.Itoa(notice.MaxPixels / 1_000_000)}
	}
	return field.Error{Field: name, Code: "invalid_picture", Arg: strconv.Itoa(notice.MaxUpload>>20) + " MB"}
}

// noticeChange publishes, unpublishes, pins, unpins or deletes.
func (s *Server) noticeChange(cmd, flash string) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := s.app.Notices.Change(c.Request().Context(), actor(c), cmd, c.Param("id"))
		switch {
		case errors.Is(err, notice.ErrNotFound):
			return echo.ErrNotFound
		case errors.Is(err, notice.ErrState):
			s.flash(c, "flash.notice_state")
		case err != nil:
			return err
		default:
			s.flash(c, flash)
		}
		return s.redirect(c, "/notices")
	}
}

// noticeImageUpload takes a picture from the editor and answers its URL
// as JSON, for the editor to insert.
func (s *Server) noticeImageUpload(c echo.Context) error {
	bad := func(err error) error {
		return c.JSON(http.StatusUnprocessableEntity, map[string]string{"error": langOf(c).Field(pictureError("image", err))})
	}
	fh, err := c.FormFile("image")
	if err != nil || fh.Size == 0 {
		return bad(notice.ErrImage)
	}
	b, err := readUpload(fh)
	if err != nil {
		return bad(err)
	}
	id, err := s.app.Notices.AddImage(c.Request().Context(), actor(c), b)
	if errors.Is(err, notice.ErrImage) {
		return bad(err)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"url": notice.ImagePath + id})
}

// noticeImage serves a picture. Pictures are public, like the visit pages
// that show them; their IDs cannot be guessed.
func (s *Server) noticeImage(c echo.Context) error {
	b, err := s.app.Notices.Image(c.Param("id"))
	if errors.Is(err, notice.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable") // a picture never changes
	return c.Blob(http.StatusOK, "image/jpeg", b)
}

const historyRows = 50

// messagesRender fills in the page's lists around the form.
func (s *Server) messagesRender(c echo.Context, status int, d views.MessagesData) error {
	var err error
	if d.Used, d.Allowed, err = s.app.Notices.Allowance(); err != nil {
		return err
	}
	if d.History, err = s.app.Notices.History(historyRows); err != nil {
		return err
	}
	if d.Announcements, err = s.app.Notices.List(notice.Query{}); err != nil {
		return err
	}
	// The person chosen stays chosen; the choices the form was refused
	// with (several people of the name typed) stay offered.
	if o, ok := s.recipientOption(langOf(c), d.Form.To); ok && !slices.Contains(d.Choices, o) {
		d.Choices = append([]views.Option{o}, d.Choices...)
	}
	return s.render(c, status, views.Messages(d))
}

// maxRecipientChoices is how many people the recipient search offers.
const maxRecipientChoices = 20

// recipientOption is the choice for a form value "account:ID" or
// "visit:ID" (an active account, a visitor of today).
func (s *Server) recipientOption(l i18n.Lang, target string) (views.Option, bool) {
	switch kind, id, _ := strings.Cut(target, ":"); kind {
	case "account":
		if a, err := s.app.Auth.Account(id); err == nil && !a.Disabled {
			return accountOption(l, a), true
		}
	case "visit":
		if v, err := s.app.Visits.Get(id); err == nil {
			return visitOption(l, v), true
		}
	}
	return views.Option{}, false
}

func accountOption(l i18n.Lang, a auth.Account) views.Option {
	return views.Option{Value: "account:" + a.ID, Label: a.Name + " (" + a.Username + ") · " + l.T("role."+string(a.Role))}
}

func visitOption(l i18n.Lang, v visit.Visit) views.Option {
	return views.Option{Value: "visit:" + v.ID, Label: v.Visitor.Name + " " + v.Visitor.MobileMasked + " · " + l.T("message.visitor_today")}
}

// findRecipients searches active accounts (name or username) and today's
// visitors (name) for q, any case: at most limit matches (more says there
// were others), and everyone whose username or name is q exactly.
func (s *Server) findRecipients(l i18n.Lang, q string, limit int) (matches, exact []views.Option, more bool, err error) {
	q = strings.ToLower(strings.TrimSpace(q))
	if r := []rune(q); len(r) > 50 {
		q = string(r[:50])
	}
	if q == "" {
		return nil, nil, false, nil
	}
	add := func(o views.Option, names ...string) {
		hit, same := false, false
		for _, n := range names {
			n = strings.ToLower(n)
			hit = hit || strings.Contains(n, q)
			same = same || n == q
		}
		if same {
			exact = append(exact, o)
		}
		if hit && len(matches) < limit {
			matches = append(matches, o)
		} else if hit {
			more = true
		}
	}
	as, err := s.app.Auth.Accounts()
	if err != nil {
		return nil, nil, false, err
	}
	for _, a := range as {
		if !a.Disabled {
			add(accountOption(l, a), a.Name, a.Username)
		}
	}
	vs, err := s.app.TodaysVisitors()
	if err != nil {
		return nil, nil, false, err
	}
	for _, v := range vs {
		add(visitOption(l, v), v.Visitor.Name)
	}
	return matches, exact, more, nil
}

// messageRecipients answers the recipient search as the form's choices.
func (s *Server) messageRecipients(c echo.Context) error {
	l := langOf(c)
	q := c.QueryParam("to_q")
	matches, _, more, err := s.findRecipients(l, q, maxRecipientChoices)
	if err != nil {
		return err
	}
	// A late answer to an earlier keystroke must not undo the person
	// picked: the choice stays, first.
	picked := c.QueryParam("to")
	if o, ok := s.recipientOption(l, picked); ok && !slices.Contains(matches, o) {
		matches = append([]views.Option{o}, matches...)
	}
	return s.render(c, http.StatusOK, views.MessageChoices(matches, strings.TrimSpace(q) != "", more, picked))
}

func (s *Server) messagesPage(c echo.Context) error {
	d := views.MessagesData{Form: views.MessageForm{Kind: "normal", Announcement: c.QueryParam("announcement")}}
	if d.Form.Announcement != "" {
		d.Form.Source = "announcement"
	}
	return s.messagesRender(c, http.StatusOK, d)
}

// recipient resolves the form's person: an account, or a visitor of today
// (by their mobile), and optionally an email address.
func (s *Server) recipient(target, email string) (notify.Recipient, string, field.Errors) {
	var r notify.Recipient
	var labels []string
	var es field.Errors
	switch kind, id, _ := strings.Cut(target, ":"); kind {
	case "":
	case "account":
		a, err := s.app.Auth.Account(id)
		if err != nil || a.Disabled {
			es.Add("to", "invalid")
			break
		}
		r.AccountID = a.ID
		labels = append(labels, a.Name+" ("+a.Username+")")
	case "visit":
		v, err := s.app.Visits.Get(id)
		if err != nil {
			es.Add("to", "invalid")
			break
		}
		if r.Phone, err = s.app.Visits.Mobile(v); err != nil {
			es.Add("to", "invalid")
			break
		}
		labels = append(labels, v.Visitor.Name+" "+v.Visitor.MobileMasked)
	default:
		es.Add("to", "invalid")
	}
	if email = strings.TrimSpace(email); email != "" {
		// The outbox's own check: what passes here it queues.
		if !notify.PlainAddress(email) || len(email) > 254 {
			es.Add("email", "invalid_email")
		} else {
			r.Email = email
			labels = append(labels, notify.MaskEmail(email))
		}
	}
	if r == (notify.Recipient{}) && len(es) == 0 {
		es.Add("to", "required")
	}
	return r, strings.Join(labels, ", "), es
}

func (s *Server) messageSend(c echo.Context) error {
	f := views.MessageForm{Kind: c.FormValue("kind"), To: c.FormValue("to"), Email: c.FormValue("email"),
		Audience: c.FormValue("audience"), Source: c.FormValue("source"), Announcement: c.FormValue("announcement"), Text: c.FormValue("text")}
	f.ToQ = c.FormValue("to_q")
	in := notice.Send{Urgent: f.Kind == "urgent", Audience: notice.Audience(f.Audience)}
	var es field.Errors
	var choices []views.Option
	if !in.Urgent {
		f.Kind = "normal"
		if f.To == "" && strings.TrimSpace(f.ToQ) != "" {
			// Typed, not picked (no scripts, or no choice made): a
			// username or a name, if it names one person.
			var fe field.Errors
			var err error
			if f.To, choices, fe, err = s.typedRecipient(langOf(c), f.ToQ); err != nil {
				return err
			}
			es = append(es, fe...)
		}
		r, label, fe := s.recipient(f.To, f.Email)
		if len(es) > 0 {
			fe = slices.DeleteFunc(fe, func(e field.Error) bool { return e.Field == "to" })
		}
		es = append(es, fe...)
		if len(fe) == 0 {
			in.To, in.ToLabel = []notify.Recipient{r}, label
		}
	}
	if f.Source == "announcement" {
		if f.Announcement == "" {
			es.Add("announcement", "required")
		}
		in.Announcement = f.Announcement
	} else {
		f.Source = "text"
		in.Text = f.Text
	}
	var err error
	if len(es) == 0 {
		_, err = s.app.Notices.Send(c.Request().Context(), actor(c), in)
	} else if !in.Urgent && in.To == nil {
		// Check the rest of the form too, so every problem shows at once.
		in.To = []notify.Recipient{{AccountID: "0000000000000000"}}
		if fe := s.app.Notices.CheckSend(in); len(fe) > 0 {
			es = append(es, fe...)
		}
	}
	if fe, ok := field.As(err); ok {
		es = append(es, fe...)
	} else if errors.Is(err, notice.ErrCapReached) {
		_, allowed, _ := s.app.Notices.Allowance()
		es = append(es, field.Error{Field: "kind", Code: "broadcast_cap", Arg: strconv.Itoa(allowed)})
	} else if errors.Is(err, notice.ErrNoRecipient) {
		where := "to"
		if in.Urgent {
			where = "audience"
		}
		es.Add(where, "no_recipient")
	} else if err != nil {
		return err
	}
	if len(es) > 0 {
		return s.messagesRender(c, http.StatusUnprocessableEntity, views.MessagesData{Form: f, Errs: es, Choices: choices})
	}
	s.flash(c, "flash.message_sent")
	return s.redirect(c, "/messages")
}

// typedRecipient resolves what was typed in the recipient field: an
// active account's username, or the name of exactly one account or
// visitor of today. Otherwise a field error, and the people it matches
// to pick from.
func (s *Server) typedRecipient(l i18n.Lang, typed string) (string, []views.Option, field.Errors, error) {
	var es field.Errors
	// No username is long; a long text is only searched (cut) below.
	if u := strings.TrimSpace(typed); len(u) <= 200 {
		if a, err := s.app.Auth.AccountByUsername(u); err == nil && !a.Disabled {
			return "account:" + a.ID, nil, nil, nil
		}
	}
	matches, exact, _, err := s.findRecipients(l, typed, maxRecipientChoices)
	switch {
	case err != nil:
		return "", nil, nil, err
	case len(exact) == 1:
		return exact[0].Value, nil, nil, nil
	case len(exact) > 1:
		es.Add("to", "recipient_ambiguous")
		return "", exact[:min(len(exact), maxRecipientChoices)], es, nil
	case len(matches) > 0:
		es.Add("to", "recipient_pick")
	default:
		es.Add("to", "recipient_not_found")
	}
	return "", matches, es, nil
}

func (s *Server) messageDelete(c echo.Context) error {
	err := s.app.Notices.Hide(c.Request().Context(), actor(c), c.Param("id"))
	if errors.Is(err, notice.ErrNotFound) {
		return echo.ErrNotFound
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.message_deleted")
	return s.redirect(c, "/messages")
}
