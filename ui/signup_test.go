package ui

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
	"gatehouse/drivers/sim"
)

var signupTicket = regexp.MustCompile(`name="ticket" value="([^"]+)"`)

// signupFixture adds employees to the harness's directory: one who may
// sign up, one who may not host.
func signupFixture(t *testing.T, h *harness) (host, nonHost directory.Person) {
	t.Helper()
	ctx := context.Background()
	p, err := h.app.Directory.Person(h.ids["{person}"])
	if err != nil {
		t.Fatal(err)
	}
	host, err = h.app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: "Li Na",
		Mobile: "13911112222", CompanyID: p.CompanyID, FloorID: p.FloorID, EmployeeNo: "E77", CanHost: true})
	if err != nil {
		t.Fatal(err)
	}
	nonHost, err = h.app.Directory.SavePerson(ctx, "test", directory.Person{Kind: directory.Employee, Name: "Zhao",
		Mobile: "13922223333", CompanyID: p.CompanyID, FloorID: p.FloorID, EmployeeNo: "E78"})
	if err != nil {
		t.Fatal(err)
	}
	return host, nonHost
}

// signupStart posts a mobile number and returns the answer and its ticket.
func signupStart(t *testing.T, h *harness, mobile, from string) (*http.Response, string, string) {
	t.Helper()
	resp := h.do(req{method: "POST", path: "/signup", form: url.Values{"mobile": {mobile}}, from: from})
	body := readBody(t, resp)
	tk := ""
	if m := signupTicket.FindStringSubmatch(body); m != nil {
		tk = m[1]
	}
	return resp, body, tk
}

// smsTo waits for the text sent to the number ending in mobile.
func smsTo(t *testing.T, dev *sim.Modem, mobile string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, m := range dev.Messages() {
			if strings.HasSuffix(m.Number, mobile) {
				return m.Text
			}
		}
	}
	t.Fatalf("no SMS reached %s: %+v", mobile, dev.Messages())
	return ""
}

func signupVerify(h *harness, ticket, code, username, pw, from string) *http.Response {
	return h.do(req{method: "POST", path: "/signup/verify", from: from,
		form: url.Values{"ticket": {ticket}, "code": {code}, "username": {username}, "password": {pw}}})
}

