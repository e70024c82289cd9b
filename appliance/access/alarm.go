package access

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// AlarmRecord is an alarm for the guard station, kept with its
// acknowledgement.
type AlarmRecord struct {
	Key     string `json:"key"` // hex of time+rand, the alarm's identity
	Kind    Alarm  `json:"kind"`
	Lane    string `json:"lane,omitempty"`
	Holder  string `json:"holder,omitempty"`
	Name    string `json:"name,omitempty"`
	Reason  Reason `json:"reason,omitempty"`
	At      int64  `json:"at"`
	Acked   int64  `json:"acked,omitempty"`
	AckBy   string `json:"ack_by,omitempty"`
	AckNote string `json:"ack_note,omitempty"`
}

// More alarm kinds, raised by devices and sweeps rather than decisions.
const (
	AlarmDoorForced Alarm = "door_forced"
	AlarmDoorHeld   Alarm = "door_held_open"
	AlarmBadges     Alarm = "unreturned_badges"
	AlarmManualOpen Alarm = "manual_open"
	// AlarmStoreCorrupt: the data store found bytes that fail their
	// checksum (appliance/store, Integrity). Raised once per start.
	AlarmStoreCorrupt Alarm = "store_corrupt"
	AlarmBackup       Alarm = "backup_failed" // the daily backup failed; the name says why
	// AlarmDevice: a device offline or failing longer than its set time;
	// the name is the device's (appliance/device, Watch).
	AlarmDevice Alarm = "device_down"
	// AlarmKeyTaken: a key cabinet's sensor saw a key leave its slot with
	// no open checkout; the name is the key's tag and its slot
	// (appliance/keys, Sensors).
	AlarmKeyTaken Alarm = "key_taken"
	// AlarmFireRelease: the fire-alarm panel's input went active and every
	// lift floor is released; AlarmFireReleaseEnded: it cleared and the
	// lifts are back to normal. The name is the input's device name.
	AlarmFireRelease      Alarm = "fire_release"
	AlarmFireReleaseEnded Alarm = "fire_release_ended"
)

// Command types.
const (
	CmdAlarmRaise = "access.alarm.raise"
	CmdAlarmAck   = "access.alarm.ack"
)

func alarmKey(at int64, rnd uint32) []byte {
	k := make([]byte, 13)
	k[0] = byte(store.KindAlarm)
	binary.BigEndian.PutUint64(k[1:], uint64(at))
	binary.BigEndian.PutUint32(k[9:], rnd)
	return k
}

func alarmID(at int64, rnd uint32) string { return fmt.Sprintf("%016x%08x", uint64(at), rnd) }

// AlarmOf is the alarm a decision's event raised, as recording the event
// stores it (same key, so the live feed's card can be acknowledged); name
// is the holder's name from the outcome.
func AlarmOf(e Event, name string) AlarmRecord {
	at := e.Time.UnixNano()
	return AlarmRecord{Key: alarmID(at, e.Rand), Kind: e.Alarm, Lane: e.Lane, Holder: e.Holder, Name: name, Reason: e.Reason, At: at}
}

func parseAlarmID(id string) ([]byte, bool) {
	var at uint64
	var rnd uint32
	if len(id) != 24 {
		return nil, false
	}
	if _, err := fmt.Sscanf(id, "%016x%08x", &at, &rnd); err != nil {
		return nil, false
	}
	return alarmKey(int64(at), rnd), true
}

func putAlarm(tx *store.Tx, a AlarmRecord, rnd uint32) error {
	a.Key = alarmID(a.At, rnd)
	return tx.SetJSON(alarmKey(a.At, rnd), a)
}

type raisePayload struct {
	Kind   Alarm  `json:"kind"`
	Lane   string `json:"lane,omitempty"`
	Name   string `json:"name,omitempty"`
	Reason Reason `json:"reason,omitempty"`
	Rand   uint32 `json:"n"`
}

