package ui

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/visit"
	"gatehouse/drivers/modem"
	"gatehouse/drivers/sim"
)

// testBase is the public address the SMS tests set as the site's base URL.
const testBase = "https://lobby.example.com"

var smsLink = regexp.MustCompile(`(https?://|/)[^\s，。]*`)

// waitSMS waits for the first text message to number.
func waitSMS(t *testing.T, dev *sim.Modem, number string) sim.SMS {
	t.Helper()
	return waitNthSMS(t, dev, number, 0)
}

// waitNthSMS waits for the text message to number after the first n.
func waitNthSMS(t *testing.T, dev *sim.Modem, number string, n int) sim.SMS {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		i := 0
		for _, m := range dev.Messages() {
			if strings.HasSuffix(m.Number, number) {
				if i == n {
					return m
				}
				i++
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no SMS reached %s; the modem has %d messages", number, len(dev.Messages()))
	return sim.SMS{}
}

// checkSMS checks that a text message is in lang alone and that every link
// in it is absolute under the base URL; it returns the link.
func checkSMS(t *testing.T, m sim.SMS, lang string) string {
	t.Helper()
	han := strings.ContainsFunc(m.Text, func(r rune) bool { return unicode.Is(unicode.Han, r) })
	nameless := m.Text
	for _, n := range []string{"王芳", "Maria Garcia", "Meeting"} {
		nameless = strings.ReplaceAll(nameless, n, "")
	}
	words := regexp.MustCompile(`\b(visit|pass|your|code|Visit|Your)\b`).MatchString(smsLink.ReplaceAllString(nameless, ""))
	if lang == "zh" && (!han || words) || lang == "en" && (strings.ContainsFunc(nameless, func(r rune) bool { return unicode.Is(unicode.Han, r) }) || !words) {
		t.Errorf("SMS %q is not in %s alone", m.Text, lang)
	}
	var link string
	for _, l := range smsLink.FindAllString(m.Text, -1) {
		if !strings.HasPrefix(l, testBase+"/") {
			t.Errorf("SMS %q carries link %q, want it under %s", m.Text, l, testBase)
		}
		link = l
	}
	return link
}

// TestSMSWording sends every kind of text message a visitor gets, in each
// language, through the simulated modem, and checks that it is in the
// visitor's language alone, that its link is absolute under the site's
// base URL, and how many parts it takes (BENCHMARKS.md records these; the
// bilingual messages before took 4, 3 and 2 parts).
func TestSMSWording(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.app.SaveSettings(ctx, "test", map[string]string{"base_url": testBase + "/"}); err != nil {
		t.Fatal(err)
	}
	dev := smsModemBase(t, h, "") // the outbox alone makes the links absolute
	names := map[string]string{"zh": "王芳", "en": "Maria Garcia"}
	reasons := map[string]string{"zh": "时间冲突", "en": "Schedule conflict"}
	now := h.clock.Now()
	req := func(lang, mobile string) visit.Request {
		return visit.Request{Name: names[lang], Mobile: mobile, IDLast6: "123456", HostID: h.ids["{person}"], Reason: "Meeting",
			From: now.Add(time.Hour), Until: now.Add(3 * time.Hour), Lang: lang}
	}
	approve := func(mobile string, q visit.Request) {
		v, _, err := h.app.Visits.Book(ctx, q)
		if err == nil {
			_, err = h.app.Visits.Decide(ctx, "test", v.ID, "", true, "")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	reject := func(mobile string, q visit.Request) {
		v, _, err := h.app.Visits.Book(ctx, q)
		if err == nil {
			_, err = h.app.Visits.Decide(ctx, "test", v.ID, "", false, reasons[q.Lang])
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	walkIn := func(mobile string, q visit.Request) {
		q.IDLast6 = ""
		if _, _, err := h.app.Visits.WalkIn(ctx, "test", q); err != nil {
			t.Fatal(err)
		}
	}
	code := func(mobile string, q visit.Request) {
		if _, err := h.app.Visits.StartBooking(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	type smsCase struct {
		kind, lang string
		parts      int // want
		link       bool
		send       func(mobile string, q visit.Request)
	}
	cases := []smsCase{
		{"approved", "zh", 2, true, approve}, {"approved", "en", 1, true, approve},
		{"rejected", "zh", 2, true, reject}, {"rejected", "en", 1, true, reject},
		{"walkin", "zh", 2, true, walkIn}, {"walkin", "en", 1, true, walkIn},
		{"code", "zh", 1, false, code}, {"code", "en", 1, false, code},
	}
	// The host's: in the site's language, to a host who chose SMS (one
	// of their own, whose requests the per-minute digest does not hold).
	const hostMobile = "13800138009"
	smsHost, err := h.app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: "李雷", Mobile: hostMobile, CompanyID: h.ids["{company}"], FloorID: h.ids["{floor}"],
		EmployeeNo: "S9", CanHost: true, Notify: directory.NotifySMS})
	if err != nil {
		t.Fatal(err)
	}
	hostCase := func(kind, lang string, parts int) smsCase {
		return smsCase{kind, lang, parts, true, func(mobile string, q visit.Request) {
			if _, err := h.app.SaveSettings(ctx, "test", map[string]string{"language": lang}); err != nil {
				t.Fatal(err)
			}
			h.clock.Advance(time.Minute)        // past the host's per-minute request digest
			q.Lang, q.HostID = "zh", smsHost.ID // the visitor's language is not the host's
			q.From, q.Until = h.clock.Now().Add(time.Hour), h.clock.Now().Add(3*time.Hour)
			var err error
			if kind == "arrived" {
				var v visit.Visit
				if v, _, err = h.app.Visits.Invite(ctx, "test", q); err == nil {
					err = h.app.Visits.Move(ctx, "device:lane-1", v.ID, visit.EvEnter, "")
				}
			} else {
				_, _, err = h.app.Visits.Book(ctx, q)
			}
			if err != nil {
				t.Fatal(err)
			}
		}}
	}
	cases = append(cases, hostCase("requested", "zh", 2), hostCase("requested", "en", 1),
		hostCase("arrived", "zh", 1), hostCase("arrived", "en", 1))
	for i, c := range cases {
		t.Run(c.kind+"/"+c.lang, func(t *testing.T) {
			mobile := fmt.Sprintf("139%08d", 100+i)
			before := 0
			for _, m := range dev.Messages() {
				if strings.HasSuffix(m.Number, hostMobile) {
					before++
				}
			}
			c.send(mobile, req(c.lang, mobile))
			var m sim.SMS
			if c.kind == "requested" || c.kind == "arrived" {
				m = waitNthSMS(t, dev, hostMobile, before)
			} else {
				m = waitSMS(t, dev, mobile)
			}
			link := checkSMS(t, m, c.lang)
			if c.link && link == "" {
				t.Errorf("SMS %q has no link", m.Text)
			}
			_, parts := modem.Split(m.Text)
			if m.Parts != c.parts || len(parts) != c.parts {
				t.Errorf("SMS %q takes %d parts (%d counted), want %d", m.Text, m.Parts, len(parts), c.parts)
			}
			t.Logf("%s %s: %d part(s), %d characters: %q", c.kind, c.lang, m.Parts, len([]rune(m.Text)), m.Text)
		})
	}
}
