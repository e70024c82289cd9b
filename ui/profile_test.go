package ui

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
)

// TestHostNotifyPreference: a host sets their email address and chooses
// how they hear of their visitors on their profile; a request then reaches
// them by email (a real SMTP exchange) and not by SMS, and after they
// choose SMS, by SMS and not by email, each with an absolute link to the
// request. A bad address is a field error; no CSRF token, no change.
func TestHostNotifyPreference(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.app.SaveSettings(ctx, "test", map[string]string{"base_url": testBase}); err != nil {
		t.Fatal(err)
	}
	box := startTestMailbox(t)
	host, port, _ := net.SplitHostPort(box.addr)
	p, _ := strconv.Atoi(port)
	if err := h.app.Notify.SaveSettings(ctx, "test", notify.Settings{SMTP: notify.SMTP{Host: host, Port: p, From: "desk@lobby.example.com"}}); err != nil {
		t.Fatal(err)
	}
	dev := smsModemBase(t, h, "")
	const hostMobile = "13800138000"
	s := h.session(auth.Host)
	save := func(email, pref, csrf string) *http.Response {
		return h.do(req{method: "POST", path: "/account/notify", session: s, csrf: csrf, form: url.Values{"email": {email}, "notify": {pref}}})
	}
	if r := save("wang@example.com", "email", "-"); r.StatusCode != http.StatusForbidden {
		t.Errorf("without CSRF = %d, want 403", r.StatusCode)
	}
	for _, bad := range []struct{ email, pref string }{{"not an address", "email"}, {"", "email"}, {"a@b.example", "fax"}} {
		r := save(bad.email, bad.pref, "")
		if body := readBody(t, r); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `class="error"`) {
			t.Errorf("email %q, preference %q = %d, want a field error", bad.email, bad.pref, r.StatusCode)
		}
	}
	if r := save("wang@example.com", "email", ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", r.StatusCode)
	}
	person, err := h.app.Directory.Person(h.ids["{person}"])
	if err != nil || person.EmailSealed == "" || strings.Contains(person.EmailSealed, "wang@") || person.Notify != "email" {
		t.Fatalf("person after saving: sealed %q, notify %q (%v)", person.EmailSealed, person.Notify, err)
	}
	if page := readBody(t, h.do(req{method: "GET", path: "/directory/people/{person}/edit", session: h.session(auth.Manager)})); !strings.Contains(page, `value="wang@example.com"`) {
		t.Error("the person's page does not show the email address")
	}

	book := func(mobile string) visit.Visit {
		h.clock.Advance(time.Minute) // past the host's per-minute digest
		now := h.clock.Now()
		v, _, err := h.app.Visits.Book(ctx, visit.Request{Name: "Maria Garcia", Mobile: mobile, IDLast6: "123456",
			HostID: h.ids["{person}"], Reason: "Interview", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour), Lang: "en"})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	hostSMS := func() int {
		n := 0
		for _, m := range dev.Messages() {
			if strings.HasSuffix(m.Number, hostMobile) {
				n++
			}
		}
		return n
	}
	v := book("13700137002")
	var mail []testMail
	for deadline := time.Now().Add(10 * time.Second); len(mail) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mail = box.received()
	}
	if len(mail) != 1 || mail[0].to != "wang@example.com" {
		t.Fatalf("mail received: %+v", mail)
	}
	subject, body := mailText(t, mail[0].data)
	if !strings.Contains(subject, "访客申请") || strings.Contains(subject, "Visit request") || !strings.Contains(body, testBase+"/host/visits/"+v.ID) {
		t.Errorf("request email in the site's language with an absolute link: %q\n%s", subject, body)
	}
	if n := hostSMS(); n != 0 {
		t.Errorf("%d SMS to a host who chose email", n)
	}

	if r := save("wang@example.com", "sms", ""); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", r.StatusCode)
	}
	v = book("13700137003")
	m := waitSMS(t, dev, hostMobile)
	if !strings.Contains(m.Text, testBase+"/host/visits/"+v.ID) {
		t.Errorf("request SMS %q has no absolute link to the request", m.Text)
	}
	if n := len(box.received()); n != 1 {
		t.Errorf("%d emails, want still 1 after choosing SMS", n)
	}
}
