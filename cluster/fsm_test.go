package cluster

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
)

// A snapshot that arrives damaged (a bit flipped, cut short, not a
// snapshot at all) is refused before anything is cleared: the node keeps
// the state it had, its audit chain whole. A sound one replaces it.
func TestADamagedSnapshotLeavesTheStateAsItWas(t *testing.T) {
	ctx := context.Background()
	open := func(name string) *store.Store {
		st, err := store.Open(store.Options{Dir: filepath.Join(t.TempDir(), name), Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		directory.Register(st)
		t.Cleanup(func() { st.Close() })
		return st
	}
	leader, node := open("leader"), open("node")
	for i, st := range []*store.Store{leader, node} {
		names := []string{"Site floor", "Node's own floor"}
		if _, err := directory.New(st, clock.System{}, nil).SaveFloor(ctx, "admin", directory.Floor{Name: names[i], Level: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	var snap bytes.Buffer
	zw, _ := zstd.NewWriter(&snap)
	if _, err := leader.WriteSnapshot(ctx, zw); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	good := snap.Bytes()

	f, err := newFSM(node, t.TempDir(), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	floors := func() []string {
		fs, err := directory.New(node, clock.System{}, nil).Floors(true)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, fl := range fs {
			out = append(out, fl.Name)
		}
		return out
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"a bit flipped", flipped},
		{"cut short", good[:len(good)*2/3]},
		{"empty", nil},
		{"not a snapshot", []byte("GET / HTTP/1.1\r\n\r\n")},
		{"zstd of garbage", func() []byte {
			var b bytes.Buffer
			zw, _ := zstd.NewWriter(&b)
			zw.Write(bytes.Repeat([]byte{0xff, 0x01, 0x02}, 1000))
			zw.Close()
			return b.Bytes()
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := f.Restore(io.NopCloser(bytes.NewReader(c.b))); err == nil {
				t.Fatal("a damaged snapshot was restored")
			}
			if got := floors(); len(got) != 1 || got[0] != "Node's own floor" {
				t.Fatalf("after the refused snapshot the node holds %v", got)
			}
			if err := node.View(func(r *store.Reader) error { _, err := store.VerifyAudit(r); return err }); err != nil {
				t.Fatalf("audit chain after the refused snapshot: %v", err)
			}
		})
	}
	if err := f.Restore(io.NopCloser(bytes.NewReader(good))); err != nil {
		t.Fatal(err)
	}
	if got := floors(); len(got) != 1 || got[0] != "Site floor" {
		t.Fatalf("after the sound snapshot the node holds %v", got)
	}
	var bad bytes.Buffer
	if err := store.CheckSnapshot(&bad); !errors.Is(err, store.ErrBadSnapshot) {
		t.Fatalf("CheckSnapshot of nothing: %v", err)
	}
}
