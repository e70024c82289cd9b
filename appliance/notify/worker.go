package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"gatehouse/appliance/store"
)

// WorkerActor is who the worker's commands are attributed to.
const WorkerActor = "system:notify"

// WorkerOptions configures a Worker. Zero values pick the defaults.
type WorkerOptions struct {
	Timeout   time.Duration // per attempt; default 30 s
	Parallel  int           // attempts at once per lane (a channel, or one webhook); default 2
	Poll      time.Duration // how often to look for retries that came due; default 5 s
	Retention time.Duration // delivered and dead messages are purged after; default 30 days, < 0 never

	SMS   Channel      // the modem; nil: SMS messages fail until one is attached
	HTTP  *http.Client // webhooks; nil: NewHTTPClient()
	TLS   *tls.Config  // SMTP; nil: the system's roots
	Hello string       // SMTP EHLO name

	// Channels replaces the channel of a name outright: simulators, tests.
	Channels map[ChannelName]Channel

	// Observer, if set, hears of every attempt's outcome (metrics).
	Observer Observer

	// Node names this lobby in the sending marks (a site's node ID; "" on a
	// single appliance).
	Node string
	// Leading says whether this worker may send now: in a site, whether
	// its node leads. It is asked before an attempt commits its sending
	// mark and again before the message leaves; nil: always.
	Leading func() bool
	// Grace is added to Timeout in a sending mark's Until: how far apart
	// the clocks of the site's lobbies may be (the site refuses changes
	// from a lobby 10 s off the leader). Default 10 s.
	Grace time.Duration
}

// Observer hears how each delivery attempt went: err is nil when the
// message was delivered. Attempts cut short by the worker's shutdown are
// not reported (nor recorded). It must be quick.
type Observer interface {
	Attempted(ch ChannelName, err error)
}

// Worker delivers due messages and records each attempt. Whoever creates
// it runs it (Run) and stops it by ending Run's context; in a cluster only
// one lobby should run one.
type Worker struct {
	svc *Service
	o   WorkerOptions

	mu       sync.Mutex
	inflight map[string]bool // message IDs under way
	lanes    map[string]int  // attempts under way per lane
	started  int             // attempts started, ever
	held     map[string]bool // attempts whose outcome could not be recorded: not again before the next poll
	tried    map[string]bool // attempted by the RunOnce under way
	freed    chan struct{}   // an attempt finished: a slot is free
	wg       sync.WaitGroup
	relative sync.Once // logs, once, that links go out relative (no base URL set)
}

// NewWorker returns a worker for svc's outbox.
func NewWorker(svc *Service, o WorkerOptions) *Worker {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.Retention == 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.HTTP == nil {
		o.HTTP = NewHTTPClient()
	}
	return &Worker{svc: svc, o: o, inflight: make(map[string]bool), lanes: make(map[string]int), held: make(map[string]bool), freed: make(chan struct{}, 1)}
}

// Run delivers messages as they come due until ctx ends, then waits for
// the attempts under way (they end with ctx too). An attempt cut short by
// the end is not recorded: its sending mark stays, and the message is sent
// again, under the same identity, once the mark's Until has passed — by
// this appliance after its restart, or in a site by whichever lobby leads.
// Each Run is one lease: the marks it commits name it.
func (w *Worker) Run(ctx context.Context) error {
	defer w.wg.Wait()
	t := time.NewTicker(w.o.Poll)
	defer t.Stop()
	lease := store.NewID(w.svc.clock.Now())
	var purged time.Time
	for {
		if err := w.dispatch(ctx, lease, w.svc.clock.Now().UnixNano()); err != nil && ctx.Err() == nil {
			w.svc.log.Error("notify: reading the outbox", "err", err)
		}
		if now := w.svc.clock.Now(); w.o.Retention > 0 && now.Sub(purged) >= time.Hour {
			purged = now
			if err := w.svc.Purge(ctx, WorkerActor, now.Add(-w.o.Retention), maxPurge); err != nil && ctx.Err() == nil {
				w.svc.log.Error("notify: purging the outbox", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.svc.wake:
		case <-w.freed:
		case <-t.C:
			w.mu.Lock()
			clear(w.held)
			w.mu.Unlock()
		}
	}
}

// RunOnce makes one attempt at every message due now and returns after
// recording them all, with how many it attempted: for tests and one-shot
// tools, never while Run runs. Run is the long-lived form.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	now := w.svc.clock.Now().UnixNano()
	lease := store.NewID(w.svc.clock.Now())
	n := 0
	w.mu.Lock()
	w.tried = make(map[string]bool)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.tried = nil
		w.mu.Unlock()
	}()
	for {
		before := w.attempted()
		if err := w.dispatch(ctx, lease, now); err != nil {
			return n, err
		}
		w.wg.Wait()
		done := w.attempted() - before
		if done == 0 {
			return n, nil
		}
		n += done
	}
}

