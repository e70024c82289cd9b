package demo

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/device"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/visit"
)

// Card is a demo employee card to print and present.
type Card struct {
	Number string
	Holder string
	Note   string
}

// Cards are the demo building's employee cards: one that opens at any
// time, one limited to working hours, one suspended.
var Cards = []Card{
	{"04A1B2C3", "王伟 Wang Wei", "any time"},
	{"04D4E5F6", "李芳 Li Fang", "working hours, Monday to Friday 08:00–18:00"},
	{"04778899", "张磊 Zhang Lei", "suspended"},
}

// Lane names and the simulator files behind their devices.
const (
	LaneA = "Gate A"
	LaneB = "Gate B"
)

// Lanes sets up the demo building's two gate lanes — zone "Lobby" with soft
// anti-passback, lanes "Gate A" and "Gate B" open to visitors, a working
// hours profile, a staff group, the demo cards — and configures the
// devices of each lane on simulator paths in simDir: an entry and an exit
// QR scanner, a card reader, one Modbus board with both lanes' relays and
// door contacts, an OSDP card reader with the secure channel at Gate B,
// and at the desk an enrolment card reader, a passport reader, a receipt
// printer, and a GSM modem for SMS; in the key room a key cabinet whose slots' sensors the demo keys of
// cabinet A are mapped to. What exists already (by name, or by card number) is kept, so a
// demo building set up before has its lanes added once; a device whose
// path differs (the data directory moved) is pointed at simDir again.
func Lanes(ctx context.Context, a *appliance.App, simDir string) error {
	const actor = "demo"
	simDir, err := filepath.Abs(simDir)
	if err != nil {
		return err
	}
	// In a demo site of several lobbies each lobby after the first has
	// lanes and devices of its own, named after it.
	prefix := ""
	if self, founder := a.Devices.Lobby(); self != "" && !founder {
		prefix = self + " "
	}
	g, err := gates(ctx, a, prefix)
	if err != nil {
		return err
	}
	for _, d := range devices(simDir, prefix, g.lanes[LaneA].ID, g.lanes[LaneB].ID) {
		old, err := a.Devices.ByName(d.Name)
		switch {
		case errors.Is(err, device.ErrNotFound):
		case err != nil:
			return err
		case old.Port == d.Port:
			continue
		default:
			old.Port = d.Port
			d = old
		}
		if _, err := a.Devices.Save(ctx, actor, d); err != nil {
			return fmt.Errorf("device %s: %w", d.Name, err)
		}
	}
	if err := faceTerminal(ctx, a, prefix, g.lanes[LaneA].ID); err != nil {
		return err
	}
	return sensors(ctx, a)
}

// FaceTerminal is the demo's face terminal at Gate A (its simulator runs on
// a loopback port chosen at each start: serve points the device at it).
const FaceTerminal = LaneA + " face terminal"

// FacePassword is the demo face terminal's password (a simulator's).
const FacePassword = "Demo-face-2026"

// faceTerminal adds the demo's face terminal, appliance decides, once.
func faceTerminal(ctx context.Context, a *appliance.App, prefix, lane string) error {
	if _, err := a.Devices.ByName(prefix + FaceTerminal); err == nil {
		return nil
	} else if !errors.Is(err, device.ErrNotFound) {
		return err
	}
	pw, err := a.Keys.Seal(FacePassword)
	if err != nil {
		return err
	}
	_, err = a.Devices.Save(ctx, "demo", device.Device{Name: prefix + FaceTerminal, Port: "http://127.0.0.1", Protocol: device.ISAPI,
		Role: device.EntryReader, LaneID: lane, Address: "1", Enabled: true, Options: device.Options{User: "admin", Password: pw}})
	if err != nil {
		return fmt.Errorf("device %s: %w", FaceTerminal, err)
	}
	return nil
}

// CabinetA is the demo key cabinet's device name.
const CabinetA = "Key cabinet A"