// TestSignupAnswersAlikeAndTextsOnlyAnEmployee: an unknown number, a
// person who may not host and a person who already has an account get the
// same page as an employee who may sign up, and no text; only the employee
// gets a code. The code, a username and a password make a host account
// linked to the person, and sign them in; a bad password leaves the code
// usable.
func TestSignupAnswersAlikeAndTextsOnlyAnEmployee(t *testing.T) {
	h := newHarness(t)
	host, _ := signupFixture(t, h)
	dev := smsModem(t, h)
	var pages, tickets []string
	for i, m := range []string{"13700009999", "13922223333", "13800138000", "139 1111 2222"} {
		resp, body, tk := signupStart(t, h, m, "127.0.0.2")
		if resp.StatusCode != http.StatusOK || tk == "" || !strings.Contains(body, `id="signup-sent"`) {
			t.Fatalf("number %d: status %d, ticket %q", i, resp.StatusCode, tk)
		}
		pages, tickets = append(pages, strings.ReplaceAll(body, tk, "TICKET")), append(tickets, tk)
	}
	for i := range pages[:3] {
		if pages[i] != pages[3] {
			t.Errorf("number %d's page differs from the employee's: the page tells who is known", i)
		}
	}
	text := smsTo(t, dev, "13911112222") // sent last: the others would have gone before it
	for _, m := range dev.Messages() {
		if !strings.HasSuffix(m.Number, "13911112222") {
			t.Errorf("a code went to %s, who cannot sign up", m.Number)
		}
	}
	code := smsCode.FindStringSubmatch(text)[1]
	if resp := signupVerify(h, tickets[0], code, "lina", "Lobby-gate-2026!", "127.0.0.3"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the employee's code on a stranger's ticket = %d, want 422", resp.StatusCode)
	}
	resp := signupVerify(h, tickets[3], code, "lina", "short", "127.0.0.3")
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-password"`) || strings.Contains(body, `id="e-code"`) {
		t.Fatalf("a weak password = %d, want the password field marked and the code kept", resp.StatusCode)
	}
	resp = signupVerify(h, tickets[3], code, "lina", "Lobby-gate-2026!", "127.0.0.3")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the right code = %d, want a redirect: %s", resp.StatusCode, readBody(t, resp))
	}
	signedIn := false
	for _, c := range resp.Cookies() {
		signedIn = signedIn || (c.Name == sessionCookie && c.Value != "")
	}
	if !signedIn {
		t.Error("the new host is not signed in")
	}
	a, err := h.app.Auth.AccountByUsername("lina")
	if err != nil {
		t.Fatal(err)
	}
	if a.Role != auth.Host || a.PersonID != host.ID || a.Name != host.Name {
		t.Errorf("account = role %s person %s name %q, want a host linked to %s", a.Role, a.PersonID, a.Name, host.ID)
	}
	var audited bool
	if err := h.app.Store.View(func(r *store.Reader) error {
		es, err := store.AuditPage(r, 0, 50)
		for _, e := range es {
			audited = audited || (e.Type == auth.CmdAccountCreate && e.Actor == "signup:"+host.ID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !audited {
		t.Error("no audit entry names the sign-up as the account's creator")
	}
	if resp := signupVerify(h, tickets[3], code, "lina2", "Lobby-gate-2026!", "127.0.0.3"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a used code = %d, want refused", resp.StatusCode)
	}
}

// TestSignupCodeTriesAndExpiry: the third wrong code ends the sign-up (the
// right one no longer works), and a code past 5 minutes is refused.
func TestSignupCodeTriesAndExpiry(t *testing.T) {
	h := newHarness(t)
	signupFixture(t, h)
	dev := smsModem(t, h)
	_, _, tk := signupStart(t, h, "13911112222", "127.0.0.2")
	code := smsCode.FindStringSubmatch(smsTo(t, dev, "13911112222"))[1]
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := range 3 {
		resp := signupVerify(h, tk, wrong, "lina", "Lobby-gate-2026!", "127.0.0.2")
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("wrong code %d = %d", i+1, resp.StatusCode)
		}
		if ended := strings.Contains(body, `id="signup-ended"`); ended != (i == 2) {
			t.Fatalf("wrong code %d: ended=%v", i+1, ended)
		}
	}
	if resp := signupVerify(h, tk, code, "lina", "Lobby-gate-2026!", "127.0.0.2"); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the right code after three wrong = %d, want refused", resp.StatusCode)
	}

	_, _, tk = signupStart(t, h, "13911112222", "127.0.0.3")
	var fresh string
	for deadline := time.Now().Add(10 * time.Second); fresh == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ms := dev.Messages(); len(ms) == 2 {
			fresh = smsCode.FindStringSubmatch(ms[1].Text)[1]
		}
	}
	h.clock.Advance(5*time.Minute + time.Second)
	resp := signupVerify(h, tk, fresh, "lina", "Lobby-gate-2026!", "127.0.0.3")
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="signup-ended"`) {
		t.Fatalf("an expired code = %d, want the sign-up ended", resp.StatusCode)
	}
	if _, err := h.app.Auth.AccountByUsername("lina"); err == nil {
		t.Fatal("an account was made without a valid code")
	}
}

// TestSignupLimitsAndCSRF: a post without the CSRF token is refused and
// sends nothing; a number gets 3 codes, then waits; a client address gets
// 10 posts, then 429.
func TestSignupLimitsAndCSRF(t *testing.T) {
	h := newHarness(t)
	signupFixture(t, h)
	smsModem(t, h)
	if resp := h.do(req{method: "POST", path: "/signup", form: url.Values{"mobile": {"13911112222"}}, csrf: "-", from: "127.0.0.2"}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF token = %d, want 403", resp.StatusCode)
	}
	for i := range 3 {
		if resp, _, _ := signupStart(t, h, "13700009999", "127.0.0.3"); resp.StatusCode != http.StatusOK {
			t.Fatalf("code %d for a number = %d", i+1, resp.StatusCode)
		}
	}
	resp, body, _ := signupStart(t, h, "13700009999", "127.0.0.3")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-mobile"`) {
		t.Fatalf("a fourth code for a number = %d, want the field marked", resp.StatusCode)
	}
	last := 0
	for i := range 12 {
		resp, _, _ := signupStart(t, h, "1370000000"+string(rune('0'+i%10)), "127.0.0.4")
		last = resp.StatusCode
		if last == http.StatusTooManyRequests {
			if i < 10 {
				t.Fatalf("post %d from one address refused", i+1)
			}
			break
		}
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("12 posts from one address: last = %d, want 429", last)
	}
}
