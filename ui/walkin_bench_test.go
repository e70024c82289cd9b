package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/config"
	"gatehouse/appliance/device"
	"gatehouse/drivers/idcard"
	"gatehouse/drivers/runner"
)

// BenchmarkIDCardToForm: a resident ID card laid on the desk's simulated
// reader (a pseudo-terminal, the reader's default 300 ms poll) until the
// walk-in form's live stream delivers its fields — what the form shows one
// script call later. "read" is the reader's part (the poll's wait and the
// SAM exchange), "deliver" the appliance's (read done → event at the page).
//
//	go test -run '^$' -bench IDCardToForm -benchtime 100x ./ui/
func BenchmarkIDCardToForm(b *testing.B) {
	ctx := context.Background()
	cfg, err := config.Load("", nil)
	if err != nil {
		b.Fatal(err)
	}
	app, err := appliance.Open(ctx, b.TempDir(), cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer app.Close()
	acc, err := app.Auth.CreateAccount(ctx, "b", auth.NewAccount{Username: "desk", Name: "Desk", Role: auth.Reception, Password: "desk-password-1"})
	if err != nil {
		b.Fatal(err)
	}
	d, err := app.Devices.Save(ctx, "b", device.Device{Name: "Desk ID card reader", Port: filepath.Join(b.TempDir(), "idcard"),
		Protocol: device.IDCard, Role: device.DocumentReader, Enabled: true})
	if err != nil {
		b.Fatal(err)
	}
	bench, err := runner.NewBench(filepath.Dir(d.Port), []device.Device{d})
	if err != nil {
		b.Skipf("no pseudo-terminals here: %v", err)
	}
	defer bench.Close()
	run, err := runner.Start(ctx, runner.Config{Source: app.Devices, Decider: app.Access, Lanes: app.Access, Clock: app.Clock,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer run.Close()
	defer app.Devices.Attach(run)()
	srv := New(app, Options{})
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	req, _ := http.NewRequest("GET", ts.URL+"/desk/walkin/reads?after=0", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: srv.testSession(acc.ID, app.Clock.Now()).id})
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	events := make(chan docFill, 1)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var f docFill
				if json.Unmarshal([]byte(data), &f) == nil && f.Seq > 0 {
					events <- f
				}
			}
		}
		close(events)
	}()
	sim := bench.IDCardReader(d)
	var total, read, deliver []time.Duration
	b.ResetTimer()
	for i := range b.N {
		card := runner.DemoIDCard("访客" + string(rune('甲'+i%20)))
		card.Birth = idcard.Date{Year: 1949, Month: 12, Day: 31}
		sim.RemoveCard()
		// A visitor lays the card at any moment of the reader's poll.
		b.StopTimer()
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		b.StartTimer()
		start := time.Now()
		sim.PresentCard(card)
		f, ok := <-events
		got := time.Now()
		if !ok {
			b.Fatal("the stream ended")
		}
		if f.Fields["name"] != card.Name {
			b.Fatalf("read %q, want %q", f.Fields["name"], card.Name)
		}
		total = append(total, got.Sub(start))
		readAt := time.UnixMilli(f.ReadAtMS)
		read, deliver = append(read, readAt.Sub(start)), append(deliver, got.Sub(readAt))
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"p50-ms", total}, {"read-p50-ms", read}, {"deliver-p50-ms", deliver}} {
		slices.Sort(m.ds)
		b.ReportMetric(float64(m.ds[len(m.ds)/2].Microseconds())/1000, m.name)
	}
	slices.Sort(total)
	b.ReportMetric(float64(total[len(total)*99/100].Microseconds())/1000, "p99-ms")
	slices.Sort(deliver)
	b.ReportMetric(float64(deliver[len(deliver)*99/100].Microseconds())/1000, "deliver-p99-ms")
}
