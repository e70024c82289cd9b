// Package fault logs a device's failures by state instead of by
// occurrence. A reader on the wrong key fails at every probe, a second
// apart: logged each time, that was 86,000 warnings a day saying the same
// thing. A Log writes a line when the state changes — the first failure,
// a failure unlike those before, the recovery — and, while the device
// keeps failing, a summary every SummaryEvery:
//
//	WARN osdp reader not usable err="secure channel: reader holds another key"
//	WARN osdp reader not usable err="secure channel: reader holds another key" failures=900 since=…
//	INFO osdp reader online failures=1210 since=…
//
// A device that fails and recovers over and over (a loose cable) is one
// episode: its first recovery and first relapse are logged, after that
// only the summaries (which count the recoveries too) until it has worked
// for SummaryEvery. The log may then show a recovery for up to
// SummaryEvery while the device fails again; the device pages show the
// state of the moment.
//
// Time comes from the driver's clock. A Log never logs what its caller
// does not give it: the failure's text must carry no card number, key or
// phone number, like every driver error.
package fault

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"gatehouse/appliance/clock"
)

// SummaryEvery is how often a device that keeps failing is logged.
const SummaryEvery = 15 * time.Minute

// maxKinds bounds the different failures an episode logs as they come;
// more are counted in the summaries.
const maxKinds = 8

// Log is one device's failure state. Its methods are safe for concurrent
// use.
type Log struct {
	log   *slog.Logger
	clock clock.Clock
	level slog.Level // of failures; recoveries are Info

	mu      sync.Mutex
	failing bool      // the device's state as last told
	shown   bool      // the log's last line said failing
	okSince time.Time // when the device last recovered
	ep      episode
}

// episode is a stretch of trouble: from a failure until the device has
// worked for SummaryEvery.
type episode struct {
	since      time.Time // the first failure; zero: none yet
	said       time.Time // when the episode's last line was written
	kinds      []string  // failures logged as they came
	failures   int
	recoveries int
	recovered  bool // a recovery was logged
	relapsed   bool // a relapse was logged
}

// New returns the Log of a device, writing to log (which should name the
// device) with time from clk (the system clock if nil). Failures are
// warnings.
func New(log *slog.Logger, clk clock.Clock) *Log { return NewAt(log, clk, slog.LevelWarn) }

// NewAt is New with failures logged at level.
func NewAt(log *slog.Logger, clk clock.Clock, level slog.Level) *Log {
	if clk == nil {
		clk = clock.System{}
	}
	return &Log{log: log, clock: clk, level: level}
}

// Fail records a failure: msg says what failed ("osdp reader not usable"),
// why is the error's text, which tells one failure from another. attrs go
// on the line if one is written.
func (l *Log) Fail(msg, why string, attrs ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	ep := &l.ep
	if ep.since.IsZero() || (!l.failing && now.Sub(l.okSince) >= SummaryEvery) {
		*ep = episode{since: now, kinds: ep.kinds[:0]}
	}
	l.failing = true
	ep.failures++
	line := append([]any{"err", why}, attrs...)
	switch {
	case !slices.Contains(ep.kinds, why) && len(ep.kinds) < maxKinds:
		ep.kinds = append(ep.kinds, why)
	case !l.shown && !ep.relapsed:
		ep.relapsed = true
	case now.Sub(ep.said) >= SummaryEvery:
		line = append(line, "failures", ep.failures, "since", ep.since)
		if ep.recoveries > 0 {
			line = append(line, "recoveries", ep.recoveries)
		}
	default:
		return
	}
	l.log.Log(context.Background(), l.level, msg, line...)
	l.shown, ep.said = true, now
}

// OK records that the device works. After failures it logs msg ("osdp
// reader online") with how many there were since when, and reports
// whether it did; while the device works it costs a lock, so drivers may
// call it on every good exchange.
func (l *Log) OK(msg string, attrs ...any) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.failing && !l.shown {
		return false
	}
	now := l.clock.Now()
	ep := &l.ep
	if l.failing {
		l.failing, l.okSince = false, now
		ep.recoveries++
	}
	if !l.shown || (ep.recovered && now.Sub(ep.said) < SummaryEvery) {
		return false
	}
	line := append(slices.Clip(attrs), "failures", ep.failures, "since", ep.since)
	l.log.Info(msg, line...)
	l.shown, ep.said, ep.recovered = false, now, true
	return true
}
