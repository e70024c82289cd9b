// Package modem sends SMS through a GSM modem by AT commands over a serial
// line (3GPP TS 27.005 and 27.007), for the notification outbox: Sender's
// Send(ctx, phone, text) is the SMS channel.
//
// A message goes like this, in PDU mode (the default):
//
//	AT          OK            the modem listens (tried again if not)
//	ATE0        OK            no echo (refusal tolerated)
//	AT+CMEE=1   OK            numeric +CME ERROR codes (refusal tolerated)
//	AT+CMGF=0   OK            PDU mode
//	AT+CMGS=<n> "> "          n: octets of the TPDU
//	00<TPDU hex> Ctrl-Z       00: the SIM's service centre
//	            +CMGS: <mr>, OK    or +CMS ERROR: <n>, ERROR
//
// and in text mode (Config.Mode = Text):
//
//	AT, ATE0, AT+CMEE=1, AT+CMGF=1
//	AT+CSCS="UCS2"  AT+CSMP=17,167,0,8    for anything but plain text
//	AT+CSCS="IRA"   AT+CSMP=17,167,0,0    for printable ASCII within the GSM alphabet
//	AT+CMGS="<number>"   "> "   <text> Ctrl-Z   (UCS2: number and text as UTF-16 hex)
//
// # Decisions
//
//   - PDU mode for everything by default. Concatenated messages need a user
//     data header, which text mode cannot carry, and one code path is
//     simpler than two. The driver builds SMS-SUBMIT TPDUs itself (TS
//     23.040 §9.2.2.2): first octet 11 (51 with a header), TP-MR 00, the
//     number (type 91 for "+" numbers, else 81 — "unknown", a national
//     number as dialled, what phones send), TP-PID 00, TP-DCS 00 (GSM
//     7-bit, packed) or 08 (UCS-2), a relative validity period (24 h by
//     default), and the user data. Text mode stays available for modems
//     whose PDU mode misbehaves; there a long text goes as separate
//     messages of 160 (GSM) or 70 (UCS-2) characters.
//   - Coding: GSM 7-bit when every character is in the default alphabet or
//     its extension table (an extension character counts two), UCS-2
//     otherwise — so any Chinese character makes the message UCS-2.
//   - Long messages: one part up to 160 septets or 70 UTF-16 units; more
//     parts of 153 or 67, each with the 8-bit-reference concatenation
//     element (IEI 00: 05 00 03 ref total seq); GSM text after the header
//     starts on a septet boundary (one fill bit). A part never ends inside
//     an escape pair or a surrogate pair. The reference counts up per long
//     message from a random start. At most Config.MaxParts parts (10).
//   - Replies are read as tokens (Lexer): lines ended by CR or LF, and the
//     prompt "> ", which ends no line. A command ends at OK, ERROR,
//     +CMS ERROR or +CME ERROR; lines with the command's prefix (+CMGS:,
//     +CSQ:) are its answer; everything else — RING, +CMTI, ^RSSI, +CREG,
//     an echo — is unsolicited and skipped. Bytes that are no ASCII line are
//     counted as errors on the line's health.
//   - Each Send sets the modem up again (AT, ATE0, AT+CMEE=1, AT+CMGF):
//     messages are rare, and a modem that rebooted or was replugged since
//     the last one has forgotten its settings.
//   - Timeouts: 5 s per command and for the prompt, 60 s for the network's
//     answer to a part. Retries (3 attempts, 2 s then 4 s apart) only where
//     the part surely was not sent: no prompt, ERROR, or a temporary
//     +CMS ERROR (network out of order, temporary failure, congestion,
//     resources unavailable, SIM busy, no network service, network timeout,
//     unknown error). A part whose answer never came is not tried again
//     (ErrUnconfirmed): it may have gone, and a visitor's host should not
//     get it twice. After a missing prompt the driver sends ESC, which
//     leaves input mode, so its next command is not taken for a message.
//   - Privacy: no log line and no error holds a phone number or a message's
//     text; unsolicited lines are logged by their name only (+CMT's would
//     carry a caller's number).
//   - Health is the serial line's (online, reconnects, errors, timeouts),
//     as for every driver; Signal reads AT+CSQ for the device page.
package modem
