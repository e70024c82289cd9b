package ui

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/screen"
	"gatehouse/drivers/modem"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
)

// smsModem attaches a simulated GSM modem on a pseudo-terminal as the
// appliance's SMS channel, with a running outbox worker.
func smsModem(t *testing.T, h *harness) *sim.Modem {
	t.Helper()
	return smsModemBase(t, h, h.ts.URL)
}

// smsModemBase is smsModem whose channel makes paths absolute with base;
// "" leaves that to the outbox and the site's base URL setting, as the
// appliance's device runtime does.
func smsModemBase(t *testing.T, h *harness, base string) *sim.Modem {
	t.Helper()
	dev, err := sim.NewModem(filepath.Join(t.TempDir(), "ttyGSM"), sim.ModemConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := modem.Open(context.Background(), modem.Config{Logger: quiet, RetryWait: 10 * time.Millisecond,
		Line: serial.LineConfig{Port: serial.Config{Path: dev.Path(), Baud: 115200}, MinBackoff: 5 * time.Millisecond,
			MaxBackoff: 50 * time.Millisecond, Name: "gsm", Logger: quiet}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	h.app.Notify.EnableSMS(true)
	runWorker(t, notify.NewWorker(h.app.Notify, notify.WorkerOptions{Poll: 20 * time.Millisecond,
		SMS: modem.Channel{Sender: s, Base: base}}))
	return dev
}

var smsCode = regexp.MustCompile(`\b(\d{6})\b`)

// TestStrangerBookingForAWhitelistedNumberNeedsTheSMSCode: a stranger who
// books with a whitelisted mobile gets no pass until the code sent to that
// phone by the (simulated) modem is typed back. Before, the number alone
// was approved and its QR opened the gate.
func TestStrangerBookingForAWhitelistedNumberNeedsTheSMSCode(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.app.Screen.Add(ctx, "account:mgr", screen.Input{List: screen.White, Mobile: "13812340000", Reason: "VIP"}); err != nil {
		t.Fatal(err)
	}
	dev := smsModem(t, h)
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	form := url.Values{"name": {"Anyone"}, "mobile": {"13812340000"}, "id_last6": {"123456"},
		"host_id": {h.ids["{person}"]}, "reason": {"Meeting"}, "date": {day}, "from": {"18:00"}, "until": {"19:00"}, "party": {"1"}}
	resp := h.do(req{method: "POST", path: "/book", form: form})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="code-form"`) || strings.Contains(body, "/v/") {
		t.Fatalf("booking with a whitelisted number = %d: no code asked for, or a status link given: %s", resp.StatusCode, body)
	}
	ticket := regexp.MustCompile(`name="ticket" value="([^"]+)"`).FindStringSubmatch(body)
	if ticket == nil {
		t.Fatal("no ticket on the code page")
	}
	if vs, _ := h.app.Visits.ForHost(h.ids["{person}"], 10); len(vs) != 1 { // the harness's own booking only
		t.Fatalf("%d visits before the code was typed, want only the harness's", len(vs))
	}
	// The code arrives on the phone.
	var code string
	deadline := time.Now().Add(10 * time.Second)
	for code == "" && time.Now().Before(deadline) {
		for _, m := range dev.Messages() {
			if strings.HasSuffix(m.Number, "13812340000") {
				if c := smsCode.FindStringSubmatch(m.Text); c != nil {
					code = c[1]
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code == "" {
		t.Fatalf("no code reached the modem: %+v", dev.Messages())
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	verify := func(c string) (*http.Response, string) {
		resp := h.do(req{method: "POST", path: "/book/verify", form: url.Values{"ticket": {ticket[1]}, "code": {c}}})
		return resp, readBody(t, resp)
	}
	if resp, body := verify(wrong); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-code"`) || strings.Contains(body, "/v/") {
		t.Fatalf("a wrong code = %d, want the field marked and no pass", resp.StatusCode)
	}
	resp, _ = verify(code)
	if b := readBody(t, h.do(req{method: "GET", path: statusLink(t, resp)})); !strings.Contains(b, `data-state="approved"`) || !strings.Contains(b, "pass-qr") {
		t.Fatal("a proven whitelisted booking has no pass")
	}
}

// TestWhitelistWithoutSMSGoesToTheHost: with no SMS channel nothing proves
// the phone, so a whitelisted self-service booking waits for the host,
// marked as whitelisted.
func TestWhitelistWithoutSMSGoesToTheHost(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.app.Screen.Add(ctx, "account:mgr", screen.Input{List: screen.White, Mobile: "13812340000", Reason: "VIP"}); err != nil {
		t.Fatal(err)
	}
	day := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	form := url.Values{"name": {"Anyone"}, "mobile": {"13812340000"}, "id_last6": {"123456"},
		"host_id": {h.ids["{person}"]}, "reason": {"Meeting"}, "date": {day}, "from": {"18:00"}, "until": {"19:00"}, "party": {"1"}}
	link := statusLink(t, h.do(req{method: "POST", path: "/book", form: form}))
	if b := readBody(t, h.do(req{method: "GET", path: link})); !strings.Contains(b, `data-state="requested"`) || strings.Contains(b, "pass-qr") {
		t.Fatal("a whitelisted number was approved without proof of the phone")
	}
	if page := readBody(t, h.do(req{method: "GET", path: "/host/visits", session: h.session(auth.Host)})); !strings.Contains(page, `id="whitelisted-`) {
		t.Fatal("the host is not told the visitor is whitelisted")
	}
}
