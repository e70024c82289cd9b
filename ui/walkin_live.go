package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/device"
	"gatehouse/drivers/mrz"
	"gatehouse/ui/i18n"
)

// deskReaders are the document readers (passport and ID card readers) of
// this appliance's lobby: the walk-in form open on its desk listens to
// them. A lobby with two desks and a reader each would pick per desk; one
// desk a lobby is what the buildings have (docs/decisions.md).
func (s *Server) deskReaders() (ids []string, names map[string]string, err error) {
	ds, err := s.app.Devices.Here().Devices()
	if err != nil {
		return nil, nil, err
	}
	names = map[string]string{}
	for _, d := range ds {
		if d.Role == device.DocumentReader && d.Enabled {
			ids = append(ids, d.ID)
			names[d.ID] = d.Name
		}
	}
	return ids, names, nil
}

// docFill is what a document read puts into the walk-in form: the values
// by the form's field names, and the problems by field, in the desk's
// language.
type docFill struct {
	Seq      uint64            `json:"seq"`
	Fields   map[string]string `json:"fields"`
	Bad      map[string]string `json:"bad,omitempty"` // field → message
	Status   string            `json:"status"`
	Warning  string            `json:"warning,omitempty"` // expired, or nothing usable read
	Chip     string            `json:"chip,omitempty"`    // an ID card's chip serial: binds the card to the visit
	ReadAtMS int64             `json:"read_at_ms"`        // when the reader read it (benchmarks)
}

// fillOf turns a document read into the form's values.
func fillOf(l i18n.Lang, doc device.Document, reader string, now time.Time) docFill {
	f := docFill{Seq: doc.Seq, Fields: map[string]string{}, Chip: doc.Chip, ReadAtMS: doc.At.UnixMilli()}
	f.Status = l.T("walkin.doc_read", reader, doc.At.In(now.Location()).Format("15:04:05"))
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			f.Fields[k] = v
		}
	}
	if c := doc.Card; c != nil {
		name := c.Name
		if name == "" {
			name = c.NameEN
		}
		set("name", name)
		set("id_number", c.Number)
		nat := c.Nationality
		if c.Kind != "foreigner" {
			nat = "CHN"
		}
		set("nationality", nat)
		set("birth", c.Birth)
		set("sex", map[string]string{"1": "M", "2": "F", "9": "X"}[c.Sex])
		set("doc_expiry", c.ValidTo)
	} else if !doc.Failed {
		set("name", strings.Join(strings.Fields(doc.Given+" "+doc.Surname), " "))
		set("id_number", doc.Number)
		set("nationality", doc.Nationality)
		set("birth", mrzDate(doc.Birth, now, true))
		set("sex", map[string]string{"M": "M", "F": "F", "X": "X", "<": "X"}[doc.Sex])
		set("doc_expiry", mrzDate(doc.Expiry, now, false))
	}
	var warn []string
	if len(doc.BadFields) > 0 {
		f.Bad = map[string]string{}
		for _, b := range doc.BadFields {
			k, name := docFormField(b)
			msg := l.T("walkin.doc_bad", l.T("walkin.docfield."+name))
			switch {
			case k == "":
				warn = append(warn, msg)
			case f.Bad[k] == "":
				f.Bad[k] = msg
			}
		}
	}
	switch {
	case doc.Failed:
		warn = append(warn, l.T("walkin.doc_failed"))
	case doc.Expired:
		warn = append(warn, l.T("walkin.doc_expired"))
	}
	f.Warning = strings.Join(warn, " ")
	return f
}

// docFormField is the form field a document's failed check belongs to, and
// the check's name in the catalogue.
func docFormField(bad string) (string, string) {
	switch bad {
	case "number", "personal":
		return "id_number", bad
	case "birth":
		return "birth", bad
	case "expiry", "valid_from":
		return "doc_expiry", bad
	case "name":
		return "name", bad
	case "sex":
		return "sex", bad
	}
	return "", "composite" // the check over several fields, or the card's text: no one field
}

// mrzDate turns an MRZ's YYMMDD into YYYY-MM-DD: a birth date is in the
// past (its century is the one that makes it so), an expiry in this
// century. "" when it is not a date.
func mrzDate(yymmdd string, now time.Time, birth bool) string {
	t, ok := mrz.Date(yymmdd, now, birth)
	if !ok {
		return ""
	}
	return t.Format(time.DateOnly)
}

// walkInReads streams the documents read at this lobby's readers to the
// open walk-in form as server-sent events ("document", JSON docFill, its
// id the read's number so that a reconnect resumes after it). The form
// fills its fields live (ui/static/walkin.js); the guard reads, corrects
// and registers.
func (s *Server) walkInReads(c echo.Context) error {
	after, _ := strconv.ParseUint(c.QueryParam("after"), 10, 64)
	if last, err := strconv.ParseUint(c.Request().Header.Get("Last-Event-ID"), 10, 64); err == nil && last > after {
		after = last
	}
	ids, names, err := s.deskReaders()
	if err != nil {
		return err
	}
	w := c.Response()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	_ = http.NewResponseController(w.Writer).SetWriteDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	w.Flush()
	if len(ids) == 0 {
		// No reader here: tell the page, which then stops listening.
		_, _ = w.Write([]byte("event: none\ndata: {}\n\n"))
		w.Flush()
		return nil
	}
	ctx := c.Request().Context()
	l := langOf(c)
	live := s.app.Devices.Live()
	for {
		wctx, cancel := context.WithTimeout(ctx, 25*time.Second)
		doc, err := live.WaitDocument(wctx, ids, after)
		cancel()
		switch {
		case ctx.Err() != nil || s.ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded): // the wait's own timeout: keep the connection alive
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return nil
			}
			w.Flush()
			continue
		case err != nil:
			return nil // the runtime stopped: the page reconnects
		}
		after = doc.Seq
		b, err := json.Marshal(fillOf(l, doc, names[doc.Device], s.app.Clock.Now().In(s.app.Config.Location)))
		if err != nil {
			return nil
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: document\ndata: %s\n\n", doc.Seq, b); err != nil {
			return nil
		}
		w.Flush()
	}
}
