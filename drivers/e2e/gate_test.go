package e2e

import (
	"context"
	"reflect"
	"testing"

	"gatehouse/appliance/access"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/visit"
	"gatehouse/drivers/osdp"
	osdpsim "gatehouse/drivers/osdp/sim"
	"gatehouse/drivers/sim"
)

var onePulse = []sim.CoilWrite{{Coil: relayCoil, On: true}, {Coil: relayCoil, On: false}}

func pulses(n int) []sim.CoilWrite {
	var ws []sim.CoilWrite
	for range n {
		ws = append(ws, onePulse...)
	}
	return ws
}

// feedback checks the latest LED and beep a reader got: green and a short
// beep for a grant, red and a long beep for a deny.
func feedback(t *testing.T, pd *osdpsim.PD, fb gate.Feedback) {
	t.Helper()
	leds, buzz := pd.LEDs(), pd.Buzzers()
	if len(leds) == 0 || len(buzz) == 0 {
		t.Fatalf("no feedback on the reader (%d LED, %d buzzer commands)", len(leds), len(buzz))
	}
	l, b := leds[len(leds)-1].Temporary, buzz[len(buzz)-1]
	color, beep := byte(osdp.ColorGreen), byte(2) // 200 ms
	if fb == gate.Deny {
		color, beep = osdp.ColorRed, 10 // 1 s
	}
	if l.Code != osdp.LEDTempSet || l.OnColor != color || b.OnTime != beep || b.Count != 1 {
		t.Fatalf("%s feedback: LED %+v, buzzer %+v", fb, l, b)
	}
}

// waitBeeps waits until pd has been sent n buzzer commands in all: the
// feedback of the n-th decision has reached the reader.
func waitBeeps(t *testing.T, pd *osdpsim.PD, n int) {
	t.Helper()
	eventually(t, "reader feedback", func() bool { return len(pd.Buzzers()) >= n })
	if got := len(pd.Buzzers()); got != n {
		t.Fatalf("%d buzzer commands, want %d", got, n)
	}
}

type wantEvent struct {
	grant  bool
	entry  bool
	kind   byte
	reason access.Reason
	holder string
	cred   string
}

// checkEvents compares the stored events, newest first, with want.
func checkEvents(t *testing.T, l *lobby, want ...wantEvent) {
	t.Helper()
	es := l.events(t)
	if len(es) != len(want) {
		t.Fatalf("%d events stored, want %d: %+v", len(es), len(want), es)
	}
	for i, w := range want {
		e := es[i]
		got := wantEvent{grant: e.Grant, entry: e.Entry, kind: e.Kind, reason: e.Reason, holder: e.Holder, cred: e.CredID}
		if got != w || e.Lane != l.lane.ID || e.Time.IsZero() {
			t.Errorf("event %d (newest first): %+v, want %+v on lane %s", i, e, w, l.lane.ID)
		}
	}
}

