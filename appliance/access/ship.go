package access

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"gatehouse/appliance/journal"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// A lobby's gate events are written to its own journal first and shipped
// to the site's store in batches (cluster/DESIGN.md, "Gates never wait"):
// the lane opens once the event is in the journal, whether or not the
// store — in a site of several lobbies, the Raft leader — answers. Until
// an event is in the store, the lobby's decisions read it from the queue
// below, so anti-passback and use limits hold at that lobby while it is
// cut off. An event's ID is its time and random tie-breaker (the store's
// key of the event), so a batch shipped twice — a retry after an uncertain
// answer, a restart — adds each event once.

// CmdEvents ships a batch of one lobby's gate events.
const CmdEvents = "access.events"

// shipBatch is the largest batch: about 64 KB of command.
const shipBatch = 256

type eventsPayload struct {
	Lobby  string         `json:"lobby,omitempty"`
	Events []eventPayload `json:"events"`
}

type queued struct {
	seq uint64
	ev  eventPayload
}

// outbox is the lobby's events not yet in the store.
type outbox struct {
	j     *journal.Journal
	lobby string

	mu       sync.Mutex
	q        []queued
	byHolder map[string][]queued // passages (granted, with a zone), per holder, oldest first
	shipped  uint64              // events below this journal number are in the store
	lastErr  error
	changed  sync.Cond
	prev     []queued // the batch shipped last

	kick chan struct{}
}

// UseJournal makes the service write its decisions to j first and ship
// them to the store from Ship; recs are the events j still holds (from
// journal.Open), queued again. lobby names this appliance on the batches.
func (s *Service) UseJournal(j *journal.Journal, recs []journal.Record, lobby string) error {
	o := &outbox{j: j, lobby: lobby, byHolder: map[string][]queued{}, kick: make(chan struct{}, 1)}
	o.changed.L = &o.mu
	for _, r := range recs {
		var ev eventPayload
		if err := json.Unmarshal(r.Data, &ev); err != nil {
			// A record the journal's checksum passed but that is not an
			// event cannot come from this code: it is skipped, not fatal.
			continue
		}
		o.push(queued{seq: r.Seq, ev: ev})
	}
	if len(recs) > 0 {
		o.shipped = recs[0].Seq
	} else {
		o.shipped = 1
	}
	s.out = o
	return nil
}

func isPassage(ev eventPayload) bool { return ev.Grant && ev.ZoneID != "" && ev.Holder != "" }

func (o *outbox) push(q queued) {
	o.q = append(o.q, q)
	if isPassage(q.ev) {
		o.byHolder[q.ev.Holder] = append(o.byHolder[q.ev.Holder], q)
	}
}

// add journals an event and queues it for shipping.
func (o *outbox) add(ev eventPayload) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	seq, err := o.j.Append(b)
	if err != nil {
		return err
	}
	o.push(queued{seq: seq, ev: ev})
	select {
	case o.kick <- struct{}{}:
	default:
	}
	return nil
}

// stored says whether the event is in the store already.
func stored(r *store.Reader, ev eventPayload) (bool, error) {
	k, _, _ := ev.event().keys()
	return r.Has(k)
}

// latest is the newest queued passage of holder in zone that r does not
// hold yet, or nil.
func (o *outbox) latest(r *store.Reader, holder, zone string) (*eventPayload, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	qs := o.byHolder[holder]
	for i := len(qs) - 1; i >= 0; i-- {
		if qs[i].ev.ZoneID != zone {
			continue
		}
		in, err := stored(r, qs[i].ev)
		if err != nil || in {
			return nil, err // the newest is in the store: so is all before it
		}
		ev := qs[i].ev
		return &ev, nil
	}
	return nil, nil
}

// uses counts the queued entries on credential id (today's and all) that
// r does not hold yet.
func (o *outbox) uses(r *store.Reader, holder, id, day string) (today, total int, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, q := range o.byHolder[holder] {
		if q.ev.CredID != id || !q.ev.Entry {
			continue
		}
		in, err := stored(r, q.ev)
		if err != nil {
			return 0, 0, err
		}
		if in {
			continue
		}
		total++
		if q.ev.Day == day {
			today++
		}
	}
	return today, total, nil
}

