package osdp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestKeyNeverPrints(t *testing.T) {
	k, _ := NewKey([]byte("0123456789ABCDEF"))
	type holder struct {
		name string
		key  Key
	}
	type exported struct{ Key Key }
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "% x"} {
		out = append(out, fmt.Sprintf(verb, k), fmt.Sprintf(verb, holder{"r1", k}),
			fmt.Sprintf(verb, &holder{"r1", k}), fmt.Sprintf(verb, exported{k}), fmt.Sprintf(verb, []Key{k}))
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "key", k, "holder", holder{"r1", k})
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "key", k, "exported", exported{k})
	out = append(out, logs.String())
	for _, s := range out {
		for _, leak := range []string{"0123456789", "30313233", "48 49 50", "[48"} {
			if strings.Contains(s, leak) {
				t.Errorf("key material printed: %s", s)
			}
		}
	}
	if !strings.Contains(fmt.Sprint(k), "redacted") {
		t.Error("a key should say it is redacted")
	}
}

func TestKeyBasics(t *testing.T) {
	if _, err := NewKey(make([]byte, 15)); !errors.Is(err, ErrKeyLength) {
		t.Error("15-byte key accepted")
	}
	d := DefaultKey()
	if !bytes.Equal(d.Bytes(), []byte("0123456789:;<=>?")) || !d.IsDefault() {
		t.Errorf("SCBK-D is 0x30..0x3F")
	}
	r1, _ := RandomKey(bytes.NewReader(bytes.Repeat([]byte{1}, 16)))
	r2, _ := NewKey(bytes.Repeat([]byte{1}, 16))
	if !r1.Equal(r2) || r1.Equal(d) || r1.IsDefault() || (Key{}).Equal(d) || !(Key{}).Equal(Key{}) {
		t.Error("Equal")
	}
	b := r1.Bytes()
	b[0] = 9
	if !r1.Equal(r2) {
		t.Error("Bytes must return a copy")
	}
	if _, err := RandomKey(bytes.NewReader(nil)); err == nil {
		t.Error("key from an empty reader")
	}
}

func TestMemoryKeys(t *testing.T) {
	var m MemoryKeys
	ctx := context.Background()
	if _, err := m.LoadKey(ctx, "r1"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("empty store: %v", err)
	}
	k, _ := NewKey(bytes.Repeat([]byte{5}, 16))
	if err := m.SaveKey(ctx, "r1", k); err != nil {
		t.Fatal(err)
	}
	if got, err := m.LoadKey(ctx, "r1"); err != nil || !got.Equal(k) {
		t.Fatal("stored key not returned")
	}
	if err := m.SaveKey(ctx, "r2", Key{}); err == nil {
		t.Error("zero key saved")
	}
}
