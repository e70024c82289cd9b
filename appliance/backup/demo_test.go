package backup_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/backup"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/demo"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
)

const passphrase = "the lobby's backup passphrase"

func openApp(t *testing.T, dir string) *appliance.App {
	t.Helper()
	cfg, _ := config.Load("", nil)
	a, err := appliance.Open(context.Background(), dir, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// everything returns every record of a store but the graveyard (which is
// bookkeeping of the node's own backups and is not restored).
func everything(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := st.View(func(r *store.Reader) error {
		return r.Scan(nil, store.ScanOptions{}, func(k, v []byte) (bool, error) {
			if store.Kind(k[0]) != store.KindGrave {
				out[string(k)] = string(v)
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The demo building is backed up while gate events are being written,
// restored into a new directory as another appliance would, and found
// whole: the same audit head and records, and the OSDP reader's secure
// channel key still opens with the restored site key.
func TestDemoBuildingBackedUpUnderTrafficRestoresWhole(t *testing.T) {
	ctx := context.Background()
	a := openApp(t, t.TempDir())
	if _, err := demo.Seed(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := demo.Lanes(ctx, a, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	// The OSDP reader's own key, as the driver stores it after moving the
	// reader off the install-mode key.
	var reader device.Device
	ds, _ := a.Devices.Devices()
	for _, d := range ds {
		if d.Protocol == device.OSDP {
			reader = d
		}
	}
	scbk := bytes.Repeat([]byte{0x5A}, device.KeyLen)
	if err := device.NewReaderKeys(a.Store, a.Clock, a.Keys).SaveKey(ctx, reader.ID, scbk); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	a.Backups.KDF = backup.KDF{Time: 1, Memory: 1024, Threads: 1}
	if err := a.Backups.SaveSettings(ctx, "admin", target, "02:30", backup.DefaultPolicy); err != nil {
		t.Fatal(err)
	}
	if err := a.Backups.SetPassphrase(ctx, "admin", passphrase); err != nil {
		t.Fatal(err)
	}

	// Gate traffic: the demo card in and out at lane A, without pause.
	lanes, _ := a.Access.Lanes()
	var events atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		dir := gate.In
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := a.Access.Decide(ctx, gate.Presentation{Lane: lanes[0].ID, Direction: dir, Kind: gate.Card, Value: demo.Cards[0].Number}); err != nil {
				t.Error(err)
				return
			}
			events.Add(1)
			if dir == gate.In {
				dir = gate.Out
			} else {
				dir = gate.In
			}
		}
	}()
	waitEvents := func(n int64) {
		t.Helper()
		want := events.Load() + n
		for deadline := time.Now().Add(10 * time.Second); events.Load() < want; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("gate events stopped")
			}
		}
	}
	waitEvents(20)
	// The full backup, with events written while its snapshot is read.
	during := int64(-1)
	run, err := a.Backups.Now(ctx, "admin", "manual", func(p backup.Progress) {
		if during < 0 && p.Phase == "writing" {
			during = events.Load()
			waitEvents(10)
		}
	})
	if err != nil || !run.OK() || run.Kind != backup.Full {
		t.Fatalf("full backup under traffic: %+v %v", run, err)
	}
	if during < 0 {
		t.Fatal("no progress while writing")
	}
	waitEvents(20)
	close(stop)
	wg.Wait()
	// Quiet means the lobby's journal has shipped what the gates decided.
	if err := a.Access.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	// The last increment, once the gates are quiet, so the two stores can
	// be compared record by record.
	files, _ := a.Backups.Files()
	full := files[0]
	inc, err := backup.Write(ctx, a.Store, target, backup.WriteOptions{Base: &full, Key: full.Key, Now: a.Clock.Now()})
	if err != nil {
		t.Fatal(err)
	}

	// The full backup alone is a consistent snapshot: its chain verifies
	// and ends at the head it recorded (Restore checks both).
	if _, err := backup.Restore(ctx, []string{full.Path}, filepath.Join(t.TempDir(), "snapshot"), passphrase, nil); err != nil {
		t.Fatalf("restoring the snapshot taken under traffic: %v", err)
	}

	newDir := filepath.Join(t.TempDir(), "new-appliance")
	if _, err := backup.Restore(ctx, []string{full.Path, inc.Path}, newDir, passphrase, nil); err != nil {
		t.Fatal(err)
	}
	b := openApp(t, newDir)
	want, got := everything(t, a.Store), everything(t, b.Store)
	if len(got) != len(want) {
		t.Errorf("restored %d records, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("record %q differs after restore", k)
			break
		}
	}
	var headA, headB uint64
	var hashA, hashB []byte
	a.Store.View(func(r *store.Reader) error { headA, hashA, _ = store.AuditHead(r); return nil })
	b.Store.View(func(r *store.Reader) error { headB, hashB, _ = store.AuditHead(r); return nil })
	if headA != headB || !bytes.Equal(hashA, hashB) || headB != inc.AuditSeq {
		t.Fatalf("audit head %d, want %d", headB, headA)
	}
	if n, err := b.VerifyAudit(); err != nil || n != headA {
		t.Fatalf("restored audit chain: %d %v", n, err)
	}
	key, err := device.NewReaderKeys(b.Store, clock.System{}, b.Keys).LoadKey(ctx, reader.ID)
	if err != nil || !bytes.Equal(key, scbk) {
		t.Fatalf("OSDP reader key after restore: %x %v", key, err)
	}
	t.Logf("%d gate events, at least 10 while the full backup was written; full %d bytes, increment %d bytes",
		events.Load(), full.Size, inc.Size)
}

// A restore that could not even clean up leaves its marker; the appliance
// must not start on such a directory as if it held good data.
func TestApplianceRefusesUnfinishedRestore(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, backup.IncompleteMarker), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Load("", nil)
	if a, err := appliance.Open(context.Background(), dir, cfg, nil, nil); err == nil {
		a.Close()
		t.Fatal("the appliance opened a half-restored directory")
	}
}
