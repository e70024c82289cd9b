package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gatehouse/appliance/device"
	"gatehouse/drivers/escpos"
	"gatehouse/drivers/idcard"
	"gatehouse/drivers/modbus"
	"gatehouse/drivers/modem"
	"gatehouse/drivers/mrz"
	"gatehouse/drivers/osdp"
	"gatehouse/drivers/scanner"
	"gatehouse/drivers/serial"
	"gatehouse/drivers/usbrelay"
)

// boundRelay is a relay device's driver; a pointer, so the runner can tell
// whose relay a lane holds when a port stops.
type boundRelay struct {
	dev string
	Relay
}

// group is the drivers of one port: one line, and every device on it.
type group struct {
	port   string
	key    string
	devs   []device.Device
	health func() serial.Health
	relays map[string]*boundRelay // lane → relay on this port
	byDev  map[string]*boundRelay // device → relay
	master *modbus.Master         // Modbus ports
	points map[string]*point      // Modbus ports: each device's own health, by device ID
	// Modbus ports: key cabinets by device ID (cabinet.go)
	cabinets map[string]*cabinet
	// Modbus ports: lift cars by lane, fire inputs by device ID (elevator.go)
	elevators map[string]*elevator
	fires     map[string]*fireInput
	cp        *osdp.CP        // OSDP buses
	print     *escpos.Printer // receipt printers
	modem     *modem.Sender   // GSM modems
	face      *faceTerminal   // face terminals (face.go)

	cancel  context.CancelFunc
	closers []func() error // in order
	wg      sync.WaitGroup // the group's own goroutines
}

func (g *group) has(id string) bool {
	for _, d := range g.devs {
		if d.ID == id {
			return true
		}
	}
	return false
}

// close stops the group's drivers and goroutines and waits for them.
func (g *group) close() {
	g.cancel()
	for _, c := range g.closers {
		_ = c()
	}
	g.wg.Wait()
}