func applyAlarmRaise(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p raisePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if p.Kind == "" {
		return store.Effect{}, fmt.Errorf("%w: alarm without kind", field.ErrInvalid)
	}
	a := AlarmRecord{Kind: p.Kind, Lane: p.Lane, Name: p.Name, Reason: p.Reason, At: cmd.Time}
	return store.Effect{Subject: "lane:" + p.Lane, Note: "alarm " + string(p.Kind)}, putAlarm(tx, a, p.Rand)
}

type ackPayload struct {
	ID   string `json:"id"`
	Note string `json:"note"`
}

func applyAlarmAck(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p ackPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	k, ok := parseAlarmID(p.ID)
	if !ok {
		return store.Effect{}, ErrNotFound
	}
	var a AlarmRecord
	if err := tx.GetJSON(k, &a); errors.Is(err, store.ErrNotFound) {
		return store.Effect{}, ErrNotFound
	} else if err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	p.Note = es.Text("note", p.Note, true, 200)
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if a.Acked != 0 {
		return store.Effect{}, field.Errors{{Field: "note", Code: "already_acknowledged"}}
	}
	a.Acked, a.AckBy, a.AckNote = cmd.Time, cmd.Actor, p.Note
	return store.Effect{Subject: "alarm:" + p.ID, Note: "acknowledged"}, tx.SetJSON(k, a)
}

// Raise records an alarm that no decision raised (doors, sweeps, manual
// opens).
func (s *Service) Raise(ctx context.Context, actor string, kind Alarm, lane, name string) error {
	var b [4]byte
	_, _ = rand.Read(b[:])
	now, rnd := s.clock.Now(), binary.BigEndian.Uint32(b[:])
	if _, err := store.Issue(ctx, s.db, CmdAlarmRaise, actor, now,
		raisePayload{Kind: kind, Lane: lane, Name: name, Rand: rnd}); err != nil {
		return err
	}
	if s.onAlarm != nil {
		at := now.UnixNano()
		s.onAlarm(AlarmRecord{Key: alarmID(at, rnd), Kind: kind, Lane: lane, Name: name, At: at})
	}
	return nil
}

// OnAlarm registers a listener for alarms raised outside a decision (doors,
// sweeps, the key room): the guard station's live feed. It must not block.
// Alarms a decision raises come with its event through OnEvent.
func (s *Service) OnAlarm(f func(AlarmRecord)) { s.onAlarm = f }

// Acknowledge closes an alarm with the guard's note.
func (s *Service) Acknowledge(ctx context.Context, actor, id, note string) error {
	// The alarm may still be on its way from this lobby's journal: let it
	// land first (moments; a lobby cut off refuses the acknowledgement
	// anyway, as every change).
	if s.out != nil && len(s.out.pending()) > 0 {
		fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_ = s.Flush(fctx)
		cancel()
	}
	_, err := store.Issue(ctx, s.db, CmdAlarmAck, actor, s.clock.Now(), ackPayload{ID: id, Note: note})
	return err
}

// Alarms lists alarms newest first; open only when unacked is set.
func (s *Service) Alarms(unacked bool, limit int) ([]AlarmRecord, error) {
	var out []AlarmRecord
	pending := s.out.pending() // this lobby's, not shipped yet (see Recent)
	err := s.db.View(func(r *store.Reader) error {
		err := r.Scan(store.Prefix(store.KindAlarm), store.ScanOptions{Reverse: true}, func(_, v []byte) (bool, error) {
			var a AlarmRecord
			if err := json.Unmarshal(v, &a); err != nil {
				return true, nil
			}
			if !unacked || a.Acked == 0 {
				out = append(out, a)
			}
			return len(out) < limit, nil
		})
		if err != nil {
			return err
		}
		for _, ev := range pending {
			if ev.Alarm == NoAlarm {
				continue
			}
			if in, err := stored(r, ev); err != nil {
				return err
			} else if !in {
				out = append(out, AlarmOf(ev.event(), ev.Name))
			}
		}
		return nil
	})
	if len(pending) > 0 {
		slices.SortStableFunc(out, func(a, b AlarmRecord) int { return cmp.Compare(b.At, a.At) })
		out = out[:min(limit, len(out))]
	}
	return out, err
}
