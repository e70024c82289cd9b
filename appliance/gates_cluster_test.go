package appliance

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
	"gatehouse/cluster"
)

// twoLobbies forms a site of two lobbies, north (the founder) and south,
// and returns their directories and open appliances.
func twoLobbies(t testing.TB) (north, south string, a, b *App) {
	t.Helper()
	north, south = t.TempDir(), t.TempDir()
	na, sa := loopbackAddr(t), loopbackAddr(t)
	if _, err := cluster.Init(north, "north", na, na, time.Now()); err != nil {
		t.Fatal(err)
	}
	a = openNode(t, north)
	tok, _, err := a.Node.IssueToken(context.Background(), "t", time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Join(context.Background(), south, cluster.JoinOptions{Addr: na, Token: tok.String(), ID: "south", Bind: sa, Advertise: sa}); err != nil {
		t.Fatal(err)
	}
	b = openNode(t, south)
	return north, south, a, b
}

// gateSetup writes a zone with hard anti-passback, a lane and n cards on a.
func gateSetup(t testing.TB, a *App, n int) (lane access.Lane, cards []access.Credential) {
	t.Helper()
	ctx := context.Background()
	z, err := a.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby", Passback: access.PassbackHard})
	if err != nil {
		t.Fatal(err)
	}
	lane, err = a.Access.SaveLane(ctx, "t", access.Lane{Name: "South gate", ZoneID: z.ID, PulseMs: 500})
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.Access.SaveGroup(ctx, "t", access.Group{Name: "All", ZoneIDs: []string{z.ID}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		c, err := a.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: fmt.Sprintf("C0DE%04d", i),
			HolderKind: access.HolderContractor, HolderName: fmt.Sprintf("Fixer %d", i), GroupIDs: []string{g.ID}})
		if err != nil {
			t.Fatal(err)
		}
		cards = append(cards, c)
	}
	return lane, cards
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
	}
}

func present(t testing.TB, a *App, lane, card string, in bool) gate.Action {
	t.Helper()
	dir := gate.In
	if !in {
		dir = gate.Out
	}
	act, err := a.Access.Decide(context.Background(), gate.Presentation{Lane: lane, Direction: dir, Kind: gate.Card, Value: card, Device: "south-reader"})
	if err != nil {
		t.Fatal(err)
	}
	return act
}

