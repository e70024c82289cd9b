package access

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
	"time"

	"gatehouse/appliance/report/hourly"
	"gatehouse/appliance/store"
)

// Event is one decision at a lane, kept for years. On disk it is a fixed
// 52-byte binary record (see encode) keyed by time, with two index keys
// (by holder, by lane) that carry no value, so a year of a busy building
// stays in the low gigabytes.
type Event struct {
	Time   time.Time
	Lane   string // lane ID
	Entry  bool
	Kind   byte // 'c' card, 'q' QR, 'p' PIN, 'm' manual open, 'g' a visitor let in by the guard
	Grant  bool
	Reason Reason
	Alarm  Alarm
	CredID string // "" for visitors and manual opens
	Holder string // directory person ID, "visit:<id>", "cred:<id>" or ""
	Rand   uint32 // tie-breaker for events in the same nanosecond, drawn by the issuer
	// Lobby is the number of the lobby whose gate decided it, in a site
	// of several lobbies (Service.Lobbies names them); 0 for a single
	// lobby and for events from before sites.
	Lobby uint16
}

// Reason and alarm codes are stored as one byte each; the tables never
// renumber, only grow.
var reasonCodes = []Reason{"", Granted, Unknown, Revoked, Lost, Suspended, Returned, NotYetValid, Expired, OutsideProfile,
	NoPermission, UseLimit, AntiPassback, Blacklisted, VisitNotApproved, VisitRejected, PassInvalid, UnknownLane,
	GrantedSoftBreach, ManualOpened, HolderDeactivated, CompanyDeactivated, ManualOpenFailed, AdmittedByGuard}

var alarmCodes = []Alarm{NoAlarm, AlarmDeniedVisit, AlarmRejected, AlarmPassback, AlarmBlacklisted}

func codeOf[T comparable](table []T, v T) byte {
	for i, x := range table {
		if x == v {
			return byte(i)
		}
	}
	return 0
}

var idEnc = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// idRaw packs a 16-character store ID into 10 bytes (zeros for "").
func idRaw(id string) []byte {
	b := make([]byte, 10)
	if len(id) == 16 {
		if d, err := idEnc.DecodeString(id); err == nil {
			copy(b, d)
		}
	}
	return b
}

func idText(b []byte) string {
	for _, c := range b {
		if c != 0 {
			return idEnc.EncodeToString(b)
		}
	}
	return ""
}

// holder kinds in the record's first holder byte.
const (
	holderNone   = 0
	holderPerson = 1
	holderVisit  = 2
	holderCred   = 3
)

func holderRaw(h string) (byte, []byte) {
	switch {
	case h == "":
		return holderNone, idRaw("")
	case len(h) == 22 && h[:6] == "visit:":
		return holderVisit, idRaw(h[6:])
	case len(h) == 21 && h[:5] == "cred:":
		return holderCred, idRaw(h[5:])
	}
	return holderPerson, idRaw(h)
}

func holderString(kind byte, b []byte) string {
	id := idText(b)
	switch {
	case id == "":
		return ""
	case kind == holderVisit:
		return "visit:" + id
	case kind == holderCred:
		return "cred:" + id
	}
	return id
}

const eventLen = 8 + 10 + 1 + 1 + 1 + 1 + 10 + 1 + 10 + 4 + 5 // 52

// encode lays the event out as
//
//	time(8) lane(10) flags(1: entry, grant) kind(1) reason(1) alarm(1)
//	cred(10) holderKind(1) holder(10) rand(4) lobby(2) reserved(3)
func (e Event) encode() []byte {
	b := make([]byte, 0, eventLen)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixNano()))
	b = append(b, idRaw(e.Lane)...)
	var flags byte
	if e.Entry {
		flags |= 1
	}
	if e.Grant {
		flags |= 2
	}
	b = append(b, flags, e.Kind, codeOf(reasonCodes, e.Reason), codeOf(alarmCodes, e.Alarm))
	b = append(b, idRaw(e.CredID)...)
	hk, hb := holderRaw(e.Holder)
	b = append(b, hk)
	b = append(b, hb...)
	b = binary.BigEndian.AppendUint32(b, e.Rand)
	b = binary.BigEndian.AppendUint16(b, e.Lobby)
	return append(b, 0, 0, 0)
}

var errBadEvent = errors.New("access: malformed event record")

func decodeEvent(b []byte) (Event, error) {
	if len(b) != eventLen {
		return Event{}, errBadEvent
	}
	e := Event{Time: time.Unix(0, int64(binary.BigEndian.Uint64(b[0:8])))}
	e.Lane = idText(b[8:18])
	e.Entry, e.Grant = b[18]&1 != 0, b[18]&2 != 0
	e.Kind = b[19]
	if int(b[20]) < len(reasonCodes) {
		e.Reason = reasonCodes[b[20]]
	}
	if int(b[21]) < len(alarmCodes) {
		e.Alarm = alarmCodes[b[21]]
	}
	e.CredID = idText(b[22:32])
	e.Holder = holderString(b[32], b[33:43])
	e.Rand = binary.BigEndian.Uint32(b[43:47])
	e.Lobby = binary.BigEndian.Uint16(b[47:49])
	return e, nil
}

// keys of an event: primary by time, and the holder and lane indexes.
func (e Event) keys() (primary, byHolder, byLane []byte) {
	tr := make([]byte, 12)
	binary.BigEndian.PutUint64(tr, uint64(e.Time.UnixNano()))
	binary.BigEndian.PutUint32(tr[8:], e.Rand)
	primary = append([]byte{byte(store.KindEvent)}, tr...)
	hk, hb := holderRaw(e.Holder)
	byHolder = append(append([]byte{byte(store.KindEventByHold), hk}, hb...), tr...)
	byLane = append(append([]byte{byte(store.KindEventByLane)}, idRaw(e.Lane)...), tr...)
	return
}

// PutEvent writes an event inside a command: the record by time, the lane
// and holder indexes, and the hourly counter the flow dashboard and the
// reports read (appliance/report/hourly). It is the one place an event is
// written; presence and alarms are the caller's.
func PutEvent(tx *store.Tx, e Event) error {
	k1, k2, k3 := e.keys()
	if err := tx.Set(k1, e.encode()); err != nil {
		return err
	}
	if err := tx.Set(k3, nil); err != nil {
		return err
	}
	hk, _ := holderRaw(e.Holder)
	if hk != holderNone {
		if err := tx.Set(k2, nil); err != nil {
			return err
		}
	}
	return hourly.Add(tx, e.Time, e.Lane, hourly.Cell(e.Entry, e.Grant, hk), 1)
}

// EventHolderKind is the kind of holder an event's Holder names, as the hourly
// counters sort it (hourly.HolderPerson, ...).
func EventHolderKind(holder string) byte {
	k, _ := holderRaw(holder)
	return k
}

// ScanEvents calls fn with every event in [from, to), oldest first, inside
// a command or a view: the hourly counters' rebuild reads them this way.
func ScanEvents(r *store.Reader, from, to time.Time, fn func(Event) error) error {
	prefix := []byte{byte(store.KindEvent)}
	start := append(append([]byte(nil), prefix...), store.U64(uint64(max(from.UnixNano(), 0)))...)
	hi := uint64(to.UnixNano())
	return r.Scan(prefix, store.ScanOptions{Start: start}, func(k, v []byte) (bool, error) {
		if len(k) < 9 || binary.BigEndian.Uint64(k[1:9]) >= hi {
			return false, nil
		}
		e, err := decodeEvent(v)
		if err != nil {
			return true, nil // a damaged record is skipped, as everywhere
		}
		return true, fn(e)
	})
}
