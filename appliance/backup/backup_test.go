package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

var testKDF = KDF{Time: 1, Memory: 64, Threads: 1}

const pass = "correct horse battery"

type rec struct {
	ID, Text string
	Del      bool
}

// site is a data directory with a store and its key, as an appliance has.
type site struct {
	dir    string
	st     *store.Store
	master []byte
	key    WrappedKey
}

func newSite(t *testing.T) *site {
	t.Helper()
	dir := t.TempDir()
	keys, err := secret.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: dir, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	register(st)
	master, _ := secret.ReadMaster(dir)
	w, err := Wrap(master, pass, testKDF)
	if err != nil {
		t.Fatal(err)
	}
	return &site{dir: dir, st: st, master: master, key: w}
}

func register(st *store.Store) {
	st.Register("t.put", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var r rec
		if err := cmd.Decode(&r); err != nil {
			return store.Effect{}, err
		}
		k := store.Key(store.KindFloor, r.ID)
		if r.Del {
			return store.Effect{Subject: r.ID}, tx.Delete(k)
		}
		return store.Effect{Subject: r.ID}, tx.Set(k, []byte(r.Text))
	})
}

func (s *site) put(t *testing.T, id, text string, del bool) {
	t.Helper()
	if _, err := store.Issue(context.Background(), s.st, "t.put", "test", time.Unix(1, 0), rec{id, text, del}); err != nil {
		t.Fatal(err)
	}
}