// waitOnline waits until the port is open (and, for devices that answer,
// answering), or ctx ends.
func (g *group) waitOnline(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !g.health().Online {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (%w)", serial.ErrOffline, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// readContact reads a door contact once.
func (g *group) readContact(ctx context.Context, d device.Device) (open bool, err error) {
	pt, err := device.ModbusPoint(d.Address)
	if err != nil || g.master == nil {
		return false, device.ErrNotSupported
	}
	in, err := g.master.ReadDiscreteInputs(ctx, pt.Slave, pt.N, 1)
	if p := g.points[d.ID]; p != nil {
		p.note(err)
	}
	if err != nil {
		return false, err
	}
	return in[0] != d.Options.Invert, nil
}

// startGroup starts the drivers of one port.
func (r *Runner) startGroup(ds []device.Device) (*group, error) {
	first := ds[0]
	for _, d := range ds[1:] {
		if d.Protocol != first.Protocol || d.Baud != first.Baud {
			return nil, fmt.Errorf("runner: devices on %s disagree about protocol or baud", first.Port)
		}
	}
	if !first.Protocol.Bus() && len(ds) > 1 {
		return nil, fmt.Errorf("runner: %d devices on line port %s", len(ds), first.Port)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	g := &group{port: first.Port, key: fingerprint(ds), devs: ds, cancel: cancel,
		relays: map[string]*boundRelay{}, byDev: map[string]*boundRelay{}, points: map[string]*point{},
		cabinets: map[string]*cabinet{}, elevators: map[string]*elevator{}, fires: map[string]*fireInput{}}
	var err error
	switch first.Protocol {
	case device.Scanner:
		err = r.startScanner(ctx, g, first)
	case device.MRZ:
		err = r.startMRZ(ctx, g, first)
	case device.IDCard:
		err = r.startIDCard(ctx, g, first)
	case device.Modbus:
		err = r.startModbus(ctx, g, ds)
	case device.USBRelay:
		err = r.startUSBRelay(ctx, g, ds)
	case device.OSDP:
		err = r.startOSDP(ctx, g, ds)
	case device.ESCPOS:
		err = r.startPrinter(ctx, g, first)
	case device.Modem:
		err = r.startModem(ctx, g, first)
	case device.ISAPI:
		err = r.startFace(ctx, g, first)
	default:
		err = errors.New("runner: no driver for " + string(first.Protocol))
	}
	if err != nil {
		g.close()
		return nil, err
	}
	return g, nil
}

func (r *Runner) startScanner(ctx context.Context, g *group, d device.Device) error {
	cfg := scanner.Config{
		Line:      r.lineConfig(d),
		Lane:      d.LaneID,
		Direction: d.Direction(),
		Device:    d.Name,
		Prefix:    d.Options.Prefix,
		Suffix:    d.Options.Suffix,
		Decider:   reader{r: r, dev: d},
		Logger:    r.log,
	}
	if d.Role != device.EnrolmentReader {
		// Enrolment reads are only recorded: a card held to the desk
		// reader to enrol it must not open a gate or count as a passage.
		cfg.Decider = reader{r: r, dev: d, next: r.cfg.Decider}
		cfg.Relay = laneRelay{r: r, lane: d.LaneID}
	}
	s, err := scanner.Open(ctx, cfg)
	if err != nil {
		return errorf(d, err)
	}
	g.health = s.Health
	g.closers = append(g.closers, s.Close)
	return nil
}

func (r *Runner) startMRZ(ctx context.Context, g *group, d device.Device) error {
	rd, err := mrz.Open(ctx, mrz.Config{Line: r.lineConfig(d), Logger: r.log})
	if err != nil {
		return errorf(d, err)
	}
	g.health = rd.Health
	g.closers = append(g.closers, rd.Close)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for res := range rd.Documents() { // closed by rd.Close
			r.noteDocument(document(d, res))
		}
	}()
	return nil
}

// document turns a parsed MRZ into the appliance's Document.
func document(d device.Device, res mrz.Result) device.Document {
	doc := device.Document{Device: d.ID, Code: res.Doc.Code, Issuer: res.Doc.Issuer, Number: res.Doc.Number,
		Surname: res.Doc.Primary, Given: res.Doc.Secondary, Nationality: res.Doc.Nationality, Birth: res.Doc.Birth,
		Sex: res.Doc.Sex, Expiry: res.Doc.Expiry, At: res.At}
	if res.Doc.Format != 0 {
		doc.Format = res.Doc.Format.String()
	}
	if res.Err != nil {
		doc.Problem = res.Err.Error() // names fields, never values
		var ce *mrz.CheckError
		if errors.As(res.Err, &ce) {
			for _, f := range ce.Fields {
				doc.BadFields = append(doc.BadFields, f.Key())
			}
		} else {
			doc.Failed = true
		}
	}
	if res.Err == nil && res.Doc.Expiry != "" {
		doc.Expired = mrzExpired(res.Doc.Expiry, res.At)
	}
	return doc
}

// mrzExpired reports whether a YYMMDD expiry is before at's day (expiry
// years are 20YY: no passport is valid for 75 years).
func mrzExpired(yymmdd string, at time.Time) bool {
	t, ok := mrz.Date(yymmdd, at, false)
	return ok && t.Before(time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC))
}

// idField names the ID card's fields in the form's words.
var idField = map[idcard.Field]string{idcard.FieldName: "name", idcard.FieldSex: "sex", idcard.FieldEthnicity: "ethnicity",
	idcard.FieldBirth: "birth", idcard.FieldNumber: "number", idcard.FieldValidFrom: "valid_from", idcard.FieldValidTo: "expiry",
	idcard.FieldText: "text"}

func (r *Runner) startIDCard(ctx context.Context, g *group, d device.Device) error {
	rd, err := idcard.Open(ctx, idcard.Config{Line: r.lineConfig(d), Logger: r.log})
	if err != nil {
		return errorf(d, err)
	}
	g.health = rd.Health
	g.closers = append(g.closers, rd.Close)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		for res := range rd.Cards() { // closed by rd.Close
			r.noteDocument(idDocument(d, res))
		}
	}()
	return nil
}

// idDocument turns an ID card read into the appliance's Document. A read
// the card refused (authentication, a read failure) is a Document with
// only its Problem.
func idDocument(d device.Device, res idcard.Result) device.Document {
	doc := device.Document{Device: d.ID, Format: "idcard", At: res.At, Problem: res.Problem(), Expired: res.Expired, Chip: res.Chip}
	var fe *idcard.FieldError
	if errors.As(res.Err, &fe) {
		for _, f := range fe.Fields {
			doc.BadFields = append(doc.BadFields, idField[f])
		}
	}
	if res.Card.Kind == 0 {
		doc.Failed = true
		return doc
	}
	c := res.Card
	doc.Code, doc.Number, doc.Surname, doc.Nationality, doc.Birth, doc.Sex = c.Kind.String(), c.Number, c.Name, c.Nationality, c.Birth.String(), string(rune(c.Sex))
	doc.Expiry = c.ValidTo.String()
	doc.Card = &device.IDCardFields{Kind: c.Kind.String(), Name: c.Name, NameEN: c.NameEN, Sex: doc.Sex, Ethnicity: c.Ethnicity,
		Ethnic: c.EthnicityName(), Birth: c.Birth.String(), Address: c.Address, Number: c.Number, Authority: c.Authority,
		ValidFrom: c.ValidFrom.String(), ValidTo: c.ValidTo.String(), LongTerm: c.LongTerm, Nationality: c.Nationality, Expired: res.Expired}
	if c.Sex == 0 {
		doc.Sex, doc.Card.Sex = "", ""
	}
	return doc
}