// attempted counts attempts started, for RunOnce.
func (w *Worker) attempted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.started
}

// maxScan bounds how many due messages one dispatch looks at.
const maxScan = 1000

// lane is what an attempt queues behind: its channel, or for webhooks the
// one webhook, so that a hanging robot holds up neither email, nor the
// live page, nor the other robots.
func lane(rec Record) string {
	if rec.Channel == Webhook {
		return "webhook:" + rec.To
	}
	return string(rec.Channel)
}

// width is how many attempts a lane runs at once. In-page messages go
// one at a time, in order, so a page sees them in the order queued.
func (w *Worker) width(rec Record) int {
	if rec.Channel == InPage {
		return 1
	}
	return w.o.Parallel
}

// dispatch starts attempts at due messages that have a free slot in
// their lane, skipping those already under way.
func (w *Worker) dispatch(ctx context.Context, lease string, now int64) error {
	due, set, err := w.claim(now)
	if err != nil || len(due) == 0 {
		return err
	}
	for _, rec := range due {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.attempt(ctx, lease, set, rec)
			w.mu.Lock()
			delete(w.inflight, rec.ID)
			if w.lanes[lane(rec)]--; w.lanes[lane(rec)] == 0 {
				delete(w.lanes, lane(rec))
			}
			w.mu.Unlock()
			select {
			case w.freed <- struct{}{}:
			default:
			}
		}()
	}
	return nil
}

// claim reads the due messages that have a free slot in their lane and
// marks them under way, with the settings to send them by. It opens its
// snapshot of the outbox under w.mu: an attempt records its outcome
// before it leaves inflight, so every attempt that is no longer under way
// is in the snapshot. A snapshot opened before the lock could show a
// message delivered a moment ago as still due and no longer under way,
// and it would be sent again.
func (w *Worker) claim(now int64) ([]Record, Settings, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var due []Record
	var set Settings
	err := w.svc.db.View(func(r *store.Reader) error {
		var err error
		taken := map[string]int{}
		due, err = Due(r, now, maxScan, func(rec Record) bool {
			l := lane(rec)
			if w.inflight[rec.ID] || w.held[rec.ID] || w.tried[rec.ID] || w.lanes[l]+taken[l] >= w.width(rec) {
				return false
			}
			taken[l]++
			return true
		})
		if err != nil || len(due) == 0 {
			return err
		}
		set, err = storedSettings(r)
		return err
	})
	if err != nil || len(due) == 0 {
		return nil, Settings{}, err
	}
	if set, err = set.open(w.svc.keys); err != nil {
		return nil, Settings{}, err
	}
	set = w.svc.withBase(set)
	for _, rec := range due {
		w.inflight[rec.ID] = true
		w.lanes[lane(rec)]++
		w.started++
		if w.tried != nil {
			w.tried[rec.ID] = true
		}
	}
	return due, set, nil
}

// attempt sends one message once and records how it went: the sending
// mark first (DESIGN.md, "Sending marks"), then the send, then the outcome.
func (w *Worker) attempt(ctx context.Context, lease string, set Settings, rec Record) {
	n := rec.Attempts + 1
	m, err := w.svc.Open(rec)
	if err != nil {
		err = &SendError{Reason: "cannot unseal", Permanent: true, Err: err}
	} else {
		var ch Channel
		if m.Channel == SMS || m.Channel == Email {
			m.Link = set.Absolute(m.Link) // a phone or a mailbox has no page to resolve a path against
			if strings.HasPrefix(m.Link, "/") {
				// The pages that send links warn while no base URL is set;
				// the log says it once, naming no one.
				w.relative.Do(func() {
					w.svc.log.Warn("notify: no base URL set: links in SMS and email go out as paths a phone cannot open",
						"channel", string(m.Channel), "kind", m.Kind)
				})
			}
		}
		if ch, err = w.channel(set, m); err == nil {
			// The timeout runs from before the mark, so that the attempt
			// is over by the mark's Until whatever the commit took.
			actx, cancel := context.WithTimeout(ctx, w.o.Timeout)
			defer cancel()
			if m.Channel != InPage && !w.mark(actx, lease, rec, n) {
				return
			}
			err = ch.Send(actx, m)
			if err != nil && actx.Err() != nil && ctx.Err() == nil {
				err = &SendError{Reason: "timeout", Err: err}
			}
		}
	}
	if err != nil && ctx.Err() != nil {
		return // shutting down: not this message's fault; it stays due
	}
	if w.o.Observer != nil {
		w.o.Observer.Attempted(rec.Channel, err)
	}
	w.record(context.WithoutCancel(ctx), lease, rec, n, err)
}

