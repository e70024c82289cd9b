package runner

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/fault"
	"gatehouse/drivers/isapi"
	"gatehouse/drivers/serial"
)

// Face terminals (ISAPI) sit on the LAN, not on a port: the device's Port
// is the terminal's address, and its group runs one faceTerminal that
//
//   - tells the terminal where to push its events (httpHosts: the
//     appliance's EventBase + /isapi/events/<device id>/<token>, the token
//     an HMAC of the device ID under the terminal's password, so the URL
//     names the device and proves the pusher was told it);
//   - keeps the terminal's persons in line with Config.Faces: at start,
//     on Runner.SyncFaces and every FaceSync, pushing those added or
//     changed (delete, record, face) and deleting those gone; once at
//     start it reads every person the terminal holds (UserInfo/Search)
//     and deletes those not wanted, whatever happened while it was down;
//   - turns each pushed "face authentication passed" event (Runner.
//     FaceEvent, from the appliance's web server) into a gate.Face
//     presentation decided like a card, and on a grant sends the
//     terminal RemoteControl open — in the background, since an embedded
//     web server may not answer us while it waits for our reply to its
//     push. In "terminal decides" mode the terminal has opened already:
//     the decision is recorded and nothing is sent.

// Errors of FaceEvent, for the web server's answer.
var (
	// ErrUnknownTerminal: no face terminal runs under that ID, or the
	// token is wrong (the same answer: 404).
	ErrUnknownTerminal = fmt.Errorf("runner: no such face terminal: %w", device.ErrNotFound)
	// ErrBusy: the terminal pushes faster than its rate limit (429).
	ErrBusy = fmt.Errorf("runner: face terminal event rate exceeded: %w", device.ErrBusy)
)

// FaceSource lists who the face terminals should hold (*access.Service).
type FaceSource interface {
	FaceEnrolments() ([]gate.Enrolment, error)
}

// SecretOpener opens sealed device secrets (*secret.Keys).
type SecretOpener interface {
	Open(sealed string) (string, error)
}

// EventToken is the secret in a terminal's event URL.
func EventToken(deviceID, password string) string { return device.EventToken(deviceID, password) }

// faceRate is the events a terminal may push per second, with a burst:
// a lobby's terminal sees a person every second or two at most.
const (
	faceRate  = 20
	faceBurst = 40
)

type faceTerminal struct {
	r      *Runner
	dev    device.Device
	c      *isapi.Client
	door   int
	token  string
	target *url.URL // nil: no event address configured
	rd     reader
	faults *fault.Log
	kick   chan struct{}

	mu      sync.Mutex
	h       serial.Health
	pushed  map[string]string // number → fingerprint of what the terminal holds
	hostSet bool
	// searched: the terminal's persons were read and the unwanted ones
	// deleted since start (startOfDay).
	searched bool
	tokens   float64
	filled   time.Time
}

func (r *Runner) startFace(ctx context.Context, g *group, d device.Device) error {
	pw := d.Options.Password
	if r.cfg.Secrets != nil {
		p, err := r.cfg.Secrets.Open(pw)
		if err != nil {
			return errorf(d, fmt.Errorf("password: %w", err))
		}
		pw = p
	}
	door, err := device.DoorNumber(d.Address)
	if err != nil {
		return errorf(d, err)
	}
	c, err := isapi.New(d.Port, d.Options.User, pw, r.cfg.FaceTimeout)
	if err != nil {
		return errorf(d, err)
	}
	ft := &faceTerminal{r: r, dev: d, c: c, door: door, token: EventToken(d.ID, pw), rd: reader{r: r, dev: d},
		faults: fault.NewAt(r.log.With("device", d.Name), r.cfg.Clock, slog.LevelWarn), kick: make(chan struct{}, 1),
		pushed: map[string]string{}, tokens: faceBurst}
	if d.Role != device.EnrolmentReader {
		ft.rd.next = r.cfg.Decider
	}
	base := r.cfg.EventBase
	if base == "" {
		base = r.cfg.Base
	}
	if base != "" {
		u, err := url.Parse(strings.TrimRight(base, "/") + "/isapi/events/" + d.ID + "/" + ft.token)
		if err != nil {
			return errorf(d, fmt.Errorf("event address: %w", err))
		}
		ft.target = u
	}
	g.face, g.health = ft, ft.health
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		ft.run(ctx)
	}()
	return nil
}

func (ft *faceTerminal) health() serial.Health {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return ft.h
}

