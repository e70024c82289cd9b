package osdp

import "time"

// Health is what the device pages show about one reader.
type Health struct {
	Name       string
	Address    byte
	Online     bool      // initialised and answering
	Secure     bool      // secure channel established
	DefaultKey bool      // the channel runs on SCBK-D (install mode, before KEYSET)
	Since      time.Time // when Online last changed
	LastSeen   time.Time // last valid reply
	LastError  string    // why the reader is not usable, if it is not
	ID         PDID      // from osdp_PDID
	Tamper     bool      // from osdp_LSTATR
	PowerFail  bool      // from osdp_LSTATR

	Timeouts   uint64 // replies that did not come in time
	Offlines   uint64 // times the reader was marked offline
	NAKs       uint64 // osdp_NAK replies
	MACErrors  uint64 // replies failing MAC or decryption
	BadReplies uint64 // replies of the wrong kind or with malformed data
	Reads      uint64 // card and keypad presentations handed to the Decider
	BadReads   uint64 // card reads rejected (bad parity, unprintable text)
}

// BusHealth counts what happened on the line as a whole: errors that cannot
// be pinned on one reader because the address byte itself may be garbage.
type BusHealth struct {
	DecodeStats
	Stray      uint64 // well-formed frames that answered nothing we asked
	LineErrors uint64 // read and write errors of the line itself
}
