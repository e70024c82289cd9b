package mrz_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/drivers/mrz"
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

func next(t *testing.T, r *mrz.Reader) mrz.Result {
	t.Helper()
	select {
	case res := <-r.Documents():
		return res
	case <-time.After(10 * time.Second):
		t.Fatal("no document")
	}
	return mrz.Result{}
}

var passport = []string{
	"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
	"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
}

func TestReaderOverAPseudoTerminal(t *testing.T) {
	dev, err := sim.NewMRZReader(filepath.Join(t.TempDir(), "ttyMRZ"))
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	at := time.Date(2025, 2, 28, 12, 0, 0, 0, time.UTC)
	line := serial.LineConfig{Port: serial.Config{Path: dev.Path()}, MinBackoff: 5 * time.Millisecond, Clock: clock.NewFake(at)}
	r, err := mrz.Open(context.Background(), mrz.Config{Line: line})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	eventually(t, "online", func() bool { return r.Health().Online })

	dev.PresentDocument(passport...)
	res := next(t, r)
	if res.Err != nil || res.Doc.Number != "L898902C3" || res.Doc.Secondary != "ANNA MARIA" || !res.At.Equal(at) {
		t.Fatalf("result %+v, %v", res.Doc, res.Err)
	}

	// A misread: the error names the field.
	bad := []string{passport[0], "L898902C36UTO7408122F1204158ZE184226B<<<<<10"}
	dev.PresentDocument(bad...)
	res = next(t, r)
	var ce *mrz.CheckError
	if !errors.As(res.Err, &ce) || !reflect.DeepEqual(ce.Fields, []mrz.Field{mrz.FieldExpiry, mrz.FieldComposite}) {
		t.Fatalf("misread gave %v", res.Err)
	}
	if h := r.Health(); h.Errors != 1 {
		t.Fatalf("errors %d, want 1", h.Errors)
	}

	// Noise, then a card in STX/ETX framing with CR endings.
	dev.Write([]byte("\x00\xff garbage\r\n"))
	dev.Write([]byte("\x02I<UTOD231458907<<<<<<<<<<<<<<<\r7408122F1204159UTO<<<<<<<<<<<6\rERIKSSON<<ANNA<MARIA<<<<<<<<<<\x03\r"))
	res = next(t, r)
	if res.Err != nil || res.Doc.Format != mrz.TD1 || res.Doc.Number != "D23145890" {
		t.Fatalf("card: %+v, %v", res.Doc, res.Err)
	}

	// Unplugged halfway through a document: the half is forgotten.
	dev.Write([]byte(passport[0] + "\r\n"))
	eventually(t, "first line read", func() bool { return r.Health().LastSeen.Equal(at) })
	dev.Unplug()
	eventually(t, "offline", func() bool { return !r.Health().Online })
	dev.Replug()
	eventually(t, "online", func() bool { return r.Health().Online })
	dev.Write([]byte(passport[1] + "\r\n"))
	dev.PresentDocument(passport...)
	res = next(t, r)
	if res.Err != nil || res.Doc.Primary != "ERIKSSON" {
		t.Fatalf("after replug: %+v, %v", res.Doc, res.Err)
	}
}
