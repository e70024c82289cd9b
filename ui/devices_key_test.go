package ui

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/drivers/osdp"
	osdpsim "gatehouse/drivers/osdp/sim"
	"gatehouse/drivers/runner"
	"gatehouse/drivers/sim"
)

// syncBuf is a log the runtime writes while the test reads it.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// An OSDP reader moved from another panel holds a key of its own, not in
// install mode: the appliance cannot reach it until the administrator
// types that key on the device's page. The key is checked, stored sealed,
// audited, and never shown again, nor logged; the reader is then reached
// on it (and not given another).
func TestReaderHoldingAKeyIsReachedOnceTheAdministratorEntersIt(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	z, err := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	lane, err := h.app.Access.SaveLane(ctx, "t", access.Lane{Name: "Gate B", ZoneID: z.ID, PulseMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	port := filepath.Join(t.TempDir(), "rs485")
	d, err := h.app.Devices.Save(ctx, "t", device.Device{Name: "Moved reader", Port: port, Protocol: device.OSDP, Address: "1",
		Role: device.EntryReader, LaneID: lane.ID, Options: device.Options{Secure: true}, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte{0x5e, 0x11, 0xa0, 0x3c, 0x97, 0x42, 0x08, 0xd1, 0x6b, 0x2f, 0xee, 0x30, 0x84, 0x19, 0xc5, 0x7a}
	typed := strings.ToUpper(hex.EncodeToString(raw))
	held, _ := osdp.NewKey(raw)
	pd := osdpsim.New(osdpsim.Config{Address: 1, Key: held, Secure: true,
		ID: osdp.PDID{Vendor: [3]byte{0x0A, 0x0B, 0x0C}, Model: 1, Version: 1, Serial: 4242}})
	bus, err := sim.NewOSDPBus(port, pd)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { bus.Close() })
	var logged syncBuf
	run, err := runner.Start(ctx, runner.Config{Source: h.app.Devices, Decider: h.app.Access, Clock: h.clock,
		Logger: slog.New(slog.NewTextHandler(&logged, nil)), Keys: device.NewReaderKeys(h.app.Store, h.clock, h.app.Keys),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		OSDP: func(c *osdp.Config) { c.ProbeEvery = 20 * time.Millisecond; c.PollEvery = 5 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	t.Cleanup(h.app.Devices.Attach(run))
	l := &lobby{harness: h}

	// Refused: the key on the well-known install key is not the reader's.
	waitFor(t, "the reader refused", func() bool {
		hl, _ := run.Health(d.ID)
		return strings.Contains(hl.LastError, "holds another key")
	})
	if hl, _ := run.Health(d.ID); hl.Online {
		t.Fatal("a reader on an unknown key came online")
	}
	resp, body := l.admin("GET", "/admin/devices/"+d.ID+"/edit", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="device-key-form"`) || !strings.Contains(body, `id="key-none"`) {
		t.Fatalf("edit page (%d) lacks the key form", resp.StatusCode)
	}

	// A wrong entry is refused and not repeated back.
	resp, body = l.admin("POST", "/admin/devices/"+d.ID+"/key", url.Values{"scbk": {"5E11A03C97XYZ"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-scbk"`) || strings.Contains(body, "5E11A03C97XYZ") {
		t.Fatalf("bad key: %d", resp.StatusCode)
	}
	// Without the form's CSRF token: refused.
	if resp := l.do(req{method: "POST", path: "/admin/devices/" + d.ID + "/key", form: url.Values{"scbk": {typed}},
		session: l.session("admin"), csrf: "-"}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", resp.StatusCode)
	}

	resp, _ = l.admin("POST", "/admin/devices/"+d.ID+"/key", url.Values{"scbk": {typed[:8] + " " + typed[8:]}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("entering the key: %d", resp.StatusCode)
	}
	waitFor(t, "the reader online on its own key", func() bool {
		hl, _ := run.Health(d.ID)
		return hl.Online && hl.Secure && !hl.DefaultKey
	})
	if !pd.Key().Equal(held) {
		t.Fatal("the reader was given another key")
	}

	// Redacted everywhere: the pages, the audit trail, the log.
	low := strings.ToLower(typed)
	for _, path := range []string{"/admin/devices/" + d.ID + "/edit", "/admin/devices", "/admin/audit"} {
		resp, body := l.admin("GET", path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if strings.Contains(strings.ToLower(body), low) || strings.Contains(strings.ToLower(body), low[:16]) {
			t.Errorf("%s shows the key", path)
		}
		if path == "/admin/audit" && !strings.Contains(body, "Device key set") {
			t.Error("the audit trail does not name the key's entry")
		}
		if strings.HasSuffix(path, "/edit") && !strings.Contains(body, `id="key-on-file"`) {
			t.Error("the edit page does not say a key is on file")
		}
	}
	if out := strings.ToLower(logged.String()); strings.Contains(out, low) || strings.Contains(out, low[:16]) {
		t.Errorf("the key reached the log:\n%s", out)
	}
}
