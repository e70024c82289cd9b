package appliance

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/visit"
)

// TestHostHearsAFloodAsOneDigest: fifteen bookings in a minute reach the
// host as three notices and then one digest of the other twelve. Before,
// 200 bookings sent the host 200 notifications.
func TestHostHearsAFloodAsOneDigest(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	host, ha := testHost(t, a)
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
