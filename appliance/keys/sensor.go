package keys

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"gatehouse/appliance/device"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Key-cabinet sensors. A key's slot may have a presence switch wired to a
// Modbus input board (a device of role device.KeyCabinet); the device
// runtime polls the board and hands every change of a slot to SlotChanged.
// A change becomes the command keys.sensed on the key mapped to that input,
// which writes the key's history; what the change means is Sense, a pure
// function of the key's state:
//
//	left its slot, no open checkout  → history, and the guard station's alarm
//	left its slot, checked out       → history
//	back in its slot, checked out    → the checkout is returned to its slot
//	                                   (top-level keys: only "seen in slot",
//	                                   the return waits for the second person)
//	back in its slot otherwise       → history
//
// The sensors never change who holds a key except by that return: a key
// taken without a checkout stays "in" on the records, and the audit from
// sensors shows it absent against them.

// Sensor is the presence switch of a key's slot: the key cabinet device
// and the input on its board (0-based, as Modbus addresses count).
type Sensor struct {
	Device string `json:"device"` // the key cabinet's device ID
	Input  int    `json:"input"`
}

// Command types of the sensors.
const (
	CmdSensor = "keys.sensor" // map a key to a slot's sensor, or unmap it
	CmdSensed = "keys.sensed" // a slot's sensor saw the key leave or come back
)

// History notes of sensed changes (Event.Kind "sensed_out" / "sensed_in").
const (
	SensedNoCheckout   = "no_checkout"   // left without a checkout: alarm
	SensedCheckedOut   = "checked_out"   // left on its open checkout
	SensedReturned     = "returned"      // back: the checkout is returned to its slot
	SensedAwaitsReturn = "awaits_return" // back, but a top-level key's return needs the second person
	SensedInSlot       = "in_slot"       // back, nothing open
)

// Sensing is what one sensed change of a key's slot means.
type Sensing struct {
	Event  string // the history entry's kind: "sensed_out" or "sensed_in"
	Note   string // one of the Sensed* notes, or the key's state (lost, retired)
	Alarm  bool   // raise "key taken without checkout" at the guard station
	Return bool   // close the open checkout as returned to its slot
}

// Sense is the meaning of a key seen leaving (present false) or back in
// (present true) its slot.
func Sense(k Key, present bool) Sensing {
	if !present {
		switch k.State {
		case In:
			return Sensing{Event: "sensed_out", Note: SensedNoCheckout, Alarm: true}
		case Out:
			return Sensing{Event: "sensed_out", Note: SensedCheckedOut}
		}
		return Sensing{Event: "sensed_out", Note: string(k.State)}
	}
	switch {
	case k.State == Out && TwoPerson(k.Level):
		return Sensing{Event: "sensed_in", Note: SensedAwaitsReturn}
	case k.State == Out:
		return Sensing{Event: "sensed_in", Note: SensedReturned, Return: true}
	case k.State == In:
		return Sensing{Event: "sensed_in", Note: SensedInSlot}
	}
	return Sensing{Event: "sensed_in", Note: string(k.State)}
}

type sensorPayload struct {
	KeyID  string  `json:"key_id"`
	Sensor *Sensor `json:"sensor,omitempty"` // nil: unmapped
	By     string  `json:"by"`
}

// cabinet reads a key cabinet's device record (the device package's; its
// key is all this needs to find it).
func cabinet(r *store.Reader, id string) (device.Device, error) {
	var d device.Device
	if !store.ValidID(id) {
		return d, device.ErrNotFound
	}
	err := r.GetJSON(store.Key(store.KindDevice, id), &d)
	if errors.Is(err, store.ErrNotFound) {
		err = device.ErrNotFound
	}
	return d, err
}