// mark commits the attempt's sending mark, and says whether the message
// may leave: only while this worker may send (Leading), before the mark
// and after it, since a node that stopped leading would have its mark
// forwarded to the new leader and committed there. A message not sent
// here keeps its mark (if committed) and is due again at the mark's Until.
// In-page messages have none: they go to the live pages held open on this
// lobby, in this process, so nothing of one is in flight elsewhere when the
// lobby dies (its pages go with it), and a mark would add a commit to every
// live update.
func (w *Worker) mark(ctx context.Context, lease string, rec Record, n int) bool {
	if w.o.Leading != nil && !w.o.Leading() {
		return false
	}
	now := w.svc.clock.Now()
	p := sendingPayload{ID: rec.ID, Mark: Mark{Lease: lease, Node: w.o.Node, Attempt: n, At: now.UnixNano(),
		Until: now.Add(w.o.Timeout + w.o.Grace).UnixNano()}}
	if _, err := store.Issue(ctx, w.svc.db, CmdSending, WorkerActor, now, p); err != nil {
		if ctx.Err() == nil {
			lvl := slog.LevelError
			if errors.Is(err, ErrState) {
				lvl = slog.LevelInfo // another run's mark holds it, or it was delivered meanwhile
			}
			w.svc.log.Log(ctx, lvl, "notify: not sent: the sending mark was not committed", "id", rec.ID, "err", err)
		}
		w.hold(rec.ID)
		return false
	}
	if w.o.Leading != nil && !w.o.Leading() {
		w.svc.log.Info("notify: not sent: no longer leading; the next leader sends it", "id", rec.ID)
		return false
	}
	return true
}

// hold keeps a message from this worker's attempts until the next poll.
func (w *Worker) hold(id string) {
	w.mu.Lock()
	w.held[id] = true
	w.mu.Unlock()
}

// record applies the attempt's outcome.
func (w *Worker) record(ctx context.Context, lease string, rec Record, n int, sendErr error) {
	p := attemptPayload{ID: rec.ID, Attempt: n, Lease: lease}
	typ := CmdDelivered
	if sendErr != nil {
		var se *SendError
		p.Error = "delivery failed"
		permanent := false
		if errors.As(sendErr, &se) {
			p.Error, permanent = se.Reason, se.Permanent
		}
		typ = CmdFailed
		if permanent || n >= w.svc.backoff.MaxAttempts {
			typ = CmdDead
		} else {
			p.Next = w.svc.clock.Now().Add(w.svc.backoff.Delay(n)).UnixNano()
		}
		w.svc.log.Warn("notification not delivered", "id", rec.ID, "channel", string(rec.Channel), "kind", rec.Kind,
			"attempt", n, "reason", p.Error, "dead", typ == CmdDead)
	}
	if err := w.svc.apply(ctx, typ, WorkerActor, p); err != nil {
		w.svc.log.Error("notify: recording an attempt", "id", rec.ID, "type", typ, "err", err)
		w.hold(rec.ID)
	}
}

// channel picks what delivers m, from the settings of this round.
func (w *Worker) channel(set Settings, m Message) (Channel, error) {
	if c, ok := w.o.Channels[m.Channel]; ok {
		return c, nil
	}
	switch m.Channel {
	case InPage:
		return w.svc.hub, nil
	case Email:
		if !set.SMTP.Enabled() {
			return nil, &SendError{Reason: "email is not set up", Err: ErrNoChannel}
		}
		return &SMTPChannel{SMTP: set.SMTP, BaseURL: set.BaseURL, Clock: w.svc.clock, TLS: w.o.TLS, Hello: w.o.Hello}, nil
	case Webhook:
		h, ok := set.Hook(m.To)
		if !ok {
			return nil, &SendError{Reason: "no webhook of this name", Err: ErrNoChannel}
		}
		return &HookChannel{Hook: h, BaseURL: set.BaseURL, Client: w.o.HTTP, Clock: w.svc.clock}, nil
	case SMS:
		if w.o.SMS == nil {
			return nil, &SendError{Reason: "no SMS modem", Err: ErrNoChannel}
		}
		return w.o.SMS, nil
	}
	return nil, &SendError{Reason: "unknown channel", Permanent: true}
}
