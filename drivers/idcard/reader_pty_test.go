package idcard_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/drivers/idcard"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/sim"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func next(t *testing.T, r *idcard.Reader) idcard.Result {
	t.Helper()
	select {
	case res := <-r.Cards():
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("no card")
	}
	return idcard.Result{}
}

func none(t *testing.T, r *idcard.Reader, dev *sim.IDCardReader) {
	t.Helper()
	// Several polls go by without a result.
	n := dev.Commands()
	eventually(t, "more polls", func() bool { return dev.Commands() >= n+6 })
	select {
	case res := <-r.Cards():
		t.Fatalf("unexpected result %+v, %v", res.Card.Kind, res.Err)
	default:
	}
}

var card = idcard.Card{Kind: idcard.Resident, Name: "张三", Sex: idcard.SexMale, Ethnicity: "01", Birth: idcard.Date{Year: 1949, Month: 12, Day: 31},
	Address: "北京市朝阳区某某路1号", Number: "11010519491231002X", Authority: "北京市公安局朝阳分局",
	ValidFrom: idcard.Date{Year: 2015, Month: 3, Day: 1}, ValidTo: idcard.Date{Year: 2035, Month: 3, Day: 1}}

func TestReaderOverAPseudoTerminal(t *testing.T) {
	dev, err := sim.NewIDCardReader(filepath.Join(t.TempDir(), "ttyID"))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	at := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	line := serial.LineConfig{Port: serial.Config{Path: dev.Path(), Baud: 115200}, MinBackoff: 5 * time.Millisecond, Clock: clock.NewFake(at)}
	r, err := idcard.Open(context.Background(), idcard.Config{Line: line, Poll: 10 * time.Millisecond, Timeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	eventually(t, "online", func() bool { return r.Health().Online })
	none(t, r, dev) // no card: nothing, and no errors
	if h := r.Health(); h.Errors != 0 {
		t.Fatalf("errors %d with no card: %s", h.Errors, h.LastError)
	}

	dev.PresentCard(card)
	res := next(t, r)
	if res.Err != nil || !reflect.DeepEqual(res.Card, card) || res.Expired || !res.At.Equal(at) || res.Problem() != "" {
		t.Fatalf("result %+v, %v", res.Card, res.Err)
	}
	if res.Card.EthnicityName() != "汉" {
		t.Fatal(res.Card.EthnicityName())
	}
	none(t, r, dev) // left on the reader: reported once

	// Taken away; noise before a reply, then an expired card.
	dev.RemoveCard()
	none(t, r, dev)
	expired := card
	expired.ValidFrom, expired.ValidTo = idcard.Date{Year: 2004, Month: 5, Day: 1}, idcard.Date{Year: 2024, Month: 5, Day: 1}
	dev.Inject([]byte{0x00, 0xFF, 0xAA, 0x13, 0x37})
	dev.PresentCard(expired)
	res = next(t, r)
	if res.Err != nil || !res.Expired || res.Problem() != "the card has expired" {
		t.Fatalf("expired card: expired=%v %v", res.Expired, res.Err)
	}
	if h := r.Health(); h.Errors == 0 {
		t.Fatal("garbled bytes not counted")
	}

	// Garbage in the middle of the read reply's stream, cut short: the
	// reply is lost and counted, the next poll reads the card.
	dev.RemoveCard()
	none(t, r, dev)
	errs := r.Health().Errors
	dev.Inject(append([]byte{}, idcard.Preamble...)) // a false start with no frame after it
	bad := card
	bad.Number = "110105194912310021"
	dev.PresentCard(bad)
	res = next(t, r)
	var fe *idcard.FieldError
	if !errors.As(res.Err, &fe) || !reflect.DeepEqual(fe.Fields, []idcard.Field{idcard.FieldNumber}) || res.Card.Name != "张三" {
		t.Fatalf("bad check digit: %v", res.Err)
	}
	if h := r.Health(); h.Errors <= errs {
		t.Fatal("false preamble not counted")
	}

	// An authentication failure is reported once, plainly.
	dev.RemoveCard()
	none(t, r, dev)
	dev.PresentCard(card)
	dev.SetMode(sim.IDCardAuth)
	res = next(t, r)
	if !errors.Is(res.Err, idcard.ErrAuth) {
		t.Fatalf("auth failure: %v", res.Err)
	}
	none(t, r, dev)

	// The reader sees bad checksums: counted, nothing reported; then it
	// recovers and the card reads.
	dev.SetMode(sim.IDCardChecksum)
	errs = r.Health().Errors
	none(t, r, dev)
	if h := r.Health(); h.Errors <= errs {
		t.Fatal("checksum errors not counted")
	}
	dev.SetMode(sim.IDCardNoCard)
	none(t, r, dev)
	dev.SetMode(sim.IDCardNormal)
	if res = next(t, r); res.Err != nil || res.Card.Number != card.Number {
		t.Fatalf("after recovery: %v", res.Err)
	}

	// Unplugged and back: it reconnects and reads.
	dev.RemoveCard()
	none(t, r, dev)
	dev.Unplug()
	eventually(t, "offline", func() bool { return !r.Health().Online })
	dev.Replug()
	eventually(t, "online", func() bool { return r.Health().Online })
	dev.PresentCard(card)
	if res = next(t, r); res.Err != nil {
		t.Fatal(res.Err)
	}
}