func applySensor(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p sensorPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	k, err := getKey(&tx.Reader, p.KeyID)
	if err != nil {
		return store.Effect{}, err
	}
	note := "removed"
	if p.Sensor != nil {
		var es field.Errors
		d, err := cabinet(&tx.Reader, p.Sensor.Device)
		switch {
		case errors.Is(err, device.ErrNotFound):
			es.Add("sensor_device", "key_sensor_device")
		case err != nil:
			return store.Effect{}, err
		case d.Role != device.KeyCabinet:
			es.Add("sensor_device", "key_sensor_device")
		default:
			_, first, n, ok := d.Inputs()
			if !ok || p.Sensor.Input < int(first) || p.Sensor.Input >= int(first)+int(n) {
				es.AddArg("sensor_input", "key_sensor_input", strconv.Itoa(int(first))+"–"+strconv.Itoa(int(first)+int(n)-1))
			}
			note = d.Name + " " + strconv.Itoa(p.Sensor.Input)
		}
		if len(es) == 0 {
			ks, err := allKeys(&tx.Reader)
			if err != nil {
				return store.Effect{}, err
			}
			for _, o := range ks {
				if o.ID != k.ID && o.Sensor != nil && *o.Sensor == *p.Sensor && o.State != Retired {
					es.AddArg("sensor_input", "key_sensor_taken", o.Tag)
				}
			}
		}
		if len(es) > 0 {
			return store.Effect{}, es
		}
	}
	k.Sensor = p.Sensor
	if err := tx.SetJSON(store.Key(store.KindKey, k.ID), k); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "key:" + k.ID, Note: "sensor " + note},
		addEvent(tx, cmd, Event{KeyID: k.ID, Kind: "sensor", By: p.By, Note: note})
}

type sensedPayload struct {
	KeyID   string `json:"key_id"`
	Present bool   `json:"present"`
	Device  string `json:"device"` // the cabinet's name, for the history
	Input   int    `json:"input"`
}

func applySensed(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p sensedPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	k, err := getKey(&tx.Reader, p.KeyID)
	if err != nil {
		return store.Effect{}, err
	}
	sn := Sense(k, p.Present)
	e := Event{KeyID: k.ID, Kind: sn.Event, By: p.Device, Note: sn.Note, Slot: k.Cabinet + " " + k.Slot, Ref: k.Checkout}
	if sn.Return {
		c, err := getJSON[Checkout](&tx.Reader, store.KindKeyCheckout, k.Checkout)
		if err != nil {
			return store.Effect{}, err
		}
		c.Returned, c.ReturnSlot, c.ReturnSensed = cmd.Time, k.Slot, true
		k.State, k.Checkout = In, ""
		if err := tx.SetJSON(store.Key(store.KindKeyCheckout, c.ID), c); err != nil {
			return store.Effect{}, err
		}
		if err := tx.Delete(store.Key(store.KindKeyOpen, c.ID)); err != nil {
			return store.Effect{}, err
		}
		if err := tx.SetJSON(store.Key(store.KindKey, k.ID), k); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "key:" + k.ID, Note: sn.Event + " " + sn.Note}, addEvent(tx, cmd, e)
}

// SetSensor maps a key to a slot's sensor (nil: no sensor).
func (s *Service) SetSensor(ctx context.Context, by Person, keyID string, sn *Sensor) error {
	_, err := store.Issue(ctx, s.db, CmdSensor, actorOf(by), s.clock.Now(), sensorPayload{KeyID: keyID, Sensor: sn, By: by.Name})
	return err
}

// SlotChange is one change a key cabinet's poll saw: the input's switch
// closed (a key put in) or opened (taken out).
type SlotChange struct {
	Device  string // the cabinet's device ID
	Name    string // and its name
	Input   int
	Present bool
	At      time.Time
}

// KeyTaken hears of a key that left its slot with no open checkout: the
// guard station's alarm (the appliance raises it through access).
type KeyTaken interface {
	KeyTaken(ctx context.Context, k Key, cabinet string) error
}

// Sensors turns the cabinets' slot changes into key-room commands. It
// implements the device runtime's slot watcher.
type Sensors struct {
	svc   *Service
	alarm KeyTaken
}

// NewSensors returns the sensors of s; alarm hears of keys taken without
// a checkout (nil: history only).
func NewSensors(s *Service, alarm KeyTaken) *Sensors { return &Sensors{svc: s, alarm: alarm} }

// ErrNoSensor: no key is mapped to that cabinet input.
var ErrNoSensor = errors.New("keys: no key on that sensor")

