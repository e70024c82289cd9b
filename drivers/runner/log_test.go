package runner_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/device"
	"gatehouse/drivers/runner"
)

// source is a device configuration the test changes, failing while err is
// set; it counts the reads.
type source struct {
	mu    sync.Mutex
	devs  []device.Device
	err   error
	reads int
}

func (s *source) Devices() ([]device.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return s.devs, s.err
}

func (s *source) Changes() <-chan struct{} { return nil } // resyncs only

func (s *source) set(devs []device.Device, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.devs, s.err = devs, err
}

// readsAfter waits until the configuration has been read n more times.
func (s *source) readsAfter(t *testing.T, n int) {
	t.Helper()
	s.mu.Lock()
	base := s.reads
	s.mu.Unlock()
	eventually(t, "more reads", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.reads >= base+n })
}

// logLines is what a slog text handler wrote, readable while the
// supervisor writes.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logLines) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), `msg="`+msg+`"`)
}

// A configuration that cannot be read and a driver that cannot start are
// tried again at every resync (30 s): each is logged when it starts
// failing and when it works again, not at every try.
func TestRetriedFailuresAreLoggedByState(t *testing.T) {
	var logged logLines
	src := &source{}
	r, err := runner.Start(context.Background(), runner.Config{Source: src, Resync: time.Millisecond,
		Clock: clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)), Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })

	src.set(nil, errors.New("store closed"))
	src.readsAfter(t, 20)
	reader := device.Device{ID: "0000000000000001", Name: "Gate reader", Port: "/nonexistent/ttyOSDP", Protocol: device.OSDP,
		Address: "x", Role: device.EntryReader, Enabled: true}
	src.set([]device.Device{reader}, nil)
	src.readsAfter(t, 20)
	reader.Address = "1"
	src.set([]device.Device{reader}, nil)
	eventually(t, "the driver running", func() bool { h, _ := r.Health(reader.ID); return h.Running })
	src.readsAfter(t, 5)
	for msg, want := range map[string]int{
		"devices: reading the configuration failed": 1,
		"devices: configuration read again":         1,
		"devices: driver failed to start":           1,
		"devices: driver started":                   1,
	} {
		if n := logged.count(msg); n != want {
			t.Errorf("%q logged %d times, want %d", msg, n, want)
		}
	}
}