// sensors maps the demo keys of cabinet A that have no sensor yet to the
// cabinet's inputs, slot n on input n-1, in a manager's name (none in the
// building: left unmapped).
func sensors(ctx context.Context, a *appliance.App) error {
	cab, err := a.Devices.ByName(CabinetA)
	if err != nil {
		return err
	}
	accs, err := a.Auth.Accounts()
	if err != nil {
		return err
	}
	var by keys.Person
	for _, acc := range accs {
		if acc.Role == auth.Manager && !acc.Disabled {
			by = keys.PersonOf(acc)
			break
		}
	}
	rows, err := a.KeyRoom.Search("")
	if err != nil || by.ID == "" {
		return err
	}
	for _, r := range rows {
		k := r.Key
		n, err := strconv.Atoi(k.Slot)
		if k.Cabinet != "A" || k.Sensor != nil || k.State == keys.Retired || err != nil || n < 1 || n > cab.Options.Slots {
			continue
		}
		if err := a.KeyRoom.SetSensor(ctx, by, k.ID, &keys.Sensor{Device: cab.ID, Input: n - 1}); err != nil {
			return fmt.Errorf("key %s's sensor: %w", k.Tag, err)
		}
	}
	return nil
}

// gateSetup is what the demo's lanes are made of.
type gateSetup struct {
	zone  access.Zone
	lanes map[string]access.Lane
	group access.Group // "Lobby staff"
}

// gates finds or saves the zone, lanes, profile, group and demo cards of
// Lanes: the history (History) needs the lanes before the devices exist.
func gates(ctx context.Context, a *appliance.App, prefix string) (gateSetup, error) {
	const actor = "demo"
	zone, err := findOrSave(a.Access.Zones, func(z access.Zone) string { return z.Name }, "Lobby", func() (access.Zone, error) {
		return a.Access.SaveZone(ctx, actor, access.Zone{Name: "Lobby", Passback: access.PassbackSoft})
	})
	if err != nil {
		return gateSetup{}, fmt.Errorf("zone: %w", err)
	}
	lanes := map[string]access.Lane{}
	for _, name := range []string{LaneA, LaneB} {
		l, err := findOrSave(a.Access.Lanes, func(l access.Lane) string { return l.Name }, prefix+name, func() (access.Lane, error) {
			return a.Access.SaveLane(ctx, actor, access.Lane{Name: prefix + name, ZoneID: zone.ID, Visitors: true, PulseMs: 1000})
		})
		if err != nil {
			return gateSetup{}, fmt.Errorf("lane %s: %w", name, err)
		}
		lanes[name] = l
	}
	wd := []access.Range{{From: 8 * 60, To: 18 * 60}}
	prof, err := findOrSave(a.Access.Profiles, func(p access.Profile) string { return p.Name }, "Working hours", func() (access.Profile, error) {
		return a.Access.SaveProfile(ctx, actor, access.Profile{Name: "Working hours", Week: [7][]access.Range{1: wd, 2: wd, 3: wd, 4: wd, 5: wd}})
	})
	if err != nil {
		return gateSetup{}, fmt.Errorf("profile: %w", err)
	}
	group, err := findOrSave(a.Access.Groups, func(g access.Group) string { return g.Name }, "Lobby staff", func() (access.Group, error) {
		return a.Access.SaveGroup(ctx, actor, access.Group{Name: "Lobby staff", ZoneIDs: []string{zone.ID}})
	})
	if err != nil {
		return gateSetup{}, fmt.Errorf("group: %w", err)
	}
	for i, c := range Cards {
		if _, err := a.Access.CredentialByCard(c.Number); err == nil {
			continue
		} else if !errors.Is(err, access.ErrNotFound) {
			return gateSetup{}, err
		}
		cred := access.Credential{Kind: access.Card, Number: c.Number, HolderKind: access.HolderEmployee, HolderName: c.Holder,
			GroupIDs: []string{group.ID}}
		if i == 1 {
			cred.ProfileID = prof.ID
		}
		cred, err := a.Access.Enrol(ctx, actor, cred)
		if err != nil {
			return gateSetup{}, fmt.Errorf("card %s: %w", c.Number, err)
		}
		if i == 2 {
			if err := a.Access.SetState(ctx, actor, cred.ID, access.StateSuspended, "demo"); err != nil {
				return gateSetup{}, err
			}
		}
	}
	return gateSetup{zone: zone, lanes: lanes, group: group}, nil
}

