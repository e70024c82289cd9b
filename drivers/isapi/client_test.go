package isapi_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"gatehouse/drivers/isapi"
	"gatehouse/drivers/isapi/sim"
)

// The client against the simulator: digest login, persons, faces,
// httpHosts and the door — and a wrong password refused.
func TestClientAgainstSimulator(t *testing.T) {
	term := sim.New(sim.Config{User: "admin", Password: "Lobby-2026"})
	srv := httptest.NewServer(term.Handler())
	defer srv.Close()
	ctx := context.Background()

	bad, _ := isapi.New(srv.URL, "admin", "wrong", time.Second)
	if _, err := bad.DeviceInfo(ctx); !errors.Is(err, isapi.ErrAuth) {
		t.Fatalf("wrong password: %v", err)
	}
	c, err := isapi.New(srv.URL, "admin", "Lobby-2026", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.DeviceInfo(ctx)
	if err != nil || info.SerialNumber != "SIM0001" {
		t.Fatalf("deviceInfo %+v %v", info, err)
	}
	now := time.Now()
	u := isapi.NewUser("E7", "Host", false, now.Add(-time.Hour), now.Add(time.Hour), time.Local, 1)
	if err := c.SetUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.Name = "Host B"
	if err := c.SetUser(ctx, u); err != nil { // on file: modified
		t.Fatal(err)
	}
	if err := c.SetFace(ctx, "E7", []byte{0xFF, 0xD8, 0x00, 0xFF, 0xD9}); err != nil {
		t.Fatal(err)
	}
	if p := term.Persons()["E7"]; p.User.Name != "Host B" || p.Face == nil {
		t.Fatalf("person %+v", p)
	}
	if err := c.SetFace(ctx, "nobody", []byte{0xFF, 0xD8}); !isapi.IsSub(err, isapi.SubNoSuchEmployee) {
		t.Fatalf("face of nobody: %v", err)
	}
	if err := c.DeleteUsers(ctx, "E7"); err != nil || len(term.Persons()) != 0 {
		t.Fatalf("delete: %v %v", err, term.Persons())
	}
	target, _ := url.Parse("http://127.0.0.1:8080/isapi/events/x/y")
	if err := c.SetHTTPHost(ctx, target); err != nil || term.Host().URL != "/isapi/events/x/y" || term.Host().PortNo != 8080 {
		t.Fatalf("httpHosts: %v %+v", err, term.Host())
	}
	if err := c.OpenDoor(ctx, 1); err != nil || len(term.Opens()) != 1 {
		t.Fatalf("open: %v %v", err, term.Opens())
	}
}
