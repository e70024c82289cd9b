package device

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/store"
)

// Service keeps the device configuration, and hands out the runtime's view
// of the devices once serve has attached it.
type Service struct {
	db    store.DB
	clock clock.Clock

	self    string // this appliance's lobby in a site; "" alone
	founder bool   // this appliance founded its site: it runs the devices of no lobby

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change made here
	monitor Monitor
	bench   Bench
}

// New returns the device service.
func New(db store.DB, c clock.Clock) *Service {
	return &Service{db: db, clock: c, changed: make(chan struct{}), monitor: stopped{}}
}

// SetLobby names this appliance's lobby in a site of several (serve sets
// it before the devices start): a device added here is this lobby's, and
// only this lobby's devices run here.
func (s *Service) SetLobby(self string, founder bool) { s.self, s.founder = self, founder }

// Lobby is this appliance's lobby and whether it founded the site.
func (s *Service) Lobby() (self string, founder bool) { return s.self, s.founder }

// Runs says whether d runs on this appliance.
func (s *Service) Runs(d Device) bool {
	if d.Node == "" {
		return s.self == "" || s.founder
	}
	return d.Node == s.self
}

// Here is the configuration of the devices this appliance runs: the
// runtime's source.
func (s *Service) Here() Here { return Here{s} }

// Here lists only the devices of this appliance's lobby.
type Here struct{ s *Service }

// Devices lists the devices this appliance runs, by name.
func (h Here) Devices() ([]Device, error) {
	ds, err := h.s.Devices()
	out := ds[:0]
	for _, d := range ds {
		if h.s.Runs(d) {
			out = append(out, d)
		}
	}
	return out, err
}

// Changes is the service's.
func (h Here) Changes() <-chan struct{} { return h.s.Changes() }

// Replicated tells the runtime of a device change another lobby made (the
// store's OnReplicated hook).
func (s *Service) Replicated(cmd store.Command) {
	if cmd.Type == CmdSave || cmd.Type == CmdDelete || cmd.Type == CmdKey {
		s.signal()
	}
}

// Save adds (empty ID) or updates a device. Invalid input comes back as
// field.Errors.
func (s *Service) Save(ctx context.Context, actor string, d Device) (Device, error) {
	if d.ID == "" {
		d.ID = store.NewID(s.clock.Now())
	}
	if d.Node == "" && s.self != "" {
		// A device added on a lobby's pages is that lobby's; an edit keeps
		// the lobby it had (applySave).
		if _, err := s.Get(d.ID); errors.Is(err, ErrNotFound) {
			d.Node = s.self
		}
	}
	if _, err := store.Issue(ctx, s.db, CmdSave, actor, s.clock.Now(), d); err != nil {
		return d, err
	}
	s.signal()
	return s.Get(d.ID)
}

// Delete removes a device.
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	if _, err := store.Issue(ctx, s.db, CmdDelete, actor, s.clock.Now(), deletePayload{ID: id}); err != nil {
		return err
	}
	s.signal()
	return nil
}

// Get returns one device.
func (s *Service) Get(id string) (d Device, err error) {
	err = s.db.View(func(r *store.Reader) error {
		d, err = get(r, id)
		return err
	})
	return d, err
}

// ByName finds a device by its name, in any letter case.
func (s *Service) ByName(name string) (d Device, err error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return d, ErrNotFound
	}
	err = s.db.View(func(r *store.Reader) error {
		id, err := r.Get(nameKey(name))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		d, err = get(r, string(id))
		return err
	})
	return d, err
}

// Devices lists every device, by name.
func (s *Service) Devices() (ds []Device, err error) {
	err = s.db.View(func(r *store.Reader) error {
		ds, err = all(r)
		return err
	})
	slices.SortFunc(ds, func(a, b Device) int {
		return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	return ds, err
}

// Changes is closed at the next change of the configuration made through
// this service: the runtime takes it before reading the configuration and
// reads again when it closes.
func (s *Service) Changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Service) signal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}

// Attach makes m the running side of the devices until the returned
// function detaches it. serve attaches the driver runtime.
func (s *Service) Attach(m Monitor) (detach func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.monitor = m
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.monitor == m {
			s.monitor = stopped{}
		}
	}
}

// Live is the attached runtime, or one that reports nothing running.
func (s *Service) Live() Monitor {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.monitor
}

// AttachBench makes b the simulated hardware (serve --demo) until the
// returned function detaches it.
func (s *Service) AttachBench(b Bench) (detach func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bench = b
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.bench == b {
			s.bench = nil
		}
	}
}

// Bench is the simulated hardware, or nil outside the demo.
func (s *Service) Bench() Bench {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bench
}

// Printer is the runtime's receipt printer, or nil when the attached
// runtime has none running (or none is attached).
func (s *Service) Printer() SlipPrinter {
	p, ok := s.Live().(SlipPrinter)
	if !ok || !p.HasPrinter() {
		return nil
	}
	return p
}

// Face terminals' pushed events: errors FaceEvent answers with.
var (
	// ErrBadEvent: the body is not an event (the web server answers 400).
	ErrBadEvent = errors.New("device: malformed event")
	// ErrBusy: the terminal pushes faster than its rate limit (429).
	ErrBusy = errors.New("device: too many events")
)

// FaceEvents is a Monitor that takes the events face terminals push to
// the appliance's web server (the driver runtime, drivers/runner/face.go).
type FaceEvents interface {
	// FaceEvent hands over the body pushed by terminal id to the URL
	// carrying token. ErrNotFound: no such running terminal, or a wrong
	// token; ErrBadEvent; ErrBusy.
	FaceEvent(ctx context.Context, id, token, contentType string, body []byte) error
}

// FaceEvent hands a pushed event to the attached runtime.
func (s *Service) FaceEvent(ctx context.Context, id, token, contentType string, body []byte) error {
	fe, ok := s.Live().(FaceEvents)
	if !ok {
		return ErrNotFound
	}
	return fe.FaceEvent(ctx, id, token, contentType, body)
}

// FaceSyncer is a runtime whose face terminals can be asked to reconcile
// their persons now (drivers/runner).
type FaceSyncer interface {
	SyncFaces()
}

// SyncFaces asks the face terminals to take a face enrolled or withdrawn
// now rather than at their next periodic reconcile; without a runtime it
// does nothing (the runtime reconciles everything when it starts).
func (s *Service) SyncFaces() {
	if fs, ok := s.Live().(FaceSyncer); ok {
		fs.SyncFaces()
	}
}

// EventToken is the secret in a face terminal's event URL,
// /isapi/events/<device id>/<token>: an HMAC of the device's ID under the
// terminal's password, so the URL names the device, proves the pusher was
// told it, and changes when the password does. The device page shows it
// for the installer; the runtime configures it on the terminal.
func EventToken(deviceID, password string) string {
	m := hmac.New(sha256.New, []byte(password))
	m.Write([]byte("gatehouse isapi events " + deviceID))
	return hex.EncodeToString(m.Sum(nil))[:32]
}