// devices is the demo building's device configuration.
func devices(dir, prefix, laneA, laneB string) []device.Device {
	at := func(name string) string { return filepath.Join(dir, name) }
	board := at("relay-board")
	var out []device.Device
	for i, l := range []struct{ name, id, file string }{{LaneA, laneA, "gate-a"}, {LaneB, laneB, "gate-b"}} {
		out = append(out,
			device.Device{Name: l.name + " entry scanner", Port: at(l.file + "-entry"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: l.id},
			device.Device{Name: l.name + " exit scanner", Port: at(l.file + "-exit"), Protocol: device.Scanner, Role: device.ExitReader, LaneID: l.id},
			device.Device{Name: l.name + " card reader", Port: at(l.file + "-card"), Protocol: device.Scanner, Role: device.EntryReader, LaneID: l.id,
				Options: device.Options{Reads: gate.Card}},
			device.Device{Name: l.name + " relay", Port: board, Protocol: device.Modbus, Address: fmt.Sprintf("1:%d", i), Role: device.Relay, LaneID: l.id},
			device.Device{Name: l.name + " door", Port: board, Protocol: device.Modbus, Address: fmt.Sprintf("1:%d", i), Role: device.DoorContact, LaneID: l.id},
		)
	}
	out = append(out,
		device.Device{Name: "Desk enrolment reader", Port: at("desk-card"), Protocol: device.Scanner, Role: device.EnrolmentReader,
			Options: device.Options{Reads: gate.Card}},
		device.Device{Name: "Desk passport reader", Port: at("desk-mrz"), Protocol: device.MRZ, Role: device.DocumentReader},
		device.Device{Name: "Desk ID card reader", Port: at("desk-idcard"), Protocol: device.IDCard, Role: device.DocumentReader},
		// An OSDP card reader on an RS-485 bus, on the secure channel: it
		// starts in install mode and the appliance gives it its own key.
		device.Device{Name: LaneB + " OSDP reader", Port: at("rs485"), Protocol: device.OSDP, Address: "1", Role: device.EntryReader,
			LaneID: laneB, Options: device.Options{Secure: true}},
		device.Device{Name: "Desk printer", Port: at("desk-printer"), Protocol: device.ESCPOS, Role: device.Printer},
		device.Device{Name: "SMS modem", Port: at("modem"), Protocol: device.Modem, Role: device.ModemRole},
		// The key room's cabinet A: ten slots with presence switches on
		// the inputs of their own board.
		device.Device{Name: CabinetA, Port: at("key-cabinet"), Protocol: device.Modbus, Address: "1:0", Role: device.KeyCabinet,
			Options: device.Options{Slots: 10}},
	)
	for i := range out {
		out[i].Baud, out[i].Enabled = 9600, true
		out[i].Name = prefix + out[i].Name
	}
	return out
}

// findOrSave returns the record named name, saving a new one if none is.
func findOrSave[T any](list func() ([]T, error), nameOf func(T) string, name string, save func() (T, error)) (T, error) {
	xs, err := list()
	if err != nil {
		var zero T
		return zero, err
	}
	for _, x := range xs {
		if nameOf(x) == name {
			return x, nil
		}
	}
	return save()
}

// VisitorPass invites a demo visitor for the next two hours, hosted by the
// first employee who receives visitors, and returns the pass's QR text: what
// the demo page scans at a lane.
func VisitorPass(ctx context.Context, a *appliance.App, actor string) (string, error) {
	pg, err := a.Directory.Search(directory.Query{Kind: directory.Employee, Limit: 50})
	if err != nil {
		return "", err
	}
	host := ""
	for _, p := range pg.People {
		if p.CanHost && p.Active {
			host = p.ID
			break
		}
	}
	if host == "" {
		return "", fmt.Errorf("demo: no employee receives visitors: %w", directory.ErrNotFound)
	}
	now := a.Clock.Now()
	v, _, err := a.Visits.Invite(ctx, actor, visit.Request{Name: "演示访客 Demo visitor", Mobile: "13700137000", HostID: host,
		Reason: "Demo", From: now.Add(-time.Minute), Until: now.Add(2 * time.Hour)})
	if err != nil {
		return "", err
	}
	return a.Visits.Token(v)
}
