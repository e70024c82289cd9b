package shell

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/config"
	"gatehouse/appliance/demo"
)

// serve --demo runs a simulated face terminal at Gate A on a loopback
// port: the device is pointed at it, the runtime logs in with the demo
// password and tells it to push its events to the listen address.
func TestDemoFaceTerminal(t *testing.T) {
	ctx := context.Background()
	cfg, _ := config.Load("", nil)
	a, err := appliance.Open(ctx, t.TempDir(), cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	dir := filepath.Join(t.TempDir(), "data")
	devs, err := startDevices(ctx, a, dir, ":18080", true)
	if err != nil {
		t.Skipf("no simulators here: %v", err)
	}
	defer devs.Close()
	d, err := a.Devices.ByName(demo.FaceTerminal)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Port, "http://127.0.0.1:") || d.Port == "http://127.0.0.1" {
		t.Fatalf("the face terminal is at %q", d.Port)
	}
	term := devs.bench.FaceTerminal(d)
	if term == nil || !devs.bench.Simulates(d) {
		t.Fatal("no simulated face terminal on the bench")
	}
	for deadline := time.Now().Add(10 * time.Second); term.Host() == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			h, _ := devs.run.Health(d.ID)
			t.Fatalf("the terminal was never told where to push: %+v", h)
		}
	}
	if h := term.Host(); h.IPAddress != "127.0.0.1" || h.PortNo != 18080 || !strings.HasPrefix(h.URL, "/isapi/events/"+d.ID+"/") {
		t.Fatalf("the terminal pushes to %+v", h)
	}
}

func TestEventBase(t *testing.T) {
	for _, tc := range []struct {
		base, listen string
		demo         bool
		want         string
	}{
		{"https://lobby.example.com", ":8080", true, "https://lobby.example.com"},
		{"", ":8080", false, ""},
		{"", ":8080", true, "http://127.0.0.1:8080"},
		{"", "0.0.0.0:8080", true, "http://127.0.0.1:8080"},
		{"", "[::]:8080", true, "http://127.0.0.1:8080"},
		{"", "192.0.2.7:80", true, "http://192.0.2.7:80"},
		{"", "127.0.0.1:0", true, ""},
	} {
		if got := eventBase(tc.base, tc.listen, tc.demo); got != tc.want {
			t.Errorf("eventBase(%q, %q, %v) = %q, want %q", tc.base, tc.listen, tc.demo, got, tc.want)
		}
	}
}