// note records an exchange's outcome in the health and the fault log.
func (ft *faceTerminal) note(what string, err error) {
	now := ft.r.cfg.Clock.Now()
	ft.mu.Lock()
	was := ft.h.Online
	if err == nil {
		ft.h.Online, ft.h.LastSeen = true, now
		if ft.h.Opens == 0 {
			ft.h.Opens = 1
		}
		if !ft.h.LastErrorAt.IsZero() && ft.h.Recovered.IsZero() {
			ft.h.Recovered = now
		}
	} else {
		// A garbled push counts as an error, but the terminal reached
		// us: it is online. A request of ours that failed is not.
		ft.h.Online = what == "event"
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			ft.h.Timeouts++
		} else {
			ft.h.Errors++
		}
		ft.h.LastError, ft.h.LastErrorAt, ft.h.Recovered = what+": "+err.Error(), now, time.Time{}
	}
	if was != ft.h.Online {
		ft.h.Changed = now
	}
	ft.mu.Unlock()
	if err != nil {
		ft.faults.Fail("devices: face terminal "+what+" failed", err.Error())
	} else {
		ft.faults.OK("devices: face terminal answers")
	}
}

func (ft *faceTerminal) run(ctx context.Context) {
	every := ft.r.cfg.FaceSync
	if every <= 0 {
		every = 30 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ft.reconcile(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-ft.kick:
		}
	}
}

// reconcile configures the push target if it is not yet and brings the
// terminal's persons in line with the enrolments.
func (ft *faceTerminal) reconcile(ctx context.Context) {
	ft.mu.Lock()
	hostSet := ft.hostSet
	ft.mu.Unlock()
	if !hostSet {
		if ft.target == nil {
			ft.note("event push", errors.New("no event address: the appliance's base address is not set"))
		} else if err := ft.c.SetHTTPHost(ctx, ft.target); err != nil {
			ft.note("event push set-up", err)
			return
		} else {
			ft.note("event push set-up", nil)
			ft.mu.Lock()
			ft.hostSet = true
			ft.mu.Unlock()
		}
	}
	if ft.r.cfg.Faces == nil {
		return
	}
	es, err := ft.r.cfg.Faces.FaceEnrolments()
	if err != nil {
		ft.r.log.Error("devices: face enrolments could not be read", "err", err)
		return
	}
	loc := ft.r.cfg.Location
	if loc == nil {
		loc = time.Local
	}
	want := map[string]bool{}
	for _, e := range es {
		if ctx.Err() != nil {
			return
		}
		want[e.Number] = true
		u := isapi.NewUser(e.Number, e.Name, e.Visitor, orDefault(e.NotBefore, validFloor), orDefault(e.NotAfter, validCeiling), loc, ft.door)
		fp := fingerprintFace(u, e.Photo)
		ft.mu.Lock()
		had := ft.pushed[e.Number]
		ft.mu.Unlock()
		if had == fp {
			continue
		}
		// A person changed, or met for the first time since start (the
		// terminal may hold an older copy): removed, then recorded with
		// the face, so no stale picture or window survives.
		err := ft.c.DeleteUsers(ctx, e.Number)
		if err == nil {
			err = ft.c.SetUser(ctx, u)
		}
		if err == nil {
			err = ft.c.SetFace(ctx, e.Number, e.Photo)
		}
		ft.note("enrolment", err)
		if err != nil {
			continue // tried again at the next reconcile
		}
		ft.mu.Lock()
		ft.pushed[e.Number] = fp
		ft.mu.Unlock()
	}
	ft.startOfDay(ctx, want)
	ft.mu.Lock()
	var gone []string
	for no := range ft.pushed {
		if !want[no] {
			gone = append(gone, no)
		}
	}
	ft.mu.Unlock()
	sort.Strings(gone)
	if len(gone) > 0 {
		err := ft.c.DeleteUsers(ctx, gone...)
		ft.note("removal", err)
		if err == nil {
			ft.mu.Lock()
			for _, no := range gone {
				delete(ft.pushed, no)
			}
			ft.mu.Unlock()
		}
	}
}

// deleteChunk is how many persons one delete request names.
const deleteChunk = 100

// startOfDay reads, once per start, every person the terminal holds
// (UserInfo/Search) and deletes those the appliance does not want: a
// person removed while the appliance was down, or put on the terminal by
// hand, is not left for a terminal that decides by itself to let in. A
// failed search is tried again at the next reconcile.
func (ft *faceTerminal) startOfDay(ctx context.Context, want map[string]bool) {
	ft.mu.Lock()
	done := ft.searched
	ft.mu.Unlock()
	if done || ctx.Err() != nil {
		return
	}
	nos, err := ft.c.Users(ctx)
	if err != nil {
		ft.note("person search", err)
		return
	}
	var stale []string
	for _, no := range nos {
		if !want[no] {
			stale = append(stale, no)
		}
	}
	for len(stale) > 0 {
		k := min(len(stale), deleteChunk)
		if err := ft.c.DeleteUsers(ctx, stale[:k]...); err != nil {
			ft.note("removal", err)
			return
		}
		stale = stale[k:]
	}
	if len(nos) > 0 {
		ft.r.log.Info("devices: face terminal's persons read at start", "device", ft.dev.Name, "held", len(nos))
	}
	ft.mu.Lock()
	ft.searched = true
	ft.mu.Unlock()
}

