package device

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

func TestReaderKeysAreSealedAndGoWithTheReader(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	master := bytes.Repeat([]byte{7}, 32)
	sk, err := secret.FromMaster(master)
	if err != nil {
		t.Fatal(err)
	}
	keys := NewReaderKeys(w.svc.db, w.svc.clock, sk)
	rd, err := w.svc.Save(ctx, "t", Device{Name: "Gate A OSDP", Port: "/dev/ttyUSB1", Protocol: OSDP, Address: "1", Role: EntryReader,
		LaneID: w.lane.ID, Options: Options{Secure: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.LoadKey(ctx, rd.ID); !errors.Is(err, ErrNoKey) {
		t.Fatalf("load before any key: %v", err)
	}
	k := bytes.Repeat([]byte{0xA5}, KeyLen)
	if err := keys.SaveKey(ctx, rd.ID, k); err != nil {
		t.Fatal(err)
	}
	got, err := keys.LoadKey(ctx, rd.ID)
	if err != nil || !bytes.Equal(got, k) {
		t.Fatalf("load: %x %v", got, err)
	}
	// Sealed at rest.
	var raw []byte
	_ = w.svc.db.View(func(r *store.Reader) error { raw, err = r.Get(store.Key(store.KindDeviceKey, rd.ID)); return err })
	if err != nil || bytes.Contains(bytes.ToLower(raw), []byte("a5a5a5a5")) {
		t.Fatalf("key not sealed: %v", err)
	}
	// Another site's key cannot open it.
	other, _ := secret.FromMaster(bytes.Repeat([]byte{8}, 32))
	if _, err := NewReaderKeys(w.svc.db, w.svc.clock, other).LoadKey(ctx, rd.ID); err == nil {
		t.Fatal("opened with another site key")
	}
	if err := keys.SaveKey(ctx, rd.ID, k[:8]); err == nil {
		t.Fatal("short key saved")
	}
	// Only OSDP readers have keys.
	scan, err := w.svc.Save(ctx, "t", Device{Name: "Gate A entry", Port: "/dev/ttyACM0", Protocol: Scanner, Role: EntryReader, LaneID: w.lane.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.SaveKey(ctx, scan.ID, k); err == nil {
		t.Fatal("key saved for a scanner")
	}
	// The key goes with the reader.
	if err := w.svc.Delete(ctx, "t", rd.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.LoadKey(ctx, rd.ID); !errors.Is(err, ErrNoKey) {
		t.Fatalf("key of a deleted reader: %v", err)
	}
}

func TestEnteredKeyIsCheckedSealedAndAudited(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sk, err := secret.FromMaster(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	keys := NewReaderKeys(w.svc.db, w.svc.clock, sk)
	rd, err := w.svc.Save(ctx, "t", Device{Name: "Moved reader", Port: "/dev/ttyUSB1", Protocol: OSDP, Address: "1", Role: EntryReader,
		LaneID: w.lane.ID, Options: Options{Secure: true}})
	if err != nil {
		t.Fatal(err)
	}
	for text, code := range map[string]string{
		"":                                   "device_key_invalid",
		"00112233":                           "device_key_invalid",
		"zz112233445566778899aabbccddeeff":   "device_key_invalid",
		"00112233445566778899aabbccddeeff00": "device_key_invalid",
		"303132333435363738393a3b3c3d3e3f":   "device_key_default",
		"00000000000000000000000000000000":   "device_key_invalid",
	} {
		err := keys.EnterKey(ctx, "admin", rd.ID, text)
		fe, ok := field.As(err)
		if !ok || fe.For("scbk").Code != code {
			t.Errorf("%q: %v, want %s", text, err, code)
		}
		if strings.Contains(fmt.Sprint(err), text) && text != "" {
			t.Errorf("the error repeats the key: %v", err)
		}
	}
	if ok, _ := keys.HasKey(rd.ID); ok {
		t.Fatal("a refused key is on file")
	}
	if err := keys.EnterKey(ctx, "admin", rd.ID, "00 11:22-33 44556677 8899AABB CCDDEEFF"); err != nil {
		t.Fatal(err)
	}
	got, err := keys.LoadKey(ctx, rd.ID)
	if want, _ := hex.DecodeString("00112233445566778899aabbccddeeff"); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("entered key %x, %v", got, err)
	}
	if ok, _ := keys.HasKey(rd.ID); !ok {
		t.Fatal("HasKey after the entry")
	}
	if err := keys.EnterKey(ctx, "admin", "0000000000000000", "00112233445566778899aabbccddeeff"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	scanner, err := w.svc.Save(ctx, "t", Device{Name: "Scanner", Port: "/dev/ttyUSB2", Protocol: Scanner, Role: EntryReader, LaneID: w.lane.ID})
	if err != nil {
		t.Fatal(err)
	}
	if fe, ok := field.As(keys.EnterKey(ctx, "admin", scanner.ID, "00112233445566778899aabbccddeeff")); !ok || fe.For("scbk").Code != "device_key_not_osdp" {
		t.Fatal("a key for a scanner")
	}
}
