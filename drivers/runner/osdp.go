package runner

import (
	"context"
	"errors"
	"time"

	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/drivers/osdp"
)

// KeyStore keeps OSDP readers' secure channel keys by device ID
// (*device.ReaderKeys: sealed in the store). LoadKey fails with an error
// wrapping device.ErrNoKey for a reader without a key of its own.
type KeyStore interface {
	LoadKey(ctx context.Context, id string) ([]byte, error)
	SaveKey(ctx context.Context, id string, key []byte) error
}

// memKeys is the key store of a runtime given none: tests only. A key
// kept here is lost with the process, and the reader it was given is then
// locked out until it is reset to install mode: serve and `devices test`
// always pass the appliance's store.
type memKeys struct{ m osdp.MemoryKeys }

func (k *memKeys) LoadKey(ctx context.Context, id string) ([]byte, error) {
	key, err := k.m.LoadKey(ctx, id)
	if errors.Is(err, osdp.ErrNoKey) {
		return nil, device.ErrNoKey
	}
	return key.Bytes(), err
}

func (k *memKeys) SaveKey(ctx context.Context, id string, key []byte) error {
	kk, err := osdp.NewKey(key)
	if err != nil {
		return err
	}
	return k.m.SaveKey(ctx, id, kk)
}

// cpKeys is the control panel's key store over the runtime's: the CP names
// readers by device name, the store keeps keys by device ID, so renaming a
// reader keeps its key.
type cpKeys struct {
	ks  KeyStore
	ids map[string]string // device name → ID
}

func (c cpKeys) LoadKey(ctx context.Context, reader string) (osdp.Key, error) {
	b, err := c.ks.LoadKey(ctx, c.ids[reader])
	if errors.Is(err, device.ErrNoKey) {
		return osdp.Key{}, osdp.ErrNoKey
	}
	if err != nil {
		return osdp.Key{}, err
	}
	return osdp.NewKey(b)
}

func (c cpKeys) SaveKey(ctx context.Context, reader string, k osdp.Key) error {
	return c.ks.SaveKey(ctx, c.ids[reader], k.Bytes())
}

// osdpDecider hands each reader's presentations to its own reader (the
// runtime's note of the read, then the Decider unless it enrols), and
// pulses the lane's relay on a grant — in the background: the CP sends the
// LED and buzzer at once, and the bus keeps polling the other readers
// while the relay is on.
type osdpDecider struct {
	r       *Runner
	g       *group
	readers map[string]reader // by device name
	output  map[string]bool   // device name → the reader drives the relay itself (osdp_OUT)
}

func (o osdpDecider) Decide(ctx context.Context, p gate.Presentation) (gate.Action, error) {
	rd, ok := o.readers[p.Device]
	if !ok {
		return gate.Action{Feedback: gate.Deny, Reason: "error"}, errors.New("runner: read from an unknown reader")
	}
	a, err := rd.Decide(ctx, p)
	if err != nil || !a.Open || rd.next == nil || o.output[p.Device] {
		return a, err
	}
	lane, pulse := rd.dev.LaneID, a.Pulse
	o.g.wg.Add(1)
	go func() {
		defer o.g.wg.Done()
		// The runtime's context, not the decision's: a pulse under way
		// is finished (relay off) even when the port stops.
		if err := o.r.OpenLane(gate.WithReadAt(context.WithoutCancel(o.r.ctx), p.At), lane, pulse); err != nil {
			o.r.log.Error("devices: grant at an OSDP reader could not open the lane", "device", rd.dev.Name, "err", err)
		}
	}()
	return a, nil
}

func (r *Runner) startOSDP(ctx context.Context, g *group, ds []device.Device) error {
	keys := r.cfg.Keys
	if keys == nil {
		keys = r.memKeys
	}
	ck := cpKeys{ks: keys, ids: map[string]string{}}
	dec := osdpDecider{r: r, g: g, readers: map[string]reader{}, output: map[string]bool{}}
	var readers []osdp.Reader
	for _, d := range ds {
		addr, err := device.OSDPAddress(d.Address)
		if err != nil {
			return errorf(d, err)
		}
		rc := osdp.Reader{Name: d.Name, Address: byte(addr), Lane: d.LaneID, Direction: d.Direction(), Secure: d.Options.Secure}
		if d.Options.Secure {
			// Install mode (SCBK-D, then a fresh key with KEYSET) only
			// for a reader with no key of its own on file: a reader that
			// has one is never let back onto the well-known key.
			_, err := keys.LoadKey(ctx, d.ID)
			switch {
			case errors.Is(err, device.ErrNoKey):
				rc.Install = true
			case err != nil:
				return errorf(d, err)
			}
		}
		if d.Options.Output != nil && d.Role != device.EnrolmentReader {
			out := byte(*d.Options.Output)
			rc.Output = &out
			dec.output[d.Name] = true
		}
		readers = append(readers, rc)
		ck.ids[d.Name] = d.ID
		rd := reader{r: r, dev: d}
		if d.Role != device.EnrolmentReader {
			rd.next = r.cfg.Decider
		}
		dec.readers[d.Name] = rd
	}
	line, err := osdp.OpenSerialLine(ctx, r.lineConfig(ds[0]))
	if err != nil {
		return errorf(ds[0], err)
	}
	g.health = line.Health
	cfg := osdp.Config{Line: line, Readers: readers, Decider: dec, Keys: ck, Clock: r.cfg.Clock, Log: r.log}
	if r.cfg.OSDP != nil {
		r.cfg.OSDP(&cfg)
	}
	cp, err := osdp.New(cfg)
	if err != nil {
		_ = line.Close()
		return errorf(ds[0], err)
	}
	g.cp = cp
	g.closers = append(g.closers, func() error { g.wg.Wait(); return line.Close() })
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		// The CP's first command waits for the port: written before the
		// line has opened it, it would fail and cost a line retry.
		if err := g.waitOnline(ctx); err != nil {
			return
		}
		if err := cp.Run(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("devices: OSDP bus stopped", "port", g.port, "err", err)
		}
	}()
	return nil
}

// readerHealth is one OSDP reader's health over its bus's: the port's
// counters, the reader's own state.
func readerHealth(cp *osdp.CP, name string, h device.Health) device.Health {
	hs, bus := cp.Health()
	for _, rh := range hs {
		if rh.Name != name {
			continue
		}
		h.Online = h.Online && rh.Online
		h.Secure, h.DefaultKey = rh.Secure, rh.DefaultKey
		if !rh.Since.IsZero() {
			h.Changed = rh.Since
		}
		h.LastSeen = rh.LastSeen
		h.Timeouts = rh.Timeouts
		h.Errors = rh.NAKs + rh.MACErrors + rh.BadReplies + rh.BadReads + bus.LineErrors
		if rh.LastError != "" { // the reader's own, current while it is out
			h.LastError, h.LastErrorAt, h.Recovered = rh.LastError, rh.Since, time.Time{}
		}
		h.Tamper = rh.Tamper
	}
	return h
}
