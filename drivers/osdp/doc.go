// Package osdp is the control panel (CP) side of SIA OSDP v2.2, the
// protocol of card readers on RS-485: framing, the command and reply
// codecs, the AES-128 secure channel, and a poll loop that turns card reads
// and keypad input into gate.Presentation values for a gate.Decider and the
// Decider's gate.Action into reader feedback (green LED and a short beep on
// grant, red and a long beep on deny, osdp_OUT for a reader-driven relay).
//
// The layers, from the wire up:
//
//   - Frame and Decoder (frame.go): packets, CRC-16 and checksum, and a
//     stream decoder that resynchronises on garbage and counts what it
//     rejects;
//   - the message codecs (message.go, card.go): one type per command or
//     reply, field by field as the spec lays them out;
//   - Session (secure.go): the secure channel handshake, session keys, the
//     MAC chain and data encryption, for either end;
//   - CP (cp.go): the per-reader state machine and the bus schedule.
//
// The PD simulator in drivers/osdp/sim speaks the same bytes through the
// same types. The CP talks to the bus through Line, an io.ReadWriter with
// read deadlines, so it plugs onto a pseudo-terminal, a serial port adapter
// or anything else that carries bytes. Keys live behind KeyStore, which the
// appliance implements and seals; Key values print as a redaction.
//
// DESIGN.md beside this file explains the state machine and the secure
// channel, and the choices made where the spec leaves room.
package osdp
