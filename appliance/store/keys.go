package store

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// Kind is the first byte of every key: one per record kind, so that kinds
// never collide and every kind can be scanned by prefix. The full list lives
// here so that a new domain cannot reuse a byte by accident.
type Kind byte

// Record kinds. Values are part of the on-disk format: never renumber.
const (
	KindMeta  Kind = 0x00 // schema version, audit head
	KindAudit Kind = 0x01 // audit entries by sequence
	// KindAuditWrites holds each command's write set: seq (u64) chunk (u32)
	// -> 32-byte records (see writes.go).
	KindAuditWrites Kind = 0x02
	// KindWriteMark is the last write of every key: sha256(key)[:16] ->
	// seq (u64) and sha256(value)[:16] (zeros: deleted).
	KindWriteMark Kind = 0x03
	KindGrave     Kind = 0x04 // deleted key (whole) -> nil: deletions since the last full backup, see DESIGN.md
	// KindRequest: what the applier answered a command from the site's log
	// that carried a request ID, so a retry of it is answered again and not
	// applied twice (request.go): the command's time (u64) request ID ->
	// index, audit seq, result. The applier's own record, like the applied
	// index: written by no handler, so no write mark.
	KindRequest Kind = 0x05

	KindFloor         Kind = 0x10
	KindCompany       Kind = 0x11
	KindPerson        Kind = 0x12
	KindPersonByName  Kind = 0x13 // lower(name) 0 id -> index value
	KindPersonByComp  Kind = 0x14 // company 0 lower(name) 0 id
	KindPersonByFloor Kind = 0x15 // floor 0 lower(name) 0 id
	KindPersonByNo    Kind = 0x16 // employee number -> id
	KindCompanyByName Kind = 0x17 // lower(name) -> id
	KindImportStage   Kind = 0x18 // import id 0 chunk seq -> rows
	KindImportCommit  Kind = 0x19 // import id -> commit record
	// The host search (appliance/directory/hosts.go): every search term of
	// a person (names, pinyin, initials, employee number) and the blind
	// value of the mobile's last 4 digits, each carrying what a search
	// filters on; and the version of those terms the directory holds.
	KindPersonByTerm   Kind = 0x1A // term 0 id -> host flag + index value
	KindPersonByTail   Kind = 0x1B // blind(last 4 digits of the mobile) 0 id -> host flag + index value
	KindPersonSearchOK Kind = 0x1C // "version" -> version of the search terms every person is indexed under

	KindAccount       Kind = 0x20
	KindAccountByName Kind = 0x21 // lower(username) -> id
	KindToken         Kind = 0x22 // sha256(token) -> token record
	KindTokenByID     Kind = 0x23 // token id -> sha256(token)

	KindVisit          Kind = 0x30
	KindVisitByTime    Kind = 0x31 // from (u64 BE ns) id -> state
	KindVisitByHost    Kind = 0x32 // host id 0 from (u64) id
	KindVisitByState   Kind = 0x33 // state 0 until (u64) id
	KindVisitByLink    Kind = 0x34 // sha256(link token) -> visit id
	KindVisitByVisitor Kind = 0x35 // blind(mobile) 0 from (u64) id
	KindPass           Kind = 0x36 // pass id -> visit id
	KindVisitPhoto     Kind = 0x37 // visit id -> sealed JPEG
	KindVisitCard      Kind = 0x3F // sha256(ID card chip serial) -> visit id: the visitor's own card opens their visit's lanes
	KindVisitPurge     Kind = 0x3B // "personal" | "photos" -> from (u64) below which nothing is left to purge

	KindScreen      Kind = 0x38 // entry id -> screening entry
	KindScreenByKey Kind = 0x39 // list 0 match kind 0 value -> entry id
	KindScreenHit   Kind = 0x3A // time (u64) id -> hit record

	KindNotify         Kind = 0x40 // message id -> outbox record
	KindNotifyDue      Kind = 0x41 // due (u64 BE ns) 0 message id, pending messages only
	KindNotifyDead     Kind = 0x42 // message id, dead letters
	KindNotifyTo       Kind = 0x43 // account id 0 message id, in-page messages
	KindNotifySettings Kind = 0x44 // "settings" -> notification settings
	KindNotifyGroup    Kind = 0x45 // group id -> delivery totals of the group's messages (3 × u32 BE)

	KindConference       Kind = 0x50 // conference id -> conference record
	KindConferenceByTime Kind = 0x51 // from (u64) id -> nil
	KindConferenceOpen   Kind = 0x52 // until (u64) id -> nil, until the meeting's end has closed its passes
	KindConferenceVisit  Kind = 0x53 // conference id 0 visit id -> nil (attendees, in list order)
	KindConferenceMobile Kind = 0x54 // conference id 0 blind(mobile) -> visit id
	KindConferenceStage  Kind = 0x55 // batch id 0 chunk seq -> staged attendee visits
	KindConferenceBatch  Kind = 0x56 // batch id -> committed registration
)

