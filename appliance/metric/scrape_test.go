package metric_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
)

// BenchmarkGather is what one scrape costs the appliance before encoding:
// the Go runtime's and the process's metrics, and the store's size, the
// outbox's depth, the devices and the lanes read from a fresh appliance.
//
//	go test -run '^$' -bench Gather ./appliance/metric/
func BenchmarkGather(b *testing.B) {
	cfg, err := config.Load("", nil)
	if err != nil {
		b.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	app, err := appliance.Open(context.Background(), b.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	g := app.Metrics.Gatherer()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