// A card at an OSDP reader with the secure channel on, through the real
// appliance: grant (relay pulse on the Modbus board, green and a short
// beep), a second entry refused by hard anti-passback and an unknown card
// refused (red and a long beep, no pulse), then the way out granted. Every
// decision is a stored event.
func TestCardAtSecureReaderOpensTheGate(t *testing.T) {
	l := newLobby(t)
	board := simBoard(t)
	relay := openRelay(t, board.Path())
	bus := newReaderBus(t, l.lane.ID, newPulseOnGrant(t, l.app.Access, relay, 0), busOptions{})

	// The CP keyed both readers out of install mode.
	for _, pd := range []*osdpsim.PD{bus.entry, bus.exit} {
		if pd.InstallMode() {
			t.Fatalf("reader %d still in install mode", pd.Address())
		}
		if active, onDefault := pd.Secure(); !active || onDefault {
			t.Fatalf("reader %d: secure channel active=%v on SCBK-D=%v", pd.Address(), active, onDefault)
		}
	}

	// 1. The enrolled card on the way in: granted.
	bus.entry.PresentUID(cardBytes)
	waitBeeps(t, bus.entry, 1)
	feedback(t, bus.entry, gate.Grant)
	eventually(t, "relay pulse", func() bool { return len(board.CoilLog()) == 2 })
	if got := board.CoilLog(); !reflect.DeepEqual(got, onePulse) {
		t.Fatalf("coil writes %v, want %v", got, onePulse)
	}
	inside, err := l.app.Access.Inside(l.zone.ID)
	if err != nil || len(inside) != 1 || inside[0].Holder != l.host.ID {
		t.Fatalf("inside the zone: %+v %v", inside, err)
	}

	// 2. The same card on the way in again: hard anti-passback.
	bus.entry.PresentUID(cardBytes)
	waitBeeps(t, bus.entry, 2)
	feedback(t, bus.entry, gate.Deny)

	// 3. A card nobody enrolled.
	bus.entry.PresentUID([]byte{0xDE, 0xAD, 0xBE, 0xEF})
	waitBeeps(t, bus.entry, 3)
	feedback(t, bus.entry, gate.Deny)

	// 4. The enrolled card on the way out: granted. Its pulse comes after
	// anything the refusals could have queued, so the coil log proves
	// they pulsed nothing.
	bus.exit.PresentUID(cardBytes)
	waitBeeps(t, bus.exit, 1)
	feedback(t, bus.exit, gate.Grant)
	eventually(t, "second relay pulse", func() bool { return len(board.CoilLog()) >= 4 })
	if got := board.CoilLog(); !reflect.DeepEqual(got, pulses(2)) {
		t.Fatalf("coil writes %v, want two pulses: a refusal moved the relay", got)
	}
	if board.Coils()[relayCoil] {
		t.Fatal("relay left on")
	}
	if n := len(bus.entry.Outputs()) + len(bus.exit.Outputs()); n != 0 {
		t.Fatalf("%d osdp_OUT commands: these readers drive no relay", n)
	}

	h, c := l.host.ID, l.card.ID
	checkEvents(t, l,
		wantEvent{grant: true, entry: false, kind: 'c', reason: access.Granted, holder: h, cred: c},
		wantEvent{grant: false, entry: true, kind: 'c', reason: access.Unknown},
		wantEvent{grant: false, entry: true, kind: 'c', reason: access.AntiPassback, holder: h, cred: c},
		wantEvent{grant: true, entry: true, kind: 'c', reason: access.Granted, holder: h, cred: c},
	)
	if es, err := l.app.Access.HolderEvents(h, 10); err != nil || len(es) != 3 {
		t.Fatalf("holder's events: %d %v", len(es), err)
	}
	if inside, _ := l.app.Access.Inside(l.zone.ID); len(inside) != 0 {
		t.Fatalf("still inside after leaving: %+v", inside)
	}
	for _, name := range []string{entryReader, exitReader} {
		if h := bus.health(name); h.MACErrors != 0 || !h.Secure {
			t.Errorf("%s health %+v", name, h)
		}
	}
}

