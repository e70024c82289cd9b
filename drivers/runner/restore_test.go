package runner_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/backup"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/drivers/osdp"
	"gatehouse/drivers/runner"
)

// A new appliance restored from a backup brings the OSDP reader online on
// the secure channel with the key the reader holds: the key travels in the
// backup, sealed with the site key that the backup carries wrapped.
func TestOSDPReaderComesOnlineOnARestoredAppliance(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	d := r.dev["osdp"]
	eventually(t, "reader on its own key", func() bool {
		h, _ := r.run.Health(d.ID)
		return h.Online && h.Secure && !h.DefaultKey
	})
	k, err := device.NewReaderKeys(r.app.Store, r.app.Clock, r.app.Keys).LoadKey(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	const pass = "restore me on new hardware"
	r.app.Backups.KDF = backup.KDF{Time: 1, Memory: 1024, Threads: 1}
	key, err := r.app.Backups.Wrap(pass)
	if err != nil {
		t.Fatal(err)
	}
	full, err := backup.Write(ctx, r.app.Store, t.TempDir(), backup.WriteOptions{Key: key, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// The old appliance dies; its readers stay on the bus with their keys.
	r.run.Close()

	dir := filepath.Join(t.TempDir(), "new")
	if _, err := backup.Restore(ctx, []string{full.Path}, dir, pass, nil); err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Load("", nil)
	app, err := appliance.Open(ctx, dir, cfg, r.app.Clock, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	run, err := runner.Start(ctx, runner.Config{
		Source: app.Devices, Decider: app.Access, Lanes: app.Access, Doors: &doors{}, Clock: app.Clock,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ModbusTimeout: 3 * time.Second, PollInterval: 10 * time.Millisecond,
		Keys: device.NewReaderKeys(app.Store, app.Clock, app.Keys),
		OSDP: func(c *osdp.Config) {
			c.PollEvery, c.ProbeEvery, c.ReplyTimeout = 5*time.Millisecond, 20*time.Millisecond, 3*time.Second
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Close() })
	eventually(t, "reader online on the restored appliance", func() bool {
		h, _ := run.Health(d.ID)
		return h.Online && h.Secure && !h.DefaultKey
	})
	k2, err := device.NewReaderKeys(app.Store, app.Clock, app.Keys).LoadKey(ctx, d.ID)
	if err != nil || !reflect.DeepEqual(k, k2) {
		t.Fatalf("restored key: %v", err)
	}
	if pd := r.bench.OSDPReader(d); pd == nil || !reflect.DeepEqual(pd.Key().Bytes(), k) {
		t.Fatal("the reader was given another key")
	}
}