// take copies the oldest queued events, at most n.
func (o *outbox) take(n int) []queued {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]queued(nil), o.q[:min(n, len(o.q))]...)
}

// done drops the shipped batch from the queue and the journal.
func (o *outbox) done(batch []queued, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lastErr = err
	if err != nil || len(batch) == 0 {
		o.changed.Broadcast()
		return
	}
	last := batch[len(batch)-1].seq
	n := 0
	for n < len(o.q) && o.q[n].seq <= last {
		n++
	}
	o.q = o.q[n:]
	// The decisions' lookups drop a batch's passages one batch late: a
	// decision that read the store just before this batch was applied
	// still finds them here (the lookups skip what the store holds).
	prev := o.prev
	o.prev = batch
	for _, q := range prev {
		if !isPassage(q.ev) {
			continue
		}
		hs := o.byHolder[q.ev.Holder]
		for len(hs) > 0 && hs[0].seq <= q.seq {
			hs = hs[1:]
		}
		if len(hs) == 0 {
			delete(o.byHolder, q.ev.Holder)
		} else {
			o.byHolder[q.ev.Holder] = hs
		}
	}
	o.shipped = last + 1
	// A failure to drop journal segments loses nothing: they are shipped
	// again (idempotently) after the next start.
	_ = o.j.Shipped(o.shipped)
	o.changed.Broadcast()
}

// SetLobby names this appliance on the batches it ships (a node of a site
// of several lobbies; "" for a single lobby).
func (s *Service) SetLobby(name string) {
	if s.out == nil {
		return
	}
	s.out.mu.Lock()
	s.out.lobby = name
	s.out.mu.Unlock()
}

// noLobby marks an event of this lobby not shipped yet: its number is not
// given until the site applies it (Recent's callers name it themselves).
const noLobby = 1<<16 - 1

// pending copies the queued events, oldest first; nil for no outbox.
func (o *outbox) pending() []eventPayload {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]eventPayload, len(o.q))
	for i, q := range o.q {
		out[i] = q.ev
	}
	return out
}

func (o *outbox) name() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lobby
}

// Lobby is this appliance's name on its events ("" for a single lobby).
func (s *Service) Lobby() string {
	if s.out == nil {
		return ""
	}
	return s.out.name()
}

// Lobbies names the lobbies by their number on events (index 0 is "", a
// single lobby's own).
func (s *Service) Lobbies() ([]string, error) {
	var names []string
	err := s.db.View(func(r *store.Reader) (err error) {
		names, err = lobbies(r)
		return err
	})
	return append([]string{""}, names...), err
}

func lobbies(r *store.Reader) ([]string, error) {
	var names []string
	err := r.GetJSON(store.Key(store.KindLobbies, "lobbies"), &names)
	if errors.Is(err, store.ErrNotFound) {
		err = nil
	}
	return names, err
}

// lobbyNumber is the number of the named lobby on its events, given the
// first time it ships (deterministically: inside the command).
func lobbyNumber(tx *store.Tx, name string) (uint16, error) {
	if name == "" {
		return 0, nil
	}
	names, err := lobbies(&tx.Reader)
	if err != nil {
		return 0, err
	}
	for i, n := range names {
		if n == name {
			return uint16(i + 1), nil
		}
	}
	if len(names) >= 1<<16-1 {
		return 0, nil
	}
	names = append(names, name)
	return uint16(len(names)), tx.SetJSON(store.Key(store.KindLobbies, "lobbies"), names)
}

// Replicated tells the live feed of the events another lobby shipped, as
// they are applied here from the site's log (Store.OnReplicated): the
// guard station shows the whole site's gates. It must be quick.
func (s *Service) Replicated(cmd store.Command) {
	if cmd.Type != CmdEvents || s.onEvent == nil {
		return
	}
	var p eventsPayload
	if err := cmd.Decode(&p); err != nil || p.Lobby == "" || (s.out != nil && p.Lobby == s.out.name()) {
		return
	}
	for _, ev := range p.Events {
		s.onEvent(Outcome{Decision: Decision{Grant: ev.Grant, Reason: ev.Reason, Alarm: ev.Alarm}, CredID: ev.CredID,
			Holder: ev.Holder, Name: ev.Name, VisitID: ev.Visit, Lobby: p.Lobby}, ev.event())
	}
}

