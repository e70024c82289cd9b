package visit

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// TestPurgeRefusesVisitsNotDue: the purge command itself checks each visit
// is over and old enough, whoever issued it.
func TestPurgeRefusesVisitsNotDue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	v, _, err := f.svc.Invite(ctx, "host", f.request())
	if err != nil {
		t.Fatal(err)
	}
	late := f.clk.Now().Add(30 * 24 * time.Hour).UnixNano()
	for _, tc := range []struct {
		name string
		p    purgePayload
	}{
		{"a visit not over", purgePayload{IDs: []string{v.ID}, Before: late}},
		{"a visit not old enough", purgePayload{IDs: []string{v.ID}, Before: v.Until}},
		{"more than a chunk at once", purgePayload{IDs: make([]string, purgeChunk+1), Before: late}},
	} {
		name, p := tc.name, tc.p
		if name == "a visit not old enough" {
			if err := f.svc.Move(ctx, "desk", v.ID, EvClose, ""); err != nil {
				t.Fatal(err)
			}
		}
		_, err := store.Issue(ctx, f.st, CmdPurge, "test", f.clk.Now(), p)
		if !errors.Is(err, field.ErrInvalid) {
			t.Fatalf("%s: %v, want refused", name, err)
		}
	}
	if got, _ := f.svc.Get(v.ID); got.Visitor.Name == "" {
		t.Fatal("a refused purge changed the visit")
	}
}