func eventCount(t testing.TB, a *App) int {
	t.Helper()
	n := 0
	if err := a.Store.View(func(r *store.Reader) error {
		return access.ScanEvents(r, time.Unix(0, 0), time.Unix(1<<40, 0), func(access.Event) error { n++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func auditHead(t testing.TB, a *App) (uint64, []byte) {
	t.Helper()
	var seq uint64
	var h []byte
	if err := a.Store.View(func(r *store.Reader) (err error) { seq, h, err = store.AuditHead(r); return err }); err != nil {
		t.Fatal(err)
	}
	return seq, h
}

// TestCutOffLobbyGatesDecideAndShipOnce: with the rest of the site gone,
// a lobby's gates go on deciding from its replica and its own journal
// (anti-passback holds), its pages refuse changes, and when the site is
// back every event it decided is in the site's history exactly once, on
// every node, with equal audit heads.
func TestCutOffLobbyGatesDecideAndShipOnce(t *testing.T) {
	north, _, a, b := twoLobbies(t)
	lane, cards := gateSetup(t, a, 3)
	waitFor(t, 10*time.Second, "the cards on south", func() bool {
		_, err := b.Access.CredentialByCard(cards[2].Number)
		return err == nil
	})
	waitFor(t, 10*time.Second, "south a voter", func() bool { return a.Node.Status().Voters() == 2 })

	decided := 0
	if act := present(t, b, lane.ID, cards[0].Number, true); !act.Open {
		t.Fatalf("south, joined: %+v", act)
	}
	decided++
	waitFor(t, 10*time.Second, "the first event shipped", func() bool { return b.Access.Shipping().Waiting == 0 })

	// North goes (as a power cut would take it): south has no quorum.
	_ = a.Node.Close()
	_ = a.Close()
	steps := []struct {
		card int
		in   bool
		want string
	}{
		{0, true, "anti_passback"}, // inside since before the cut
		{1, true, "granted"},
		{1, true, "anti_passback"}, // inside since the cut: known from south's journal only
		{1, false, "granted"},
		{2, true, "granted"},
		{0, false, "granted"},
	}
	for i, s := range steps {
		if act := present(t, b, lane.ID, cards[s.card].Number, s.in); act.Reason != s.want {
			t.Fatalf("south cut off, step %d: %+v, want %s", i, act, s.want)
		}
		decided++
	}
	// South's muster list holds whom its own gates let in and out.
	if ins, err := b.Access.Inside(lane.ZoneID); err != nil || len(ins) != 1 || ins[0].Holder != "cred:"+cards[2].ID {
		t.Fatalf("south's presence while cut off: %+v %v", ins, err)
	}
	waitFor(t, 10*time.Second, "south's shipping fails", func() bool { return b.Access.Shipping().Err != nil })
	if st := b.Access.Shipping(); st.Waiting != len(steps) {
		t.Fatalf("south waiting to ship %d events, want %d", st.Waiting, len(steps))
	}
	// Changes are refused with the cluster's error, nothing half-saved.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := b.Access.SaveZone(ctx, "t", access.Zone{Name: "Garage"})
	cancel()
	if err == nil {
		t.Fatal("a change was accepted on a lobby without quorum")
	}

	// North is back: south ships, and both hold every event once.
	a = openNode(t, north)
	waitFor(t, 30*time.Second, "south's events shipped", func() bool { st := b.Access.Shipping(); return st.Waiting == 0 && st.Err == nil })
	waitFor(t, 10*time.Second, "both lobbies hold every event", func() bool {
		return eventCount(t, a) == decided && eventCount(t, b) == decided
	})
	waitFor(t, 10*time.Second, "equal audit heads", func() bool {
		sa, ha := auditHead(t, a)
		sb, hb := auditHead(t, b)
		return sa == sb && bytes.Equal(ha, hb)
	})
	if n, err := b.VerifyAudit(); err != nil {
		t.Fatalf("south's audit chain (%d): %v", n, err)
	}
	// Presence converged: card 2 inside, cards 0 and 1 out.
	ins, err := a.Access.Inside(lane.ZoneID)
	if err != nil || len(ins) != 1 || ins[0].Holder != "cred:"+cards[2].ID {
		t.Fatalf("north's presence after the heal: %+v %v", ins, err)
	}
}

// suspensionDelay suspends a card on from and returns how long until a
// lobby's gate refuses it.
func suspensionDelay(t testing.TB, from *App, at []*App, lane, card, id string) []time.Duration {
	t.Helper()
	start := time.Now()
	if err := from.Access.SetState(context.Background(), "t", id, access.StateSuspended, "test"); err != nil {
		t.Fatal(err)
	}
	out := make([]time.Duration, len(at))
	for i, a := range at {
		for {
			o, err := a.Access.Check(gate.Presentation{Lane: lane, Direction: gate.In, Kind: gate.Card, Value: card})
			if err != nil {
				t.Fatal(err)
			}
			if o.Reason == access.Suspended {
				out[i] = time.Since(start)
				break
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("a suspended card still %s after 10 s", o.Reason)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return out
}

// TestSuspensionReachesTheOtherLobby: a card suspended on one lobby's
// pages is refused at the other's gate (the time is measured by
// BenchmarkSuspensionReachesLobbies).
func TestSuspensionReachesTheOtherLobby(t *testing.T) {
	_, _, a, b := twoLobbies(t)
	lane, cards := gateSetup(t, a, 2)
	waitFor(t, 10*time.Second, "the cards on south", func() bool {
		_, err := b.Access.CredentialByCard(cards[1].Number)
		return err == nil
	})
	suspensionDelay(t, a, []*App{b}, lane.ID, cards[0].Number, cards[0].ID) // on the leader's pages
	suspensionDelay(t, b, []*App{a}, lane.ID, cards[1].Number, cards[1].ID) // on a follower's, forwarded
}

// TestTheOtherLobbysGatesOnTheFeed: north's guard station hears south's
// decisions as they reach the site, named by their lobby, and the stored
// events say which lobby decided them.
func TestTheOtherLobbysGatesOnTheFeed(t *testing.T) {
	_, _, a, b := twoLobbies(t)
	a.Access.SetLobby("north")
	b.Access.SetLobby("south")
	lane, cards := gateSetup(t, a, 1)
	waitFor(t, 10*time.Second, "the card on south", func() bool {
		_, err := b.Access.CredentialByCard(cards[0].Number)
		return err == nil
	})
	heard := make(chan access.Outcome, 4)
	a.Access.OnEvent(func(o access.Outcome, _ access.Event) { heard <- o })
	if act := present(t, b, lane.ID, cards[0].Number, true); !act.Open {
		t.Fatalf("south: %+v", act)
	}
	select {
	case o := <-heard:
		if o.Lobby != "south" || !o.Grant {
			t.Fatalf("north heard %+v", o)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("north's feed never heard south's gate")
	}
	names, err := a.Access.Lobbies()
	if err != nil {
		t.Fatal(err)
	}
	evs, err := a.Access.Recent(10)
	if err != nil || len(evs) != 1 || int(evs[0].Lobby) >= len(names) || names[evs[0].Lobby] != "south" {
		t.Fatalf("north's stored event: %+v (lobbies %q) %v", evs, names, err)
	}
}

// BenchmarkSuspensionReachesLobbies measures, over b.N cards, the time from
// a suspension on a follower's pages to the refusal at the other lobby's
// gate (the issue asks for under 1 s).
//
//	go test -run '^$' -bench SuspensionReaches -benchtime 50x ./appliance/
func BenchmarkSuspensionReachesLobbies(b *testing.B) {
	_, _, north, south := twoLobbies(b)
	lane, cards := gateSetup(b, north, b.N)
	waitFor(b, 30*time.Second, "the cards on south", func() bool {
		_, err := south.Access.CredentialByCard(cards[b.N-1].Number)
		return err == nil
	})
	var ds []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ds = append(ds, suspensionDelay(b, south, []*App{north}, lane.ID, cards[i].Number, cards[i].ID)...)
	}
	b.StopTimer()
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(ds[len(ds)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkFollowerGateWhileLeaderDies measures a follower lobby's gate
// decisions (card presentations, decided and journalled) before and while
// the leader's appliance goes away: the issue asks that they do not change.
//
//	go test -run '^$' -bench FollowerGateWhileLeaderDies -benchtime 1x ./appliance/
func BenchmarkFollowerGateWhileLeaderDies(b *testing.B) {
	var allBefore, allDuring []time.Duration
	for i := 0; i < b.N; i++ {
		_, _, north, south := twoLobbies(b)
		lane, cards := gateSetup(b, north, 50)
		waitFor(b, 30*time.Second, "the cards on south", func() bool {
			_, err := south.Access.CredentialByCard(cards[49].Number)
			return err == nil
		})
		decide := func(d time.Duration) []time.Duration {
			var ds []time.Duration
			in := map[int]bool{}
			for end, k := time.Now().Add(d), 0; time.Now().Before(end); k++ {
				c := k % len(cards)
				start := time.Now()
				present(b, south, lane.ID, cards[c].Number, !in[c])
				ds = append(ds, time.Since(start))
				in[c] = !in[c]
				time.Sleep(2 * time.Millisecond) // a busy lobby: a presentation every few ms
			}
			slices.Sort(ds)
			return ds
		}
		before := decide(3 * time.Second)
		killed := make(chan struct{})
		go func() { _ = north.Node.Close(); _ = north.Close(); close(killed) }()
		during := decide(3 * time.Second)
		<-killed
		if st := south.Access.Shipping(); st.Waiting == 0 {
			b.Fatal("south shipped everything without a leader: the leader did not go")
		}
		allBefore, allDuring = append(allBefore, before...), append(allDuring, during...)
	}
	// Over every repetition's decisions.
	slices.Sort(allBefore)
	slices.Sort(allDuring)
	p := func(ds []time.Duration, q int) float64 { return float64(ds[len(ds)*q/100].Microseconds()) / 1000 }
	b.ReportMetric(p(allBefore, 50), "before-p50-ms")
	b.ReportMetric(p(allBefore, 99), "before-p99-ms")
	b.ReportMetric(p(allDuring, 50), "during-p50-ms")
	b.ReportMetric(p(allDuring, 99), "during-p99-ms")
	b.ReportMetric(float64(len(allDuring)), "decisions-during")
}

// TestDevicesRunOnTheirOwnLobby: the device configuration is replicated,
// and each device runs only on the appliance of the lobby it was added on;
// an edit on another lobby's pages does not move it; a device of no lobby
// (from before the site) runs on the founder; a change made on one lobby
// wakes the other's runtime.
func TestDevicesRunOnTheirOwnLobby(t *testing.T) {
	_, _, a, b := twoLobbies(t)
	a.Devices.SetLobby("north", true)
	b.Devices.SetLobby("south", false)
	ctx := context.Background()
	names := func(h device.Here) []string {
		ds, err := h.Devices()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.Name)
		}
		return out
	}
	wake := a.Devices.Changes()
	sd, err := b.Devices.Save(ctx, "t", device.Device{Name: "South printer", Port: "/dev/ttyUSB0", Baud: 9600, Protocol: device.ESCPOS, Role: device.Printer, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if sd.Node != "south" {
		t.Fatalf("a device added on south's pages belongs to %q", sd.Node)
	}
	select {
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("north's runtime was not told of south's new device")
	}
	legacy := device.Device{Name: "Old modem", Port: "/dev/ttyUSB1", Baud: 115200, Protocol: device.Modem, Role: device.ModemRole, Enabled: true}
	if legacy, err = a.Devices.Save(ctx, "t", legacy); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "north's device on south", func() bool { _, err := b.Devices.Get(legacy.ID); return err == nil })
	// Edited on south's pages: still north's.
	legacy.Baud = 9600
	if legacy, err = b.Devices.Save(ctx, "t", legacy); err != nil || legacy.Node != "north" {
		t.Fatalf("edited on south: node %q, %v", legacy.Node, err)
	}
	waitFor(t, 10*time.Second, "south's device on north", func() bool { _, err := a.Devices.Get(sd.ID); return err == nil })
	if got := names(a.Devices.Here()); !slices.Equal(got, []string{"Old modem"}) {
		t.Fatalf("north runs %q", got)
	}
	if got := names(b.Devices.Here()); !slices.Equal(got, []string{"South printer"}) {
		t.Fatalf("south runs %q", got)
	}
	// A device of no lobby runs on the founder only.
	if !a.Devices.Runs(device.Device{}) || b.Devices.Runs(device.Device{}) {
		t.Fatal("a device of no lobby runs on the wrong appliance")
	}
}