// ShipStatus is what the cluster page shows of a lobby's events.
type ShipStatus struct {
	Waiting int   // events in the journal not yet in the site's store
	Err     error // the last attempt's error, nil when it succeeded
}

// Shipping reports the events waiting to ship; zero without a journal.
func (s *Service) Shipping() ShipStatus {
	if s.out == nil {
		return ShipStatus{}
	}
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return ShipStatus{Waiting: len(s.out.q), Err: s.out.lastErr}
}

// Ship sends the journalled events to the store until ctx ends: a batch as
// soon as there is one (the events that arrive while a batch is applied
// make the next), retried with a growing pause while the store refuses (a
// lobby cut off from its site). The caller owns it.
func (s *Service) Ship(ctx context.Context) {
	o := s.out
	if o == nil {
		return
	}
	const minPause, maxPause = 100 * time.Millisecond, 2 * time.Second
	pause := minPause
	retry := time.NewTimer(0)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-o.kick:
		case <-retry.C:
		}
		for {
			batch := o.take(shipBatch)
			if len(batch) == 0 {
				break
			}
			err := s.shipOnce(ctx, batch)
			o.done(batch, err)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				retry.Reset(pause)
				pause = min(2*pause, maxPause)
				break
			}
			pause = minPause
		}
	}
}

func (s *Service) shipOnce(ctx context.Context, batch []queued) error {
	s.out.mu.Lock()
	lobby := s.out.lobby
	s.out.mu.Unlock()
	// Events the local store holds already (shipped before a restart, or
	// by a try whose answer was lost) are not sent again: a batch of
	// nothing new would still be a command on the audit trail.
	p := eventsPayload{Lobby: lobby, Events: make([]eventPayload, 0, len(batch))}
	err := s.db.View(func(r *store.Reader) error {
		for _, q := range batch {
			in, err := stored(r, q.ev)
			if err != nil {
				return err
			}
			if !in {
				p.Events = append(p.Events, q.ev)
			}
		}
		return nil
	})
	if err != nil || len(p.Events) == 0 {
		return err
	}
	actor := "gates"
	if p.Lobby != "" {
		actor = "lobby:" + p.Lobby
	}
	res, err := store.Issue(ctx, s.db, CmdEvents, actor, s.clock.Now(), p)
	if err != nil {
		return err
	}
	// The hosts hear of their visitors' first entry once it is in the
	// site's record (Entered tells only the first).
	if i := strings.IndexByte(res.Note, '{'); s.visits != nil && i >= 0 {
		var moved struct {
			In []string `json:"in"`
		}
		if json.Unmarshal([]byte(res.Note[i:]), &moved) == nil {
			for _, id := range moved.In {
				s.visits.Entered(context.WithoutCancel(ctx), id)
			}
		}
	}
	return nil
}

// Flush waits until every event decided before the call is in the store,
// or ctx ends (tests, and a clean shutdown's last attempt).
func (s *Service) Flush(ctx context.Context) error {
	o := s.out
	if o == nil {
		return nil
	}
	o.mu.Lock()
	want := uint64(0)
	if len(o.q) > 0 {
		want = o.q[len(o.q)-1].seq + 1
	}
	o.mu.Unlock()
	if want == 0 {
		return nil
	}
	stop := context.AfterFunc(ctx, func() {
		o.mu.Lock()
		o.changed.Broadcast()
		o.mu.Unlock()
	})
	defer stop()
	o.mu.Lock()
	defer o.mu.Unlock()
	for o.shipped < want {
		select {
		case o.kick <- struct{}{}:
		default:
		}
		if ctx.Err() != nil {
			if o.lastErr != nil {
				return fmt.Errorf("access: %d events not shipped: %w", len(o.q), o.lastErr)
			}
			return ctx.Err()
		}
		o.changed.Wait()
	}
	return nil
}