// A person without a start or an end is valid over ISAPI's whole range.
var (
	validFloor   = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	validCeiling = time.Date(2037, 12, 31, 23, 59, 59, 0, time.UTC)
)

func orDefault(t, d time.Time) time.Time {
	if t.IsZero() {
		return d
	}
	return t
}

func fingerprintFace(u isapi.UserInfo, photo []byte) string {
	h := sha256.New()
	json.NewEncoder(h).Encode(u)
	h.Write(photo)
	return hex.EncodeToString(h.Sum(nil))
}

// allow takes one event from the terminal's token bucket.
func (ft *faceTerminal) allow(now time.Time) bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	rate, burst := float64(faceRate), float64(faceBurst)
	if ft.r.cfg.FaceRate > 0 {
		rate, burst = ft.r.cfg.FaceRate, 2*ft.r.cfg.FaceRate
	}
	if !ft.filled.IsZero() {
		ft.tokens = min(burst, ft.tokens+now.Sub(ft.filled).Seconds()*rate)
	}
	ft.filled = now
	if ft.tokens < 1 {
		return false
	}
	ft.tokens--
	return true
}

// SyncFaces asks every face terminal to reconcile its persons now (a
// face credential saved, consent withdrawn); it does not wait.
func (r *Runner) SyncFaces() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.groups {
		if g.face != nil {
			select {
			case g.face.kick <- struct{}{}:
			default:
			}
		}
	}
}

// FaceEvent takes an event pushed by the face terminal id to the URL
// carrying token: a recognised face is decided, and on a grant in
// "appliance decides" mode the terminal's door opened. Errors:
// ErrUnknownTerminal, ErrBusy, device.ErrBadEvent wrapping
// isapi.ErrBadEvent (counted in the terminal's health); a decision's own failure is logged, not returned —
// the terminal did its part.
func (r *Runner) FaceEvent(ctx context.Context, id, token, contentType string, body []byte) error {
	r.mu.Lock()
	var ft *faceTerminal
	if d, ok := r.devices[id]; ok {
		if g := r.groups[d.Port]; g != nil && g.face != nil && g.face.dev.ID == id {
			ft = g.face
		}
	}
	r.mu.Unlock()
	if ft == nil || subtle.ConstantTimeCompare([]byte(token), []byte(ft.token)) != 1 {
		return ErrUnknownTerminal
	}
	now := r.cfg.Clock.Now()
	if !ft.allow(time.Now()) {
		return ErrBusy
	}
	ev, err := isapi.ParseEvent(contentType, body)
	if err != nil {
		ft.note("event", err)
		return fmt.Errorf("%w: %w", device.ErrBadEvent, err)
	}
	ft.note("event", nil)
	if !ev.FacePassed() {
		if ev.Sub == isapi.SubFaceFail {
			r.log.Info("devices: face terminal saw a face it does not know", "device", ft.dev.Name)
		}
		return nil
	}
	p := gate.Presentation{Lane: ft.dev.LaneID, Direction: ft.dev.Direction(), Kind: gate.Face, Value: ev.EmployeeNo, Device: ft.dev.Name, At: now}
	a, err := ft.rd.Decide(ctx, p)
	if err != nil {
		r.log.Error("devices: face event could not be decided", "device", ft.dev.Name, "err", err)
		return nil
	}
	if ft.dev.Options.Mode == device.FaceTerminalDecides {
		r.log.Info("devices: face terminal let a person through by itself", "device", ft.dev.Name, "appliance_would_open", a.Open, "reason", a.Reason)
		return nil
	}
	if !a.Open || ft.rd.next == nil {
		return nil
	}
	r.mu.Lock()
	g := r.groups[ft.dev.Port]
	r.mu.Unlock()
	if g == nil {
		return nil
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		octx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 10*time.Second)
		defer cancel()
		if r.cfg.Observer != nil {
			r.cfg.Observer.Pulsed(ft.dev.LaneID, max(r.cfg.Clock.Now().Sub(p.At), 0))
		}
		err := ft.c.OpenDoor(octx, ft.door)
		ft.note("door open", err)
		if err != nil {
			r.log.Error("devices: grant at a face terminal could not open its door", "device", ft.dev.Name, "err", err)
		}
	}()
	return nil
}