// Access (0x60..): gates, credentials, permissions, events.
const (
	KindZone         Kind = 0x60
	KindLane         Kind = 0x61
	KindGroup        Kind = 0x62
	KindProfile      Kind = 0x63
	KindHoliday      Kind = 0x64 // date "2006-01-02" -> holiday
	KindCred         Kind = 0x65 // credential id -> credential
	KindCredByNumber Kind = 0x66 // kind 0 number -> credential id
	KindCredByHolder Kind = 0x67 // holder id 0 credential id
	KindPresence     Kind = 0x68 // holder 0 zone -> inside since (u64)
	KindUseDay       Kind = 0x69 // credential 0 local date -> count (u32)
	KindUseTotal     Kind = 0x6A // credential -> count (u32)
	KindEvent        Kind = 0x6B // time (u64) rand (u32) -> compact event
	KindEventByHold  Kind = 0x6C // holder (10 bytes) time rand
	KindEventByLane  Kind = 0x6D // lane (10 bytes) time rand
	KindPresenceZone Kind = 0x6E // zone 0 holder -> since (u64)
	KindAlarm        Kind = 0x6F // time (u64) rand (u32) -> alarm
	// An exit applied before the entry it follows (events shipped late from
	// a lobby that was cut off): that entry must not set presence again.
	// Below the block: 0x60..0x6F are taken.
	KindPresenceOut Kind = 0x5F // holder 0 zone -> exit time (u64)
	KindLobbies     Kind = 0x5E // "lobbies" -> the lobbies' names in the order they first shipped events (JSON); an event's lobby number is its place + 1
)

// Devices (0x70..): the serial devices' configuration (appliance/device).
const (
	KindDevice       Kind = 0x70 // device id -> device
	KindDeviceByName Kind = 0x71 // lower(name) -> device id
	KindDeviceKey    Kind = 0x72 // device id -> sealed OSDP secure channel key (SCBK)
)

// Keys and card stock (0x80..): key custody (appliance/keys) and card
// stock (appliance/stock).
const (
	KindKey          Kind = 0x80 // key id -> key
	KindKeyByTag     Kind = 0x81 // upper(tag) -> key id
	KindKeyEvent     Kind = 0x82 // key id 0 time (u64) seq (u64) -> history entry
	KindKeyCheckout  Kind = 0x83 // checkout id -> checkout
	KindKeyOpen      Kind = 0x84 // checkout id -> nil, while the key is out
	KindKeyLevel     Kind = 0x85 // level (decimal) -> level rules
	KindKeyCase      Kind = 0x86 // lost-key case id -> case
	KindKeyAudit     Kind = 0x87 // audit id -> audit
	KindKeySeq       Kind = 0x88 // "seq" -> last history sequence (u64)
	KindKeyEventSeq  Kind = 0x89 // seq (u64) -> the history entry's KindKeyEvent key, for reading all of it in order
	KindStockItem    Kind = 0x90 // card number -> item
	KindStockLedger  Kind = 0x91 // seq (u64) -> ledger entry
	KindStockHand    Kind = 0x92 // handover id -> handover
	KindStockRecon   Kind = 0x93 // lobby 0 day 0 seq (u64) -> reconciliation
	KindStockSeq     Kind = 0x94 // "seq" -> last ledger sequence (u64)
	KindStockByLobby Kind = 0x95 // lower(lobby) -> lobby name as typed
	KindStockByCard  Kind = 0x96 // card number 0 seq (u64) -> nil: the ledger entries that touched a card
)

// Announcements and messages (0xA0..): appliance/notice.
const (
	KindNotice        Kind = 0xA0 // announcement id -> announcement
	KindNoticeImage   Kind = 0xA1 // image id -> JPEG (covers and pictures in the content)
	KindNoticeMessage Kind = 0xA2 // message id -> sent message (the message centre's history)
	KindNoticeMonth   Kind = 0xA3 // "2006-01" (site time) -> urgent broadcasts sent that month (u32 BE)
)

// People flow and reports (0xB0..): counters derived from gate events,
// kept so that a dashboard or a yearly report reads hours, not events.
const (
	KindFlowHour Kind = 0xB0 // UTC hour (u32 BE) lane ID -> 16 counters (u32 BE), see appliance/report/hourly
	KindFlowMeta Kind = 0xB1 // "rebuild" -> state of the one-time rebuild from older events
)