// SlotChanged records a sensed change on the key mapped to its input, and
// raises the alarm when the key left without a checkout. A change on an
// input no key is mapped to is ErrNoSensor: an empty slot, nothing to say.
func (ss *Sensors) SlotChanged(ctx context.Context, ch SlotChange) (Sensing, error) {
	k, err := ss.svc.BySensor(Sensor{Device: ch.Device, Input: ch.Input})
	if err != nil {
		return Sensing{}, err
	}
	res, err := store.Issue(ctx, ss.svc.db, CmdSensed, "device:"+ch.Name, ch.At,
		sensedPayload{KeyID: k.ID, Present: ch.Present, Device: ch.Name, Input: ch.Input})
	if err != nil {
		return Sensing{}, err
	}
	// What the command found when it applied, not what was read before it.
	ev, note, _ := strings.Cut(res.Note, " ")
	sn := Sensing{Event: ev, Note: note, Alarm: note == SensedNoCheckout, Return: note == SensedReturned}
	if sn.Alarm && ss.alarm != nil {
		if err := ss.alarm.KeyTaken(ctx, k, ch.Name); err != nil {
			return sn, err
		}
	}
	return sn, nil
}

// BySensor finds the key mapped to a cabinet input (retired keys aside).
func (s *Service) BySensor(sn Sensor) (Key, error) {
	var out Key
	err := s.db.View(func(r *store.Reader) error {
		ks, err := allKeys(r)
		if err != nil {
			return err
		}
		for _, k := range ks {
			if k.Sensor != nil && *k.Sensor == sn && k.State != Retired {
				out = k
				return nil
			}
		}
		return ErrNoSensor
	})
	return out, err
}

// SensorState is what a cabinet's sensors say of one input now: known is
// false while the cabinet is not answering (or not running).
type SensorState func(Sensor) (present, known bool)

// SensorLine is one mapped key in an audit from sensors.
type SensorLine struct {
	Key     Key
	Present bool // the sensor sees it in its slot
	Known   bool // the sensor answered
	// Discrepancy: the records and the sensor disagree — in on the
	// records but absent, or out (lost, retired) but present.
	Discrepancy bool
}

// SensorAudit lists every key mapped to a sensor (of cabinet, "" = all)
// against what its sensor says, by tag.
func SensorAudit(cabinet string, ks []Key, state SensorState) []SensorLine {
	var out []SensorLine
	for _, k := range ks {
		if k.Sensor == nil || k.State == Retired || (cabinet != "" && !strings.EqualFold(k.Cabinet, cabinet)) {
			continue
		}
		l := SensorLine{Key: k}
		l.Present, l.Known = state(*k.Sensor)
		l.Discrepancy = l.Known && l.Present != (k.State == In)
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b SensorLine) int { return strings.Compare(a.Key.Tag, b.Key.Tag) })
	return out
}

// SensorAudit is the audit from sensors of audit auditID's cabinet, now.
func (s *Service) SensorAudit(auditID string, state SensorState) ([]SensorLine, error) {
	a, err := s.Audit(auditID)
	if err != nil {
		return nil, err
	}
	var ks []Key
	if err := s.db.View(func(r *store.Reader) error { ks, err = allKeys(r); return err }); err != nil {
		return nil, err
	}
	return SensorAudit(a.Cabinet, ks, state), nil
}

// FillFromSensors counts, in the open audit auditID, every mapped key its
// sensor sees in its slot, where the records say it is kept; the keys the
// sensors see absent stay uncounted, so finishing reports them missing.
// It returns the lines it judged by.
func (s *Service) FillFromSensors(ctx context.Context, by Person, auditID string, state SensorState) ([]SensorLine, error) {
	ls, err := s.SensorAudit(auditID, state)
	if err != nil {
		return nil, err
	}
	for _, l := range ls {
		if !l.Present || !l.Known {
			continue
		}
		if err := s.Tick(ctx, by, auditID, l.Key.Tag, l.Key.Slot); err != nil {
			return ls, err
		}
	}
	return ls, nil
}
