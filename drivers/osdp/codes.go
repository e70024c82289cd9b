package osdp

// Command and reply codes of SIA OSDP v2.2 used by this package. The values
// are the spec's (Annex A, "command and reply codes"); they agree with
// libosdp's include/osdp.h and src/osdp_common.h.
const (
	CmdPoll   byte = 0x60 // osdp_POLL
	CmdID     byte = 0x61 // osdp_ID
	CmdCap    byte = 0x62 // osdp_CAP
	CmdLStat  byte = 0x64 // osdp_LSTAT
	CmdOut    byte = 0x68 // osdp_OUT
	CmdLED    byte = 0x69 // osdp_LED
	CmdBuz    byte = 0x6A // osdp_BUZ
	CmdKeySet byte = 0x75 // osdp_KEYSET
	CmdChlng  byte = 0x76 // osdp_CHLNG
	CmdSCrypt byte = 0x77 // osdp_SCRYPT

	ReplyACK    byte = 0x40 // osdp_ACK
	ReplyNAK    byte = 0x41 // osdp_NAK
	ReplyPDID   byte = 0x45 // osdp_PDID
	ReplyPDCap  byte = 0x46 // osdp_PDCAP
	ReplyLStatR byte = 0x48 // osdp_LSTATR
	ReplyRaw    byte = 0x50 // osdp_RAW
	ReplyFmt    byte = 0x51 // osdp_FMT
	ReplyKeypad byte = 0x53 // osdp_KEYPPAD
	ReplyCCrypt byte = 0x76 // osdp_CCRYPT
	ReplyRMACI  byte = 0x78 // osdp_RMAC_I
	ReplyBusy   byte = 0x79 // osdp_BUSY
)

// Security control block types (spec §5.9, "SCS_11" to "SCS_18").
const (
	SCS11 byte = 0x11 // CHLNG: begin handshake; data: key type
	SCS12 byte = 0x12 // CCRYPT: client cryptogram; data: key type
	SCS13 byte = 0x13 // SCRYPT: server cryptogram; data: key type
	SCS14 byte = 0x14 // RMAC_I: initial R-MAC; data: 0x01 when the server cryptogram was accepted
	SCS15 byte = 0x15 // command, MAC, data in clear (used when there is no data)
	SCS16 byte = 0x16 // reply, MAC, data in clear
	SCS17 byte = 0x17 // command, MAC, data encrypted
	SCS18 byte = 0x18 // reply, MAC, data encrypted
)

// Key types carried in the SCB of SCS_11..SCS_13 and in osdp_KEYSET.
const (
	KeyTypeDefault byte = 0x00 // SCBK-D, the install-mode key (SCB data only)
	KeyTypeSCBK    byte = 0x01 // the reader's own SCBK
)

// NAK error codes (spec Table "osdp_NAK error codes"; libosdp
// enum osdp_pd_nak_code_e).
const (
	NakNone        byte = 0x00
	NakCheck       byte = 0x01 // message check character(s) error (bad checksum/CRC)
	NakCmdLen      byte = 0x02 // command length error
	NakUnknownCmd  byte = 0x03 // unknown command code
	NakSeq         byte = 0x04 // sequence number error
	NakSCUnsup     byte = 0x05 // secure channel not supported
	NakSCCond      byte = 0x06 // unsupported security block or security conditions not met
	NakBioType     byte = 0x07
	NakBioFormat   byte = 0x08
	NakUnableToRun byte = 0x09 // unable to process command record
)

// LED colours (spec osdp_LED colour values; OSDP.Net LedColor agrees).
const (
	ColorBlack   byte = 0
	ColorRed     byte = 1
	ColorGreen   byte = 2
	ColorAmber   byte = 3
	ColorBlue    byte = 4
	ColorMagenta byte = 5
	ColorCyan    byte = 6
	ColorWhite   byte = 7
)

// osdp_LED control codes.
const (
	LEDTempNOP    byte = 0 // leave the temporary state alone
	LEDTempCancel byte = 1 // cancel the temporary state, show the permanent one
	LEDTempSet    byte = 2 // set the temporary state and start its timer
	LEDPermNOP    byte = 0
	LEDPermSet    byte = 1
)

// osdp_BUZ tone codes.
const (
	ToneNone    byte = 0 // no tone (deprecated in 2.2)
	ToneOff     byte = 1
	ToneDefault byte = 2
)

// osdp_OUT control codes.
const (
	OutNOP          byte = 0
	OutPermOffAbort byte = 1 // permanent off, abort timed operation
	OutPermOnAbort  byte = 2 // permanent on, abort timed operation
	OutPermOff      byte = 3 // permanent off, allow timed operation to complete
	OutPermOn       byte = 4 // permanent on, allow timed operation to complete
	OutTempOn       byte = 5 // temporary on, resume permanent state on timeout
	OutTempOff      byte = 6 // temporary off, resume permanent state on timeout
)

// osdp_RAW format codes.
const (
	RawFormatUnspecified byte = 0 // raw bit array
	RawFormatWiegand     byte = 1 // P/data/P (Wiegand)
)

// PDCAP function codes this package reads.
const (
	CapCommSecurity byte = 9  // compliance bit 0: AES-128 secure channel supported
	CapRecvBuffer   byte = 10 // receive buffer size: compliance = LSB, count = MSB
)

// Keypad characters in osdp_KEYPPAD besides the digits '0'..'9'.
const (
	KeyStar  byte = 0x7F // '*'
	KeyPound byte = 0x0D // '#'
)

// Broadcast is the address every PD answers; never used for polling.
const Broadcast byte = 0x7F
