package appliance

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/visit"
)

// TestHostHearsAFloodAsOneDigest: fifteen bookings in a minute reach the
// host as three notices and then one digest of the other twelve. Before,
// 200 bookings sent the host 200 notifications.
func TestHostHearsAFloodAsOneDigest(t *testing.T) {
	cfg, _ := config.Load("", nil)
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	ctx := context.Background()
	a, err := Open(ctx, t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, _ := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "2F", Level: 2})
	co, _ := a.Directory.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	host, _ := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13800138000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "H1", CanHost: true})
	ha, err := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "host1", Name: "Host", Role: auth.Host, PersonID: host.ID, Password: "host-password"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 15 {
		if _, _, err := a.Visits.Book(ctx, visit.Request{Name: "Flood", Mobile: fmt.Sprintf("1390000%04d", i), IDLast6: "123456",
			HostID: host.ID, Reason: "x", From: clk.Now().Add(time.Hour), Until: clk.Now().Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	inbox := func() []string {
		ms, err := a.Notify.Missed(ha.ID, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Subject)
		}
		return out
	}
	if got := inbox(); len(got) != digestPerMinute {
		t.Fatalf("the host got %d notices in the flood's minute, want %d", len(got), digestPerMinute)
	}
	notices{a}.sendDigests(ctx) // within the minute: nothing yet
	if got := inbox(); len(got) != digestPerMinute {
		t.Fatalf("a digest before the minute was over: %q", got)
	}
	clk.Advance(time.Minute)
	notices{a}.sendDigests(ctx)
	got := inbox()
	if len(got) != digestPerMinute+1 || !strings.Contains(got[len(got)-1], "12 visit requests") {
		t.Fatalf("after the minute: %q, want one digest of 12", got)
	}
	notices{a}.sendDigests(ctx)
	if n := len(inbox()); n != digestPerMinute+1 {
		t.Fatalf("the digest was sent again: %d notices", n)
	}
}
