package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKeepsTheKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, FileName))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", st.Mode().Perm())
	}
	sealed, err := k1.Seal("13800138000")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open(sealed); err != nil || got != "13800138000" {
		t.Fatalf("open after reload = %q %v", got, err)
	}
	if !bytes.Equal(k1.Verifier(), k2.Verifier()) || k1.Blind("phone", "1") != k2.Blind("phone", "1") {
		t.Fatal("derived keys differ after reload")
	}
}

func TestSealIsRandomisedAndTamperEvident(t *testing.T) {
	k, _ := FromMaster(bytes.Repeat([]byte{7}, 32))
	a, _ := k.Seal("110101199003071234")
	b, _ := k.Seal("110101199003071234")
	if a == b {
		t.Fatal("sealing twice gave the same text")
	}
	bad := []byte(a)
	bad[len(bad)-3] ^= 1
	for _, s := range []string{string(bad), "s1:!!!", "plain", "s1:"} {
		if _, err := k.Open(s); !errors.Is(err, ErrBadSeal) {
			t.Errorf("Open(%q) = %v, want ErrBadSeal", s, err)
		}
	}
	other, _ := FromMaster(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(a); !errors.Is(err, ErrBadSeal) {
		t.Error("another site's key opened the value")
	}
	if k.Blind("phone", "1") == k.Blind("id", "1") {
		t.Error("blind index does not separate kinds")
	}
	if _, err := FromMaster([]byte("short")); !errors.Is(err, ErrBadKey) {
		t.Error("short master accepted")
	}
}

func FuzzOpen(f *testing.F) {
	k, _ := FromMaster(bytes.Repeat([]byte{7}, 32))
	s, _ := k.Seal("x")
	f.Add(s)
	f.Fuzz(func(t *testing.T, in string) {
		_, _ = k.Open(in)
	})
}