// A visitor's QR pass at the lane's scanners, through the real appliance:
// the entry is granted (relay pulse, the lane's reader shows green and a
// short beep, the visit is "in"), a replayed entry and a forged pass are
// refused (red and a long beep, no pulse), and the exit is granted.
func TestVisitorPassAtScannerOpensTheGate(t *testing.T) {
	l := newLobby(t)
	board := simBoard(t)
	relay := openRelay(t, board.Path())
	bus := newReaderBus(t, l.lane.ID, newPulseOnGrant(t, l.app.Access, relay, 0), busOptions{})
	in := openScanner(t, "gate1-in-qr", l.lane.ID, gate.In, showOnReader{l.app.Access, bus.cp, entryReader}, relay)
	out := openScanner(t, "gate1-out-qr", l.lane.ID, gate.Out, showOnReader{l.app.Access, bus.cp, exitReader}, relay)
	v, pass := l.invite(t)

	// 1. Entry.
	if err := in.Scan(pass); err != nil {
		t.Fatal(err)
	}
	waitBeeps(t, bus.entry, 1)
	feedback(t, bus.entry, gate.Grant)
	eventually(t, "relay pulse", func() bool { return len(board.CoilLog()) == 2 })
	if got, _ := l.app.Visits.Get(v.ID); got.State != visit.In {
		t.Fatalf("visit %s after the entry", got.State)
	}

	// 2. The same pass on the way in again, and 3. a forged one.
	in.Scan(pass)
	waitBeeps(t, bus.entry, 2)
	feedback(t, bus.entry, gate.Deny)
	in.Scan(pass[:len(pass)-3] + "AAA")
	waitBeeps(t, bus.entry, 3)
	feedback(t, bus.entry, gate.Deny)

	// 4. Exit; its pulse proves the refusals pulsed nothing (one scan is
	// decided and pulsed at a time per scanner, and the board logs in order).
	out.Scan(pass)
	waitBeeps(t, bus.exit, 1)
	feedback(t, bus.exit, gate.Grant)
	eventually(t, "second relay pulse", func() bool { return len(board.CoilLog()) >= 4 })
	if got := board.CoilLog(); !reflect.DeepEqual(got, pulses(2)) {
		t.Fatalf("coil writes %v, want two pulses", got)
	}
	if got, _ := l.app.Visits.Get(v.ID); got.State != visit.Out {
		t.Fatalf("visit %s after the exit", got.State)
	}

	holder := "visit:" + v.ID
	checkEvents(t, l,
		wantEvent{grant: true, entry: false, kind: 'q', reason: access.Granted, holder: holder},
		wantEvent{grant: false, entry: true, kind: 'q', reason: access.PassInvalid},
		wantEvent{grant: false, entry: true, kind: 'q', reason: access.AntiPassback, holder: holder},
		wantEvent{grant: true, entry: true, kind: 'q', reason: access.Granted, holder: holder},
	)
}

// A 26-bit Wiegand card enrolled the way access spells Wiegand cards
// ("W26:FC:NUMBER") must open the gate when an OSDP reader reads it, and a
// different Wiegand card must not pass for an enrolled card UID.
func TestWiegandCardAtSecureReader(t *testing.T) {
	l := newLobby(t)
	ctx := context.Background()
	groups, err := l.app.Access.Groups()
	if err != nil || len(groups) != 1 {
		t.Fatal(groups, err)
	}
	for _, number := range []string{"W26:12:3456", "12:34:56"} {
		if _, err := l.app.Access.Enrol(ctx, "setup", access.Credential{Kind: access.Card, Number: number,
			HolderKind: access.HolderContractor, HolderName: number, GroupIDs: []string{groups[0].ID}}); err != nil {
			t.Fatal(err)
		}
	}
	board := simBoard(t)
	relay := openRelay(t, board.Path())
	bus := newReaderBus(t, l.lane.ID, newPulseOnGrant(t, l.app.Access, relay, 0), busOptions{})

	// FC 1, card 23456: enrolled nowhere, yet "1:23456" normalises to the
	// UID "123456" of the card enrolled as 12:34:56.
	if err := bus.entry.PresentWiegand(26, 1, 23456); err != nil {
		t.Fatal(err)
	}
	waitBeeps(t, bus.entry, 1)
	feedback(t, bus.entry, gate.Deny)

	if err := bus.entry.PresentWiegand(26, 12, 3456); err != nil {
		t.Fatal(err)
	}
	waitBeeps(t, bus.entry, 2)
	feedback(t, bus.entry, gate.Grant)
	eventually(t, "relay pulse", func() bool { return len(board.CoilLog()) >= 2 })
	if got := board.CoilLog(); !reflect.DeepEqual(got, onePulse) {
		t.Fatalf("coil writes %v, want one pulse", got)
	}
}