func (r *Runner) startModbus(ctx context.Context, g *group, ds []device.Device) error {
	m, err := modbus.Open(ctx, modbus.Config{Line: r.lineConfig(ds[0]), Timeout: r.cfg.ModbusTimeout, Logger: r.log})
	if err != nil {
		return errorf(ds[0], err)
	}
	g.master, g.health = m, m.Health
	// Pollers stop (cancel, then wait) before the master closes under them.
	g.closers = append(g.closers, func() error { g.wg.Wait(); return m.Close() })
	for _, d := range ds {
		pt, err := device.ModbusPoint(d.Address)
		if err != nil {
			return errorf(d, err)
		}
		health := newPoint(r.log, r.cfg.Clock, d)
		g.points[d.ID] = health
		switch d.Role {
		case device.Relay:
			rl := &boundRelay{dev: d.ID, Relay: trackedRelay{Relay: modbus.Relay{Master: m, Slave: pt.Slave, Coil: pt.N}, pt: health}}
			g.relays[d.LaneID], g.byDev[d.ID] = rl, rl
		case device.DoorContact:
			// One poller per contact: its events carry the contact's own
			// device name. A lobby has a few doors; the bus has room.
			p, err := modbus.NewPoller(m, modbus.PollerConfig{
				Slave:    pt.Slave,
				Contacts: []modbus.Contact{{Input: pt.N, Lane: d.LaneID, Invert: d.Options.Invert}},
				Interval: r.cfg.PollInterval,
				Device:   d.Name,
				Watcher:  r.cfg.Doors,
				Clock:    r.cfg.Clock,
				Logger:   r.log,
				Report:   health.note,
			})
			if err != nil {
				return errorf(d, err)
			}
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				_ = p.Run(ctx) // ends with ctx
			}()
		case device.ElevatorBoard:
			e := newElevator(r, m, d, pt, health)
			g.elevators[d.LaneID] = e
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				e.run(ctx) // ends with ctx
			}()
		case device.FireInput:
			f := newFireInput(r, m, d, pt, health)
			g.fires[d.ID] = f
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				f.run(ctx) // ends with ctx
			}()
		case device.KeyCabinet:
			c, err := newCabinet(r, m, d, health)
			if err != nil {
				return errorf(d, err)
			}
			g.cabinets[d.ID] = c
			g.wg.Add(1)
			go func() {
				defer g.wg.Done()
				c.run(ctx) // ends with ctx
			}()
		}
	}
	return nil
}

func (r *Runner) startUSBRelay(ctx context.Context, g *group, ds []device.Device) error {
	n := 1
	nums := map[string]int{}
	for _, d := range ds {
		k, err := device.RelayNumber(d.Address)
		if err != nil {
			return errorf(d, err)
		}
		nums[d.ID], n = k, max(n, k)
	}
	b, err := usbrelay.Open(ctx, usbrelay.Config{Line: r.lineConfig(ds[0]), Relays: n, Logger: r.log})
	if err != nil {
		return errorf(ds[0], err)
	}
	g.health = b.Health
	g.closers = append(g.closers, b.Close)
	for _, d := range ds {
		rl := &boundRelay{dev: d.ID, Relay: usbrelay.Relay{Board: b, N: nums[d.ID]}}
		g.relays[d.LaneID], g.byDev[d.ID] = rl, rl
	}
	return nil
}

func (r *Runner) startPrinter(ctx context.Context, g *group, d device.Device) error {
	p, err := escpos.Open(ctx, escpos.Config{Line: r.lineConfig(d), Logger: r.log})
	if err != nil {
		return errorf(d, err)
	}
	g.print, g.health = p, p.Health
	g.closers = append(g.closers, p.Close)
	return nil
}

func (r *Runner) startModem(ctx context.Context, g *group, d device.Device) error {
	m, err := modem.Open(ctx, modem.Config{Line: r.lineConfig(d), Logger: r.log})
	if err != nil {
		return errorf(d, err)
	}
	g.modem, g.health = m, m.Health
	g.closers = append(g.closers, m.Close)
	return nil
}
