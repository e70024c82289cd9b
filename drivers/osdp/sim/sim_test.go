package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"gatehouse/drivers/osdp"
	"gatehouse/drivers/osdp/internal/pty"
)

// cp is a hand-driven control panel end for one PD: it builds frames,
// seals them when a session is up, and decodes the PD's replies.
type cp struct {
	t    *testing.T
	pd   *PD
	sess osdp.Session
	seq  byte
}

func (c *cp) frame(code byte, data []byte) osdp.Frame {
	return osdp.Frame{Addr: c.pd.Address(), Seq: c.seq, Code: code, Data: data}
}

// send hands wire bytes to the PD and decodes its reply (ok false: none).
func (c *cp) send(f osdp.Frame) (reply osdp.Frame, raw []byte, ok bool) {
	c.t.Helper()
	var wire []byte
	var err error
	if c.sess.Active() && f.SCB == 0 {
		wire, err = c.sess.Seal(f)
	} else {
		wire, err = f.Append(nil)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	var d osdp.Decoder
	d.Feed(wire)
	in, err := d.Next()
	if err != nil {
		c.t.Fatal(err)
	}
	raw = c.pd.Handle(in)
	if raw == nil {
		return osdp.Frame{}, nil, false
	}
	d.Feed(raw)
	reply, err = d.Next()
	if err != nil {
		c.t.Fatalf("reply does not decode: %v (% X)", err, raw)
	}
	if reply.HasMAC() {
		if err := c.sess.Open(&reply); err != nil {
			c.t.Fatalf("reply does not open: %v", err)
		}
	}
	return reply, raw, true
}

// do sends a command and moves the sequence number on.
func (c *cp) do(code byte, data []byte) osdp.Frame {
	c.t.Helper()
	r, _, ok := c.send(c.frame(code, data))
	if !ok {
		c.t.Fatalf("no reply to %#x", code)
	}
	c.seq = c.seq%3 + 1
	return r
}

func (c *cp) handshake(key osdp.Key, keyType byte) {
	c.t.Helper()
	rndA, _ := c.sess.Challenge(rand.Reader)
	f := c.frame(osdp.CmdChlng, rndA[:])
	f.SCB, f.SCBData = osdp.SCS11, []byte{keyType}
	r, _, _ := c.send(f)
	c.seq = c.seq%3 + 1
	cc, err := osdp.ParseCCrypt(r.Data)
	if err != nil || r.SCB != osdp.SCS12 {
		c.t.Fatalf("CCRYPT expected, got %#x %v", r.Code, err)
	}
	server, err := c.sess.Accept(key, cc)
	if err != nil {
		c.t.Fatal(err)
	}
	f = c.frame(osdp.CmdSCrypt, server[:])
	f.SCB, f.SCBData = osdp.SCS13, []byte{keyType}
	r, _, _ = c.send(f)
	c.seq = c.seq%3 + 1
	rmac, err := osdp.ParseCryptogram(r.Data)
	if err != nil || r.SCB != osdp.SCS14 || !bytes.Equal(r.SCBData, []byte{1}) {
		c.t.Fatalf("RMAC_I expected, got %#x", r.Code)
	}
	if err := c.sess.Establish(rmac); err != nil {
		c.t.Fatal(err)
	}
}

func wantNak(t *testing.T, r osdp.Frame, code byte) {
	t.Helper()
	if r.Code != osdp.ReplyNAK || len(r.Data) != 1 || r.Data[0] != code {
		t.Fatalf("reply %#x % X, want NAK %d", r.Code, r.Data, code)
	}
}

var greenLED = osdp.MarshalLEDs(osdp.LEDControl{Temporary: osdp.LEDTemporary{Code: osdp.LEDTempSet, OnColor: osdp.ColorGreen}})

func TestIdentityAndCapabilities(t *testing.T) {
	id := osdp.PDID{Vendor: [3]byte{1, 2, 3}, Serial: 42}
	c := &cp{t: t, pd: New(Config{Address: 5, ID: id})}
	r := c.do(osdp.CmdID, osdp.RequestID)
	if got, err := osdp.ParsePDID(r.Data); err != nil || got != id || r.Addr != 0x85 {
		t.Errorf("PDID %+v %v addr %#x", got, err, r.Addr)
	}
	r = c.do(osdp.CmdCap, osdp.RequestID)
	if caps, err := osdp.ParseCaps(r.Data); err != nil || !osdp.SupportsSecure(caps) {
		t.Errorf("PDCAP %+v %v", caps, err)
	}
	if r := c.do(osdp.CmdLStat, nil); r.Code != osdp.ReplyLStatR {
		t.Errorf("LSTAT answered %#x", r.Code)
	}
}

func TestSequenceNumbers(t *testing.T) {
	pd := New(Config{Address: 1, Install: true})
	c := &cp{t: t, pd: pd}
	// A fresh reader wants sequence number 0 first.
	c.seq = 2
	wantNak(t, c.do(osdp.CmdPoll, nil), osdp.NakSeq)
	c.seq = 0
	c.do(osdp.CmdID, osdp.RequestID)
	c.handshake(osdp.DefaultKey(), osdp.KeyTypeDefault)

	// The same command again with the same sequence number: the very
	// same reply bytes, and the LED is not set twice.
	f := c.frame(osdp.CmdLED, greenLED)
	wire, err := c.sess.Seal(f)
	if err != nil {
		t.Fatal(err)
	}
	var d osdp.Decoder
	d.Feed(wire)
	in, _ := d.Next()
	first := pd.Handle(in)
	second := pd.Handle(in)
	if first == nil || !bytes.Equal(first, second) {
		t.Fatalf("repeat answered\n% X\n% X", first, second)
	}
	if n := len(pd.LEDs()); n != 1 || pd.Stats().Repeats != 1 {
		t.Fatalf("%d LEDs, stats %+v", n, pd.Stats())
	}
	d.Feed(first)
	rep, _ := d.Next()
	if err := c.sess.Open(&rep); err != nil || rep.Code != osdp.ReplyACK {
		t.Fatalf("reply %v %#x", err, rep.Code)
	}
	c.seq = c.seq%3 + 1

	// The chain goes on after the repeat.
	if r := c.do(osdp.CmdPoll, nil); r.Code != osdp.ReplyACK {
		t.Fatalf("poll after repeat: %#x", r.Code)
	}
	// A skipped sequence number is refused.
	c.seq = c.seq%3 + 1
	r, _, _ := c.send(c.frame(osdp.CmdPoll, nil))
	wantNak(t, r, osdp.NakSeq)
	if active, _ := pd.Secure(); active || r.HasMAC() {
		t.Error("an out-of-step reader must drop the session and NAK in clear")
	}

	// Sequence number 0 resets the reader, session included.
	c.seq = 0
	c.sess.Reset()
	if r := c.do(osdp.CmdPoll, nil); r.Code != osdp.ReplyACK || r.HasMAC() {
		t.Fatalf("after reset: %#x", r.Code)
	}
	if active, _ := pd.Secure(); active {
		t.Error("session survived sequence number 0")
	}
}

func TestSecureReaderRules(t *testing.T) {
	pd := New(Config{Address: 1, Install: true, Secure: true})
	c := &cp{t: t, pd: pd}
	c.do(osdp.CmdID, osdp.RequestID) // allowed in clear
	c.do(osdp.CmdCap, osdp.RequestID)
	wantNak(t, c.do(osdp.CmdPoll, nil), osdp.NakSCCond)
	wantNak(t, c.do(osdp.CmdKeySet, osdp.KeySet{Key: osdp.DefaultKey()}.Marshal()), osdp.NakSCCond)

	c.handshake(osdp.DefaultKey(), osdp.KeyTypeDefault)
	if _, onDefault := pd.Secure(); !onDefault {
		t.Error("session should run on SCBK-D")
	}
	if r := c.do(osdp.CmdPoll, nil); r.Code != osdp.ReplyACK || r.SCB != osdp.SCS16 {
		t.Fatalf("secure poll: %#x SCB %#x", r.Code, r.SCB)
	}
	pd.PresentUID([]byte{1, 2, 3, 4})
	r := c.do(osdp.CmdPoll, nil)
	if card, err := osdp.ParseCardRaw(r.Data); err != nil || r.SCB != osdp.SCS18 || card.Bits != 32 {
		t.Fatalf("secure card read: %+v %v", card, err)
	}

	// KEYSET moves the reader to its own key, out of install mode.
	k, _ := osdp.RandomKey(rand.Reader)
	if r := c.do(osdp.CmdKeySet, osdp.KeySet{Key: k}.Marshal()); r.Code != osdp.ReplyACK {
		t.Fatalf("KEYSET answered %#x", r.Code)
	}
	if !pd.Key().Equal(k) || pd.InstallMode() {
		t.Fatal("key not taken")
	}
	c.handshake(k, osdp.KeyTypeSCBK)
	if active, onDefault := pd.Secure(); !active || onDefault {
		t.Error("session on the new key expected")
	}

	// A command in clear inside the session is refused and ends it.
	plain := c.frame(osdp.CmdPoll, nil)
	wire, _ := plain.Append(nil)
	var d osdp.Decoder
	d.Feed(wire)
	in, _ := d.Next()
	d.Feed(pd.Handle(in))
	r, _ = d.Next()
	wantNak(t, r, osdp.NakSCCond)
	if active, _ := pd.Secure(); active {
		t.Error("session survived a command in clear")
	}
	if r.HasMAC() {
		t.Error("the NAK after dropping the session must be in clear")
	}
}

func TestMACFailureDropsTheSession(t *testing.T) {
	pd := New(Config{Address: 1, Install: true})
	c := &cp{t: t, pd: pd}
	c.do(osdp.CmdID, osdp.RequestID)
	c.handshake(osdp.DefaultKey(), osdp.KeyTypeDefault)
	wire, _ := c.sess.Seal(c.frame(osdp.CmdLED, greenLED))
	var d osdp.Decoder
	d.Feed(wire)
	in, _ := d.Next()
	in.MAC[0] ^= 1
	d.Feed(pd.Handle(in))
	r, _ := d.Next()
	wantNak(t, r, osdp.NakSCCond)
	if active, _ := pd.Secure(); active || pd.Stats().MACErrors != 1 || len(pd.LEDs()) != 0 {
		t.Errorf("stats %+v", pd.Stats())
	}
}

func TestHandshakeRefusals(t *testing.T) {
	// No install mode and no key: nothing to run a session on.
	c := &cp{t: t, pd: New(Config{Address: 1})}
	c.do(osdp.CmdID, osdp.RequestID)
	rndA, _ := c.sess.Challenge(rand.Reader)
	f := c.frame(osdp.CmdChlng, rndA[:])
	f.SCB, f.SCBData = osdp.SCS11, []byte{osdp.KeyTypeDefault}
	r, _, _ := c.send(f)
	wantNak(t, r, osdp.NakSCCond)

	// A reader without the secure channel.
	c = &cp{t: t, pd: New(Config{Address: 1, NoSecureChannel: true})}
	c.do(osdp.CmdID, osdp.RequestID)
	if caps, _ := osdp.ParseCaps(c.do(osdp.CmdCap, osdp.RequestID).Data); osdp.SupportsSecure(caps) {
		t.Error("announces the secure channel")
	}
	f = c.frame(osdp.CmdChlng, rndA[:])
	f.SCB, f.SCBData = osdp.SCS11, []byte{osdp.KeyTypeDefault}
	r, _, _ = c.send(f)
	wantNak(t, r, osdp.NakSCUnsup)
}

func TestMalformedAndUnknownCommands(t *testing.T) {
	c := &cp{t: t, pd: New(Config{Address: 1})}
	c.do(osdp.CmdID, osdp.RequestID)
	wantNak(t, c.do(osdp.CmdLED, []byte{1, 2, 3}), osdp.NakCmdLen)
	wantNak(t, c.do(0x6B, nil), osdp.NakUnknownCmd)
	if n := c.pd.Stats().NAKs; n != 2 {
		t.Errorf("%d NAKs counted", n)
	}
}

func TestFaults(t *testing.T) {
	pd := New(Config{Address: 1})
	c := &cp{t: t, pd: pd}
	c.do(osdp.CmdID, osdp.RequestID)
	// Not addressed to it: quiet.
	other := osdp.Frame{Addr: 2, Code: osdp.CmdPoll}
	if pd.Handle(other) != nil {
		t.Error("answered another reader's command")
	}
	pd.SendGarbage(1)
	g := pd.Handle(c.frame(osdp.CmdPoll, nil))
	var d osdp.Decoder
	d.Feed(g)
	if f, err := d.Next(); err == nil && f.Code == osdp.ReplyACK {
		t.Errorf("garbage decoded as a reply: % X", g)
	}
	pd.SetSilent(true)
	if pd.Handle(c.frame(osdp.CmdPoll, nil)) != nil {
		t.Error("a silent reader answered")
	}
	pd.SetSilent(false)
	if st := pd.Stats(); st.Garbage != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestEventsQueueIsBounded(t *testing.T) {
	pd := New(Config{Address: 1})
	for range 2 * maxEvents {
		pd.PresentUID([]byte{1})
	}
	pd.mu.Lock()
	n := len(pd.events)
	pd.mu.Unlock()
	if n != maxEvents {
		t.Errorf("%d events queued", n)
	}
}

// The Bus answers over a real pseudo-terminal and stops with its context.
func TestBusServesOverPTY(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skip(err)
	}
	defer master.Close()
	defer slave.Close()
	a, b := New(Config{Address: 1}), New(Config{Address: 2})
	bus := NewBus(a, b)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := bus.Serve(ctx, slave); err != nil {
			t.Error(err)
		}
	})
	defer wg.Wait()
	defer cancel()

	for _, addr := range []byte{2, 1} {
		wire, _ := (&osdp.Frame{Addr: addr, Code: osdp.CmdID, Data: osdp.RequestID}).Append(nil)
		if _, err := master.Write(wire); err != nil {
			t.Fatal(err)
		}
		var d osdp.Decoder
		buf := make([]byte, 64)
		master.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			n, err := master.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			d.Feed(buf[:n])
			f, err := d.Next()
			if errors.Is(err, osdp.ErrIncomplete) {
				continue
			}
			if err != nil || f.Code != osdp.ReplyPDID || f.PD() != addr {
				t.Fatalf("reply %+v %v", f, err)
			}
			break
		}
	}
}