// Backups (0xC0..): appliance/backup.
const (
	KindBackupSettings Kind = 0xC0 // "settings" -> target, time, rotation, the wrapped site key
	KindBackupRun      Kind = 0xC1 // started (u64 BE ns) id -> what one backup run did
)

// Site settings (0xD0..): appliance/site.
const (
	KindSiteSettings Kind = 0xD0 // "settings" -> the settings the administrator stored (key -> value text)
)

// A site of several lobbies (0xE0..): cluster/.
const (
	KindJoinToken Kind = 0xE0 // token id -> join token record (the secret's hash, expiry, use)
	KindSite      Kind = 0xE1 // "site" -> who founded the site, when, and its CA pin
)

// Sep separates variable-length parts of a key. Parts must not contain it.
const Sep = 0x00

// Key joins a kind and string parts with Sep.
func Key(k Kind, parts ...string) []byte {
	n := 1
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, byte(k))
	for i, p := range parts {
		if i > 0 {
			b = append(b, Sep)
		}
		b = append(b, p...)
	}
	return b
}

// Prefix is Key followed by a trailing separator, for scanning every key
// whose leading parts equal parts.
func Prefix(k Kind, parts ...string) []byte {
	if len(parts) == 0 {
		return []byte{byte(k)}
	}
	return append(Key(k, parts...), Sep)
}

// U64 encodes n big-endian, so numeric keys sort in order.
func U64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// kindNames name the record kinds an operator may be told about when a
// record is corrupt or was changed outside the command path.
var kindNames = map[Kind]string{
	KindMeta: "meta", KindAudit: "audit entry", KindRequest: "applied request", KindAuditWrites: "audit write set", KindWriteMark: "write mark",
	KindFloor: "floor", KindCompany: "company", KindPerson: "person", KindPersonByName: "person name index",
	KindPersonByComp: "person company index", KindPersonByFloor: "person floor index", KindPersonByNo: "employee number index",
	KindCompanyByName: "company name index", KindPersonByTerm: "person search term", KindPersonByTail: "person mobile tail index",
	KindPersonSearchOK: "person search index version", KindImportStage: "staged import", KindImportCommit: "import",
	KindAccount: "account", KindAccountByName: "username index", KindToken: "API token", KindTokenByID: "API token id index",
	KindVisit: "visit", KindPass: "pass", KindVisitPhoto: "visit photo", KindVisitCard: "visit card", KindScreen: "screening entry",
	KindNotify: "message", KindNotifySettings: "notification settings", KindConference: "conference",
	KindZone: "zone", KindLane: "lane", KindGroup: "access group", KindProfile: "time profile", KindHoliday: "holiday",
	KindCred: "credential", KindCredByNumber: "credential number index", KindEvent: "gate event", KindAlarm: "alarm", KindPresenceOut: "exit mark", KindLobbies: "lobby names",
	KindDevice: "device", KindDeviceKey: "device key",
	KindKey: "key", KindKeyByTag: "key tag index", KindKeyEvent: "key history entry", KindKeyCheckout: "key checkout",
	KindKeyOpen: "open key checkout", KindKeyLevel: "key level", KindKeyCase: "lost-key case", KindKeyAudit: "key audit",
	KindKeySeq: "key history sequence", KindKeyEventSeq: "key history order",
	KindStockItem: "stock card", KindStockLedger: "stock ledger entry", KindStockHand: "stock handover",
	KindNotice: "announcement", KindNoticeImage: "announcement picture", KindNoticeMessage: "sent message",
	KindJoinToken: "cluster join token", KindSite: "site record",
	KindSiteSettings: "site settings",
}

// Describe names the record a key belongs to for an operator: its kind and
// the rest of the key, its text parts as text and the rest as hex, e.g.
// "account 06h0g90cvb289ypp" or "key history entry 06h...·0000018c...".
func Describe(key []byte) string {
	if len(key) == 0 {
		return "empty key"
	}
	name, ok := kindNames[Kind(key[0])]
	if !ok {
		name = fmt.Sprintf("record of kind 0x%02x", key[0])
	}
	var parts []string
	for _, p := range bytes.Split(key[1:], []byte{Sep}) {
		if isText(p) {
			parts = append(parts, string(p))
		} else {
			parts = append(parts, hex.EncodeToString(p))
		}
	}
	return strings.TrimSpace(name + " " + strings.Join(parts, "·"))
}

func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7F {
			return false
		}
	}
	return true
}