// applyEvents stores a batch of a lobby's events, each once: an event the
// store holds (same time and tie-breaker) is skipped. Presence goes by the
// events' own times, not the order batches arrive in: an entry older than
// the presence that stands, or than an exit already applied, does not set
// it; an exit older than the entry that stands does not clear it.
func applyEvents(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p eventsPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	added := 0
	var in []string
	lobby, err := lobbyNumber(tx, p.Lobby)
	if err != nil {
		return store.Effect{}, err
	}
	for _, ev := range p.Events {
		k, _, _ := ev.event().keys()
		if ok, err := tx.Has(k); err != nil {
			return store.Effect{}, err
		} else if ok {
			continue
		}
		added++
		e := ev.event()
		e.Lobby = lobby
		if err := PutEvent(tx, e); err != nil {
			return store.Effect{}, err
		}
		if isPassage(ev) {
			if err := recordPassageByTime(tx, ev); err != nil {
				return store.Effect{}, err
			}
		}
		if ev.Alarm != NoAlarm {
			a := AlarmRecord{Kind: ev.Alarm, Lane: ev.Lane, Holder: ev.Holder, Name: ev.Name, Reason: ev.Reason, At: ev.Time}
			if err := putAlarm(tx, a, ev.Rand); err != nil {
				return store.Effect{}, err
			}
		}
		if ev.Grant && ev.Visit != "" {
			actor := cmd.Actor
			if ev.Dev != "" {
				actor = "device:" + ev.Dev
			}
			if ev.Who != "" { // the guard who let the visitor in
				actor = ev.Who
			}
			moved, err := visit.Pass(tx, store.Command{Type: cmd.Type, Actor: actor, Time: ev.Time}, ev.Visit, ev.Entry, ev.LaneName)
			if err != nil {
				return store.Effect{}, err
			}
			if moved && ev.Entry {
				in = append(in, ev.Visit)
			}
		}
	}
	note := fmt.Sprintf("%d of %d events new", added, len(p.Events))
	if len(in) > 0 {
		b, _ := json.Marshal(struct {
			In []string `json:"in"`
		}{in})
		note += " " + string(b)
	}
	subject := "gates"
	if p.Lobby != "" {
		subject = "lobby:" + p.Lobby
	}
	return store.Effect{Subject: subject, Note: note}, nil
}

func recordPassageByTime(tx *store.Tx, ev eventPayload) error {
	pk := store.Key(store.KindPresence, ev.Holder, ev.ZoneID)
	zk := store.Key(store.KindPresenceZone, ev.ZoneID, ev.Holder)
	ok := store.Key(store.KindPresenceOut, ev.Holder, ev.ZoneID)
	at := uint64(ev.Time)
	since, present, err := u64At(tx, pk)
	if err != nil {
		return err
	}
	if ev.Entry {
		out, exited, err := u64At(tx, ok)
		if err != nil {
			return err
		}
		if !(present && since > at) && !(exited && out > at) {
			for _, k := range [][]byte{pk, zk} {
				if err := tx.Set(k, store.U64(at)); err != nil {
					return err
				}
			}
		}
	} else {
		switch {
		case present && since > at:
			// an exit older than the entry that stands
		case present:
			for _, k := range [][]byte{pk, zk} {
				if err := tx.Delete(k); err != nil {
					return err
				}
			}
		default:
			// An exit with no entry standing: its entry may still be on
			// its way from a lobby that was cut off.
			if out, exited, err := u64At(tx, ok); err != nil {
				return err
			} else if !exited || out < at {
				if err := tx.Set(ok, store.U64(at)); err != nil {
					return err
				}
			}
		}
	}
	if ev.CredID == "" || !ev.Entry {
		return nil
	}
	return countUse(tx, ev)
}

func u64At(tx *store.Tx, k []byte) (uint64, bool, error) {
	b, err := tx.Get(k)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, err
	}
	if len(b) != 8 {
		return 0, false, nil
	}
	return binary.BigEndian.Uint64(b), true, nil
}