func records(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := st.View(func(r *store.Reader) error {
		return r.Scan([]byte{byte(store.KindFloor)}, store.ScanOptions{}, func(k, v []byte) (bool, error) {
			out[string(k[1:])] = string(v)
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (s *site) backup(t *testing.T, dir string, base *Info) Info {
	t.Helper()
	in, err := Write(context.Background(), s.st, dir, WriteOptions{Base: base, Key: s.key, Site: "Tower", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func openRestored(t *testing.T, dir string) *store.Store {
	t.Helper()
	keys, err := secret.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: dir, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestFullIncrementRestoreRoundTrip(t *testing.T) {
	s := newSite(t)
	target := t.TempDir()
	for i := range 50 {
		s.put(t, fmt.Sprint("r", i), fmt.Sprint("text ", i), false)
	}
	full := s.backup(t, target, nil)
	s.put(t, "r1", "", true)
	s.put(t, "r2", "changed", false)
	s.put(t, "new", "added", false)
	inc := s.backup(t, target, &full)
	if inc.Kind != Incremental || inc.Since != full.Until+1 || inc.Size >= full.Size {
		t.Fatalf("increment %+v (full %d bytes)", inc.Header, full.Size)
	}
	if full.Keys == 0 || full.Millis < 0 {
		t.Fatalf("full %+v", full.Trailer)
	}
	dst := filepath.Join(t.TempDir(), "new")
	got, err := Restore(context.Background(), []string{full.Path, inc.Path}, dst, pass, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != inc.ID {
		t.Fatalf("restore returned %s, want the last backup %s", got.ID, inc.ID)
	}
	if _, err := os.Stat(filepath.Join(dst, IncompleteMarker)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("marker left after a good restore: %v", err)
	}
	want := records(t, s.st)
	st := openRestored(t, dst)
	if have := records(t, st); fmt.Sprint(have) != fmt.Sprint(want) {
		t.Fatalf("restored %v\nwant %v", have, want)
	}
	m, err := secret.ReadMaster(dst)
	if err != nil || !bytes.Equal(m, s.master) {
		t.Fatalf("restored site key differs: %v", err)
	}
	var seq uint64
	var head []byte
	st.View(func(r *store.Reader) error { seq, head, _ = store.AuditHead(r); return nil })
	s.st.View(func(r *store.Reader) error {
		wseq, whead, _ := store.AuditHead(r)
		if seq != wseq || !bytes.Equal(head, whead) {
			t.Errorf("audit head %d, want %d", seq, wseq)
		}
		return nil
	})
}

func TestWrongPassphraseAndShortOne(t *testing.T) {
	s := newSite(t)
	if _, err := s.key.Unwrap("not the passphrase"); !errors.Is(err, ErrWrongPassphrase) {
		t.Fatalf("err = %v", err)
	}
	if m, err := s.key.Unwrap(pass); err != nil || !bytes.Equal(m, s.master) {
		t.Fatalf("unwrap: %v", err)
	}
	if _, err := Wrap(s.master, "short", testKDF); !errors.Is(err, ErrShortPassphrase) {
		t.Fatalf("err = %v", err)
	}
}

func copyFile(t *testing.T, src, dst string, edit func([]byte) []byte) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, edit(b), 0o600); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Each bad input gets its own error, and nothing is left in the new
// directory that could pass for restored data.
func TestRestoreRefusesBadInput(t *testing.T) {
	s := newSite(t)
	target := t.TempDir()
	s.put(t, "a", "x", false)
	full := s.backup(t, target, nil)
	s.put(t, "b", "y", false)
	inc1 := s.backup(t, target, &full)
	s.put(t, "c", "z", false)
	inc2 := s.backup(t, target, &full)
	full2 := s.backup(t, target, nil)
	s.put(t, "d", "w", false)
	incOf2 := s.backup(t, target, &full2)
	other := newSite(t)
	otherFull := other.backup(t, t.TempDir(), nil)
	bad := t.TempDir()
	same := func(b []byte) []byte { return b }
	truncated := copyFile(t, full.Path, filepath.Join(bad, "truncated.ghb"), func(b []byte) []byte { return b[:len(b)*2/3] })
	flipped := copyFile(t, full.Path, filepath.Join(bad, "flipped.ghb"), func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b })
	noEnd := copyFile(t, full.Path, filepath.Join(bad, "noend.ghb"), func(b []byte) []byte { return b[:len(b)-1] })
	notBackup := copyFile(t, full.Path, filepath.Join(bad, "text.ghb"), func([]byte) []byte { return []byte("hello, world") })
	newer := copyFile(t, full.Path, filepath.Join(bad, "newer.ghb"), same)
	rewriteHeader(t, newer, func(h *Header) { h.Schema = store.SchemaVersion + 1 })
	nonEmpty := t.TempDir()
	os.WriteFile(filepath.Join(nonEmpty, "keep"), []byte("mine"), 0o600)

	cases := []struct {
		name  string
		files []string
		dir   string
		pass  string
		want  error
	}{
		{"wrong passphrase", []string{full.Path}, "", "wrong passphrase!!", ErrWrongPassphrase},
		{"truncated", []string{truncated}, "", pass, ErrCorrupt},
		{"last byte cut", []string{noEnd}, "", pass, ErrCorrupt},
		{"flipped byte", []string{flipped}, "", pass, ErrCorrupt},
		{"not a backup", []string{notBackup}, "", pass, ErrCorrupt},
		{"increment without its base", []string{inc1.Path}, "", pass, ErrNoBase},
		{"increment of another full", []string{otherFull.Path, inc1.Path}, "", pass, ErrOtherSite},
		{"two increments of one full", []string{full.Path, inc1.Path, inc2.Path}, "", pass, ErrOrder},
		{"increments out of order", []string{full.Path, inc2.Path, inc1.Path}, "", pass, ErrOrder},
		{"increment first", []string{inc1.Path, full.Path}, "", pass, ErrNoBase},
		{"increment of the next week's full", []string{full.Path, incOf2.Path}, "", pass, ErrNoBase},
		{"newer schema", []string{newer}, "", pass, ErrNewerSchema},
		{"non-empty directory", []string{full.Path}, nonEmpty, pass, ErrNotEmpty},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.dir
			if dir == "" {
				dir = filepath.Join(t.TempDir(), "new")
			}
			_, err := Restore(context.Background(), c.files, dir, c.pass, nil)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.dir != "" {
				ents, _ := os.ReadDir(dir)
				if len(ents) != 1 || ents[0].Name() != "keep" {
					t.Fatalf("restore touched a non-empty directory: %v", ents)
				}
				return
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("failed restore left %s behind (%v)", dir, err)
			}
		})
	}
	// The good pair still restores.
	if _, err := Restore(context.Background(), []string{full.Path, inc2.Path}, filepath.Join(t.TempDir(), "ok"), pass, nil); err != nil {
		t.Fatal(err)
	}
}

// rewriteHeader edits a header and re-seals the file, as a newer release
// would have written it.
func rewriteHeader(t *testing.T, path string, edit func(*Header)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	info, body, err := stat(f, path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	f.Close()
	h := info.Header
	edit(&h)
	hb, _ := encodeHeader(h)
	data := b[body[0]:body[1]]
	sum := newSum()
	sum.Write(hb)
	sum.Write(data)
	tb, err := sealTrailer(info.Trailer, sum)
	if err != nil {
		t.Fatal(err)
	}
	out := append(append(hb, data...), tb...)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRefusesMissingTargetAndLeavesNoTempFiles(t *testing.T) {
	s := newSite(t)
	s.put(t, "a", "x", false)
	_, err := Write(context.Background(), s.st, filepath.Join(t.TempDir(), "gone"), WriteOptions{Key: s.key, Now: time.Now()})
	if !errors.Is(err, ErrTarget) {
		t.Fatalf("missing target: %v", err)
	}
	if _, err := Write(context.Background(), s.st, t.TempDir(), WriteOptions{Now: time.Now()}); !errors.Is(err, ErrNoPassphrase) {
		t.Fatalf("no key: %v", err)
	}
}

// A target that vanishes while the file is written (the USB stick pulled)
// fails the backup and leaves no file that passes for one.
func TestTargetVanishingMidWrite(t *testing.T) {
	s := newSite(t)
	for i := range 200 {
		s.put(t, fmt.Sprint("r", i), string(bytes.Repeat([]byte{byte(i)}, 200)), false)
	}
	target := filepath.Join(t.TempDir(), "usb")
	os.Mkdir(target, 0o700)
	pulled := false
	_, err := Write(context.Background(), s.st, target, WriteOptions{Key: s.key, Now: time.Now(), Progress: func(p Progress) {
		if !pulled && p.Phase == "writing" {
			pulled = true
			os.RemoveAll(target)
		}
	}})
	if err == nil {
		t.Fatal("a backup whose target vanished reported success")
	}
	if !pulled {
		t.Fatal("no progress reported while writing")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("target came back: %v", err)
	}
}

func TestReadHeaderBoundsLength(t *testing.T) {
	b := []byte(magic + "\xff\xff\xff\xff")
	if _, _, err := ReadHeader(bytes.NewReader(b)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("err = %v", err)
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], 2)
	if _, _, err := ReadHeader(bytes.NewReader(append([]byte(magic), append(n[:], "{}"...)...))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("empty header: %v", err)
	}
}

// A target that fills up fails the backup as "full" and leaves nothing
// behind. It needs a small file system of its own: a tmpfs, where the test
// may mount one (root in CI); elsewhere it is skipped.
func TestTargetFullDisk(t *testing.T) {
	target := t.TempDir()
	if err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", target).Run(); err != nil {
		t.Skipf("cannot mount a small tmpfs here: %v", err)
	}
	t.Cleanup(func() { exec.Command("umount", target).Run() })
	s := newSite(t)
	for i := range 300 {
		s.put(t, fmt.Sprint("r", i), string(randomBytes(600)), false)
	}
	_, err := Write(context.Background(), s.st, target, WriteOptions{Key: s.key, Now: time.Now()})
	if !errors.Is(err, ErrTargetFull) {
		t.Fatalf("err = %v, want ErrTargetFull", err)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Fatalf("a failed backup left %v", ents)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// A backup whose audit chain does not verify when read back is not kept:
// here an entry of the source's trail was rewritten.
func TestWriteRefusesABrokenAuditChain(t *testing.T) {
	s := newSite(t)
	s.put(t, "a", "x", false)
	s.st.Register("t.tamper", func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		k := append([]byte{byte(store.KindAudit)}, store.U64(1)...)
		v, err := tx.Get(k)
		if err != nil {
			return store.Effect{}, err
		}
		return store.Effect{}, tx.Set(k, bytes.Replace(v, []byte(`"t.put"`), []byte(`"t.pot"`), 1))
	})
	if _, err := store.Issue(context.Background(), s.st, "t.tamper", "mallory", time.Unix(2, 0), struct{}{}); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	_, err := Write(context.Background(), s.st, target, WriteOptions{Key: s.key, Now: time.Now()})
	if !errors.Is(err, ErrAudit) {
		t.Fatalf("err = %v, want ErrAudit", err)
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Fatalf("a backup that failed its check was kept: %v", ents)
	}
}
