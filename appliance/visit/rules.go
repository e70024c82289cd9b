package visit

import (
	"regexp"
	"strings"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Limits.
const (
	MaxName      = 64
	MaxReason    = 200
	MaxMessage   = 500
	MaxParty     = 50
	MaxWindow    = 24 * time.Hour      // one visit covers at most a day
	MaxAhead     = 90 * 24 * time.Hour // bookings at most three months ahead
	LinkTokenLen = 43                  // base64url of 32 random bytes
)

var (
	mobileRE = regexp.MustCompile(`^(1[3-9][0-9]{9}|\+[1-9][0-9]{6,14})$`)
	idLastRE = regexp.MustCompile(`^[0-9]{5}[0-9X]$`)
	docNoRE  = regexp.MustCompile(`^[0-9A-Z]{6,20}$`) // ID card (18), passport, permits
	titles   = map[string]bool{"": true, "先生": true, "女士": true, "Mr": true, "Ms": true, "Mrs": true, "Dr": true}
)

// Request is what a visitor (or a host, or reception) fills in, in clear.
type Request struct {
	Name      string
	Title     string
	Mobile    string
	IDLast6   string // self-service pages ask only the last 6 digits
	IDNumber  string // the whole document number, typed or read at the desk
	Badge     string // temporary badge handed out at registration (desk)
	Company   string // visitor's own company, optional
	HostID    string
	Reason    string
	Message   string
	From      time.Time
	Until     time.Time
	PartySize int
	Lang      string // the visitor's language, "zh" or "en"; anything else: the site's default
	// PhoneVerified: the visitor proved they hold Mobile (a code sent to
	// it was typed back); set only by ConfirmBooking.
	PhoneVerified bool
	// MobileOptional: a walk-in without a phone, whose own ID card is
	// bound to the visit at the desk (access.BindVisitCard).
	MobileOptional bool
	// Doc is what the desk read (or typed) from the identity document
	// beside its number; all optional, sealed with the visit.
	Doc DocDetails
}

// DocDetails are an identity document's other fields, as the desk's walk-in
// form has them: dates YYYY-MM-DD, sex M, F or X, nationality as printed
// (an ISO 3166 code from a machine-readable zone, or a country's name).
type DocDetails struct {
	Nationality string `json:"nationality,omitempty"`
	Birth       string `json:"birth,omitempty"`
	Sex         string `json:"sex,omitempty"`
	Expiry      string `json:"expiry,omitempty"`
}

// IsZero reports whether nothing was given.
func (d DocDetails) IsZero() bool { return d == DocDetails{} }

// checkDoc validates d's fields; a birth date after now (or before 1900)
// is wrong, an expiry in the past is allowed (the desk was warned).
func checkDoc(es *field.Errors, d *DocDetails, now time.Time) {
	d.Nationality = es.Text("nationality", strings.ToUpper(d.Nationality), false, 40)
	d.Sex = strings.ToUpper(strings.TrimSpace(d.Sex))
	if d.Sex != "" && d.Sex != "M" && d.Sex != "F" && d.Sex != "X" {
		es.Add("sex", "invalid")
	}
	d.Birth = strings.TrimSpace(d.Birth)
	if d.Birth != "" {
		if t, err := time.Parse(time.DateOnly, d.Birth); err != nil || t.After(now) || t.Year() < 1900 {
			es.Add("birth", "invalid_date")
		}
	}
	d.Expiry = strings.TrimSpace(d.Expiry)
	if d.Expiry != "" {
		if _, err := time.Parse(time.DateOnly, d.Expiry); err != nil {
			es.Add("doc_expiry", "invalid_date")
		}
	}
}

// NormalizeMobile strips the spaces and dashes people type.
func NormalizeMobile(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '(' || r == ')' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// CheckRequest validates a request's own fields; now bounds the window.
// requireID is set where the building asks for ID digits (booking page).
func CheckRequest(q *Request, now time.Time, requireID bool) field.Errors {
	var es field.Errors
	if q.Lang != "zh" && q.Lang != "en" {
		q.Lang = ""
	}
	q.Name = es.Text("name", q.Name, true, MaxName)
	if !titles[q.Title] {
		es.Add("title", "invalid")
	}
	q.Mobile = NormalizeMobile(q.Mobile)
	switch {
	case q.Mobile == "" && q.MobileOptional:
	case q.Mobile == "":
		es.Add("mobile", "required")
	case !mobileRE.MatchString(q.Mobile):
		es.Add("mobile", "invalid_mobile")
	}
	q.IDLast6 = strings.ToUpper(strings.TrimSpace(q.IDLast6))
	switch {
	case q.IDLast6 == "" && requireID:
		es.Add("id_last6", "required")
	case q.IDLast6 != "" && !idLastRE.MatchString(q.IDLast6):
		es.Add("id_last6", "invalid_id_last6")
	}
	q.IDNumber = strings.ToUpper(strings.TrimSpace(q.IDNumber))
	if q.IDNumber != "" {
		if !docNoRE.MatchString(q.IDNumber) {
			es.Add("id_number", "invalid_id_no")
		} else if q.IDLast6 == "" {
			q.IDLast6 = q.IDNumber[len(q.IDNumber)-6:]
		}
	}
	checkDoc(&es, &q.Doc, now)
	q.Badge = es.Text("badge", q.Badge, false, 32)
	q.Company = es.Text("company", q.Company, false, 100)
	q.Reason = es.Text("reason", q.Reason, true, MaxReason)
	q.Message = es.Text("message", q.Message, false, MaxMessage)
	if !store.ValidID(q.HostID) {
		es.Add("host_id", "required")
	}
	if q.PartySize == 0 {
		q.PartySize = 1
	}
	if q.PartySize < 1 || q.PartySize > MaxParty {
		es.AddArg("party_size", "out_of_range", "1–50")
	}
	switch {
	case q.From.IsZero():
		es.Add("from", "required")
	case q.Until.IsZero():
		es.Add("until", "required")
	case !q.Until.After(q.From):
		es.Add("until", "window_inverted")
	case q.Until.Sub(q.From) > MaxWindow:
		es.Add("until", "window_too_long")
	case !q.Until.After(now):
		es.Add("from", "window_past")
	case q.From.Sub(now) > MaxAhead:
		es.Add("from", "window_too_far")
	}
	return es
}

// MaskMobile shows the first three and last four digits.
func MaskMobile(m string) string {
	if len(m) < 8 {
		return strings.Repeat("*", len(m))
	}
	return m[:3] + strings.Repeat("*", len(m)-7) + m[len(m)-4:]
}
