package appliance

import (
	"bytes"
	"context"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/cluster"
	"gatehouse/cluster/faultnet"
)

// faultySite is a site of three lobbies whose links run through a
// fault-injecting network.
type faultySite struct {
	net   *faultnet.Net
	names []string
	apps  map[string]*App
}

func newFaultySite(t *testing.T) *faultySite {
	t.Helper()
	s := &faultySite{net: faultnet.New(), names: []string{"north", "south", "east"}, apps: map[string]*App{}}
	t.Cleanup(func() { s.net.Close() })
	var founder string
	for i, name := range s.names {
		dir, bind := t.TempDir(), loopbackAddr(t)
		front, err := s.net.Front(name, bind)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if _, err := cluster.Init(dir, name, bind, front, time.Now()); err != nil {
				t.Fatal(err)
			}
			founder = front
		} else {
			tok, _, err := s.apps["north"].Node.IssueToken(context.Background(), "t", time.Hour, true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cluster.Join(context.Background(), dir, cluster.JoinOptions{Addr: founder, Token: tok.String(), ID: name, Bind: bind, Advertise: front}); err != nil {
				t.Fatal(err)
			}
		}
		src := s.net.Source(name)
		s.apps[name] = openNodeWith(t, dir, func(c *cluster.Config) { c.Source = src })
		s.apps[name].Access.SetLobby(name)
	}
	waitFor(t, 30*time.Second, "three voters", func() bool { return s.apps["north"].Node.Status().Voters() == 3 })
	return s
}

// TestPartitionedLobbyDecidesAndConverges: a lobby cut off from the two
// others by the network (both ways, open connections closed) keeps
// deciding at its gates from its replica and its journal and refuses
// changes; the majority goes on taking changes; after the heal the cut-off
// lobby's events are in the site exactly once, every node holds the same
// events and audit head, and the change made meanwhile is in force at the
// lobby that could not hear it.
func TestPartitionedLobbyDecidesAndConverges(t *testing.T) {
	s := newFaultySite(t)
	north, south, east := s.apps["north"], s.apps["south"], s.apps["east"]
	lane, cards := gateSetup(t, north, 4)
	for _, a := range []*App{south, east} {
		waitFor(t, 10*time.Second, "the cards everywhere", func() bool {
			_, err := a.Access.CredentialByCard(cards[3].Number)
			return err == nil
		})
	}

	s.net.Partition([]string{"south"}, []string{"north", "east"})
	decided := 0
	for i, st := range []struct {
		card int
		in   bool
		want string
	}{
		{0, true, "granted"},
		{0, true, "anti_passback"}, // known from south's journal only
		{1, true, "granted"},
		{1, false, "granted"},
	} {
		if act := present(t, south, lane.ID, cards[st.card].Number, st.in); act.Reason != st.want {
			t.Fatalf("south cut off, step %d: %+v, want %s", i, act, st.want)
		}
		decided++
	}
	// The majority takes a change (on whichever of its lobbies leads) and
	// decides at its own gate.
	majority := north
	waitFor(t, 10*time.Second, "a leader in the majority", func() bool {
		for _, a := range []*App{north, east} {
			if a.Node.IsLeader() {
				majority = a
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := majority.Access.SetState(ctx, "t", cards[2].ID, access.StateSuspended, "reported lost"); err != nil {
		t.Fatalf("the majority refused a change: %v", err)
	}
	if act := present(t, east, lane.ID, cards[3].Number, true); !act.Open {
		t.Fatalf("east: %+v", act)
	}
	decided++
	// South cannot hear the suspension (cluster/DESIGN.md: a lobby cannot
	// know what it cannot hear) and refuses changes on its own pages.
	if act := present(t, south, lane.ID, cards[2].Number, true); !act.Open {
		t.Fatalf("south, cut off, refused a card it knows as active: %+v", act)
	}
	decided++
	sctx, scancel := context.WithTimeout(context.Background(), 8*time.Second)
	_, err := south.Access.SaveZone(sctx, "t", access.Zone{Name: "Garage"})
	scancel()
	if err == nil {
		t.Fatal("south took a change while cut off")
	}
	// The shipper's try that was under way when the change was refused may
	// still be waiting for a leader (up to NoQuorumAfter): wait for its end.
	waitFor(t, 15*time.Second, "south's shipping to fail while cut off", func() bool {
		st := south.Access.Shipping()
		if st.Waiting != 5 {
			t.Fatalf("south's shipping while cut off: %+v, want 5 waiting", st)
		}
		return st.Err != nil
	})

	s.net.Heal()
	waitFor(t, 30*time.Second, "south's events shipped", func() bool { st := south.Access.Shipping(); return st.Waiting == 0 && st.Err == nil })
	waitFor(t, 15*time.Second, "every lobby holds every event once", func() bool {
		for _, a := range []*App{north, south, east} {
			if eventCount(t, a) != decided {
				return false
			}
		}
		return true
	})
	waitFor(t, 15*time.Second, "equal audit heads", func() bool {
		sn, hn := auditHead(t, north)
		for _, a := range []*App{south, east} {
			if sa, ha := auditHead(t, a); sa != sn || !bytes.Equal(ha, hn) {
				return false
			}
		}
		return true
	})
	for _, a := range []*App{north, south, east} {
		if _, err := a.VerifyAudit(); err != nil {
			t.Fatalf("audit chain: %v", err)
		}
	}
	if act := present(t, south, lane.ID, cards[2].Number, false); act.Reason != string(access.Suspended) {
		t.Fatalf("south after the heal, the suspended card: %+v", act)
	}
	t.Logf("connections refused by the partition: %d", s.net.Refused())
}
