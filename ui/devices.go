package ui

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/demo"
	"gatehouse/appliance/device"
	"gatehouse/appliance/field"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/visit"
	"gatehouse/ui/views"
)

// The devices pages: the configuration of the serial devices with their
// health, a test button for relays and door contacts, and (serve --demo)
// the simulator page that plays the person at the lane.

// machineRoot is where the serial ports are looked for.
const machineRoot = "/"

// deviceErr turns the device service's sentinels into HTTP errors at the
// boundary; the error handler does not know them.
func deviceErr(err error) error {
	switch {
	case errors.Is(err, device.ErrNotFound):
		return echo.ErrNotFound
	case errors.Is(err, device.ErrNotSimulated), errors.Is(err, device.ErrNotSupported):
		return echo.NewHTTPError(http.StatusUnprocessableEntity)
	}
	return err
}

func (s *Server) deviceLanes() (map[string]string, []views.Option, error) {
	ls, err := s.app.Access.Lanes()
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(ls, func(a, b access.Lane) int { return strings.Compare(a.Name, b.Name) })
	names := map[string]string{}
	opts := make([]views.Option, 0, len(ls))
	for _, l := range ls {
		names[l.ID] = l.Name
		opts = append(opts, views.Option{Value: l.ID, Label: l.Name})
	}
	return names, opts, nil
}

func (s *Server) devicesData() (views.DevicesData, error) {
	ds, err := s.app.Devices.Devices()
	if err != nil {
		return views.DevicesData{}, err
	}
	names, _, err := s.deviceLanes()
	if err != nil {
		return views.DevicesData{}, err
	}
	live := s.app.Devices.Live()
	d := views.DevicesData{Ports: device.Ports(machineRoot), Bench: s.app.Devices.Bench() != nil}
	for _, dev := range ds {
		h, ok := live.Health(dev.ID)
		if !ok {
			h = device.Health{Note: device.NoteNotRunning} // saved a moment ago: the runtime has not read it yet
		}
		d.Rows = append(d.Rows, views.DeviceRow{Device: dev, Lane: names[dev.LaneID], Health: h})
	}
	return d, nil
}

func (s *Server) devicesPage(c echo.Context) error {
	d, err := s.devicesData()
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Devices(d))
}

func (s *Server) deviceFormPage(c echo.Context, status int, d views.DeviceFormData) error {
	_, opts, err := s.deviceLanes()
	if err != nil {
		return err
	}
	d.Lanes, d.Ports = opts, device.Ports(machineRoot)
	if !d.New && d.Device.Protocol == device.ISAPI {
		s.faceTerminalData(c, &d)
	}
	if !d.New && d.Device.Protocol == device.OSDP {
		if d.HasKey, err = s.readerKeys().HasKey(d.Device.ID); err != nil {
			return err
		}
	}
	return s.render(c, status, views.DeviceForm(d))
}

func (s *Server) deviceNew(c echo.Context) error {
	return s.deviceFormPage(c, http.StatusOK, views.DeviceFormData{New: true,
		Device: device.Device{Baud: 9600, Protocol: device.Scanner, Role: device.EntryReader, Enabled: true}})
}

func (s *Server) deviceEdit(c echo.Context) error {
	d, err := s.app.Devices.Get(c.Param("id"))
	if err != nil {
		return deviceErr(err)
	}
	return s.deviceFormPage(c, http.StatusOK, views.DeviceFormData{Device: d})
}

func (s *Server) readerKeys() *device.ReaderKeys {
	return device.NewReaderKeys(s.app.Store, s.app.Clock, s.app.Keys)
}

// deviceKey records the secure channel key an OSDP reader already holds
// (moved from another panel, or kept when the appliance was replaced),
// typed by the administrator. The key is never shown again, never put
// back into the form, and never logged.
func (s *Server) deviceKey(c echo.Context) error {
	d, err := s.app.Devices.Get(c.Param("id"))
	if err != nil {
		return deviceErr(err)
	}
	err = s.readerKeys().EnterKey(c.Request().Context(), actor(c), d.ID, c.FormValue("scbk"))
	if fe, ok := field.As(err); ok {
		return s.deviceFormPage(c, http.StatusUnprocessableEntity, views.DeviceFormData{Device: d, KeyErrs: fe})
	}
	if err != nil {
		return deviceErr(err)
	}
	s.log.Info("device key entered", "device", d.ID, "by", actor(c))
	s.flash(c, "flash.device_key_set")
	return s.redirect(c, "/admin/devices/"+d.ID+"/edit")
}

// faceTerminalData adds what the installer needs of a saved face
// terminal: the URL to configure as its event target (httpHost) — the
// runtime sets it itself when it can reach the terminal — and what the
// terminal's last exchanges said. The password is never put back.
func (s *Server) faceTerminalData(c echo.Context, d *views.DeviceFormData) {
	saved, err := s.app.Devices.Get(d.Device.ID)
	if err != nil || saved.Protocol != device.ISAPI || saved.Options.Password == "" {
		return
	}
	d.HasPassword = true
	pw, err := s.app.Keys.Open(saved.Options.Password)
	if err != nil {
		s.log.Warn("devices: a face terminal's password cannot be opened", "device", saved.ID)
		return
	}
	base := strings.TrimRight(s.app.Config.BaseURL, "/")
	if base == "" {
		base = strings.TrimRight(s.app.Settings().BaseURL, "/")
	}
	if base == "" {
		d.EventBaseMissing = true
		scheme := "http"
		if c.IsTLS() {
			scheme = "https"
		}
		base = scheme + "://" + c.Request().Host
	}
	d.EventURL = base + isapiEventsPrefix + saved.ID + "/" + device.EventToken(saved.ID, pw)
	d.Health, d.HasHealth = s.app.Devices.Live().Health(saved.ID)
}

// maxTerminalPassword bounds a face terminal's password as typed (the
// terminals take up to 16 characters; some firmware 32).
const maxTerminalPassword = 64

// sealTerminalPassword seals the password typed for a face terminal into
// d; left blank, the one on file stays. The typed password is never put
// back into the form nor logged.
func (s *Server) sealTerminalPassword(c echo.Context, d *device.Device) field.Errors {
	pw := c.FormValue("password")
	if d.Protocol != device.ISAPI || pw == "" {
		return nil
	}
	if len(pw) > maxTerminalPassword || strings.ContainsFunc(pw, func(r rune) bool { return r < 0x20 || r == 0x7F }) {
		return field.Errors{{Field: "password", Code: "invalid"}}
	}
	sealed, err := s.app.Keys.Seal(pw)
	if err != nil {
		return field.Errors{{Field: "password", Code: "invalid"}}
	}
	d.Options.Password = sealed
	return nil
}

// formDevice reads the form into d. A baud that is not a number becomes
// -1, which validation reports like any rate it does not know.
func formDevice(c echo.Context, d device.Device) device.Device {
	d.Name, d.Port, d.Address = c.FormValue("name"), c.FormValue("port"), c.FormValue("address")
	d.Protocol, d.Role, d.LaneID = device.Protocol(c.FormValue("protocol")), device.Role(c.FormValue("role")), c.FormValue("lane_id")
	d.Baud = -1
	if b, err := strconv.Atoi(strings.TrimSpace(c.FormValue("baud"))); err == nil {
		d.Baud = b
	}
	d.Options = device.Options{
		Prefix: c.FormValue("prefix"), Suffix: c.FormValue("suffix"), Reads: gate.CredentialKind(c.FormValue("reads")),
		Invert: c.FormValue("invert") == "1", Secure: c.FormValue("secure") == "1",
		// A face terminal's password stays sealed as it was unless a new
		// one is typed (sealTerminalPassword).
		User: c.FormValue("user"), Password: d.Options.Password, Mode: c.FormValue("mode"),
	}
	// A slot count or interval that is not a number becomes -1, which
	// validation refuses.
	for name, v := range map[string]*int{"slots": &d.Options.Slots, "poll_ms": &d.Options.PollMs} {
		if t := strings.TrimSpace(c.FormValue(name)); t != "" {
			n, err := strconv.Atoi(t)
			if err != nil || n < 0 {
				n = -1
			}
			*v = n
		}
	}
	if o := strings.TrimSpace(c.FormValue("output")); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 || n > 255 {
			n = -1 // reported by validation
		}
		d.Options.Output = &n
	}
	d.Enabled = c.FormValue("enabled") == "1"
	return d
}

func (s *Server) deviceSave(c echo.Context, d device.Device, isNew bool) error {
	if fe := s.sealTerminalPassword(c, &d); fe != nil {
		return s.deviceFormPage(c, http.StatusUnprocessableEntity, views.DeviceFormData{Device: d, New: isNew, Errs: fe})
	}
	saved, err := s.app.Devices.Save(c.Request().Context(), actor(c), d)
	if fe, ok := field.As(err); ok {
		return s.deviceFormPage(c, http.StatusUnprocessableEntity, views.DeviceFormData{Device: d, New: isNew, Errs: fe})
	}
	if err != nil {
		return deviceErr(err)
	}
	s.log.Info("device saved", "device", saved.ID, "protocol", saved.Protocol, "role", saved.Role, "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/admin/devices")
}

func (s *Server) deviceCreate(c echo.Context) error {
	return s.deviceSave(c, formDevice(c, device.Device{}), true)
}

func (s *Server) deviceUpdate(c echo.Context) error {
	old, err := s.app.Devices.Get(c.Param("id"))
	if err != nil {
		return deviceErr(err)
	}
	return s.deviceSave(c, formDevice(c, old), false)
}

func (s *Server) deviceDelete(c echo.Context) error {
	id := c.Param("id")
	if err := s.app.Devices.Delete(c.Request().Context(), actor(c), id); err != nil {
		return deviceErr(err)
	}
	s.log.Info("device deleted", "device", id, "by", actor(c))
	s.flash(c, "flash.device_deleted")
	return s.redirect(c, "/admin/devices")
}

// deviceTest pulses a relay or reads a door contact and shows the list with
// what happened. A device that fails its test is not a server error: the
// page says what the driver said.
func (s *Server) deviceTest(c echo.Context) error {
	dev, err := s.app.Devices.Get(c.Param("id"))
	if err != nil {
		return deviceErr(err)
	}
	l := langOf(c)
	r := &views.DeviceTestResult{Name: dev.Name}
	status := http.StatusOK
	if dev.Role != device.Relay && dev.Role != device.DoorContact && dev.Role != device.Printer && dev.Role != device.ModemRole && dev.Role != device.KeyCabinet &&
		dev.Role != device.ElevatorBoard && dev.Role != device.FireInput {
		status, r.Message = http.StatusUnprocessableEntity, l.T("devices.test_not_here")
	} else {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
		res, err := s.app.Devices.Live().Test(ctx, dev.ID)
		cancel()
		switch {
		case errors.Is(err, device.ErrNotRunning):
			r.Message = l.T("devices.test_not_running")
		case err != nil:
			r.Message, r.Detail = l.T("devices.test_failed"), err.Error()
		case res.Did == "pulsed":
			r.OK, r.Message = true, l.T("devices.test_pulsed", res.Pulse.String())
		case res.Did == "printed":
			r.OK, r.Message = true, l.T("devices.test_printed")
		case res.Did == "slots":
			r.OK, r.Message = true, l.T("devices.test_slots", countTrue(res.Slots), len(res.Slots), slotList(res.FirstInput, res.Slots))
		case res.Did == "signal":
			r.OK, r.Message = true, l.T("devices.test_signal", res.Signal)
		case res.Did == "floors":
			r.OK, r.Message = true, l.T("devices.test_floors", res.Floors, res.Pulse.String())
		case res.Did == "fire" && res.Fire:
			r.OK, r.Message = true, l.T("devices.test_fire_on")
		case res.Did == "fire":
			r.OK, r.Message = true, l.T("devices.test_fire_off")
		case res.Did == "door" && res.DoorOpen:
			r.OK, r.Message = true, l.T("devices.test_door_open")
		default:
			r.OK, r.Message = true, l.T("devices.test_door_closed")
		}
		s.log.Info("device tested", "device", dev.ID, "ok", r.OK, "by", actor(c))
	}
	d, err := s.devicesData()
	if err != nil {
		return err
	}
	d.Result = r
	return s.render(c, status, views.Devices(d))
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// slotList is a cabinet's slots as the test saw them: "2 ● 3 ○ 4 ●",
// input numbers with a key (●) or empty (○).
func slotList(first int, present []bool) string {
	var b strings.Builder
	for i, p := range present {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(first + i))
		if p {
			b.WriteString(" ●")
		} else {
			b.WriteString(" ○")
		}
	}
	return b.String()
}

// mrzSample is ICAO 9303's specimen passport, laid on the demo reader.
const mrzSample = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"

func (s *Server) simData() (views.SimData, error) {
	d := views.SimData{Sample: mrzSample}
	bench := s.app.Devices.Bench()
	if bench == nil {
		return d, nil
	}
	d.Running = true
	for _, c := range demo.Cards {
		d.Cards = append(d.Cards, views.Option{Value: c.Number, Label: c.Holder + " · " + c.Note})
	}
	ds, err := s.app.Devices.Devices()
	if err != nil {
		return d, err
	}
	ls, err := s.app.Access.Lanes()
	if err != nil {
		return d, err
	}
	slices.SortFunc(ls, func(a, b access.Lane) int { return strings.Compare(a.Name, b.Name) })
	live := s.app.Devices.Live()
	var faces []views.Option // who a simulated face terminal can recognise, read once
	reader := func(dev device.Device) views.SimReader {
		r := views.SimReader{Device: dev}
		r.Health, _ = live.Health(dev.ID)
		r.Last, r.HasLast = live.LastRead(dev.ID)
		if dev.Protocol == device.ISAPI {
			if faces == nil {
				faces = []views.Option{}
				if es, err := s.app.Access.FaceEnrolments(); err == nil {
					for _, e := range es {
						faces = append(faces, views.Option{Value: e.Number, Label: e.Name})
					}
				}
			}
			r.Faces = faces
		}
		return r
	}
	lanes := map[string]*views.SimLane{}
	for _, l := range ls {
		d.Lanes = append(d.Lanes, views.SimLane{Name: l.Name})
	}
	for i, l := range ls {
		lanes[l.ID] = &d.Lanes[i]
	}
	labels := map[string]map[int]string{} // port → point → relay device, or a lift's floor
	_, floorNames, err := s.floorOpts()
	if err != nil {
		return d, err
	}
	for _, dev := range ds {
		if !dev.Enabled || !bench.Simulates(dev) {
			continue
		}
		lane := lanes[dev.LaneID]
		switch {
		case dev.Role == device.EnrolmentReader:
			d.Desk = append(d.Desk, reader(dev))
		case dev.Role.Reader() && lane != nil:
			lane.Readers = append(lane.Readers, reader(dev))
		case dev.Role == device.DoorContact && lane != nil:
			lane.Doors = append(lane.Doors, dev)
		case dev.Role == device.KeyCabinet:
			if cab, ok := s.simCabinet(bench, dev); ok {
				d.Cabinets = append(d.Cabinets, cab)
			}
		case dev.Role == device.DocumentReader:
			dr := views.SimDocReader{Device: dev}
			dr.Doc, dr.Has = live.LastDocument(dev.ID)
			d.Docs = append(d.Docs, dr)
		case dev.Role == device.FireInput:
			d.Fires = append(d.Fires, dev)
		case dev.Role == device.ElevatorBoard:
			// The car's coils are shown as its floors, lit while released.
			pt, err := device.ModbusPoint(dev.Address)
			if err != nil {
				continue
			}
			if labels[dev.Port] == nil {
				labels[dev.Port] = map[int]string{}
			}
			for _, l := range ls {
				if l.ID != dev.LaneID {
					continue
				}
				for _, fc := range l.Floors {
					labels[dev.Port][int(pt.N)+fc.Coil-1] = "⇅ " + floorNames[fc.Floor]
				}
			}
		case dev.Role == device.Relay:
			n := 0
			if dev.Protocol == device.Modbus {
				pt, err := device.ModbusPoint(dev.Address)
				if err != nil {
					continue
				}
				n = int(pt.N)
			} else if k, err := device.RelayNumber(dev.Address); err == nil {
				n = k
			}
			if labels[dev.Port] == nil {
				labels[dev.Port] = map[int]string{}
			}
			labels[dev.Port][n] = dev.Name
		}
	}
	for _, b := range bench.Boards() {
		sb := views.SimBoard{Port: b.Port, Total: len(b.Log)}
		for i, on := range b.States {
			sb.Points = append(sb.Points, views.SimPoint{N: i + b.First, On: on, Label: labels[b.Port][i+b.First]})
		}
		for i := len(b.Log) - 1; i >= 0 && len(sb.Log) < 40; i-- {
			w := b.Log[i]
			sb.Log = append(sb.Log, views.SimPoint{N: w.Point, On: w.On, Label: labels[b.Port][w.Point]})
		}
		d.Boards = append(d.Boards, sb)
	}
	if out, ok := bench.(device.BenchOutputs); ok {
		slips, sms := out.Printouts(), out.SentSMS()
		for i := len(slips) - 1; i >= 0 && len(d.Slips) < 3; i-- {
			d.Slips = append(d.Slips, slips[i])
		}
		for i := len(sms) - 1; i >= 0 && len(d.SMS) < 10; i-- {
			m := sms[i]
			m.Number = visit.MaskMobile(m.Number)
			d.SMS = append(d.SMS, m)
		}
	}
	return d, nil
}

func (s *Server) simPage(c echo.Context, status int, errKey string) error {
	d, err := s.simData()
	if err != nil {
		return err
	}
	if errKey != "" {
		d.Error = langOf(c).T(errKey)
	}
	return s.render(c, status, views.Sim(d))
}

func (s *Server) devicesSim(c echo.Context) error { return s.simPage(c, http.StatusOK, "") }

// simDevice is the simulated device a demo form names.
func (s *Server) simDevice(c echo.Context) (device.Device, device.Bench, error) {
	bench := s.app.Devices.Bench()
	if bench == nil {
		return device.Device{}, nil, echo.ErrNotFound
	}
	d, err := s.app.Devices.Get(c.FormValue("device"))
	if err != nil {
		return d, nil, deviceErr(err)
	}
	return d, bench, nil
}

// simPresent writes a scan, a card number or a document into a simulator:
// the driver reads it off its port like a real device's bytes.
func (s *Server) simPresent(c echo.Context) error {
	d, bench, err := s.simDevice(c)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(c.FormValue("text"))
	if text == "" || len(text) > 1024 {
		return s.simPage(c, http.StatusUnprocessableEntity, "sim.bad_text")
	}
	if d.Role != device.DocumentReader && strings.ContainsAny(text, "\r\n") {
		return s.simPage(c, http.StatusUnprocessableEntity, "sim.bad_text")
	}
	if err := bench.Present(d, text); err != nil {
		if errors.Is(err, device.ErrNotSimulated) || errors.Is(err, device.ErrNotSupported) {
			return s.simPage(c, http.StatusUnprocessableEntity, "sim.not_simulated")
		}
		return err
	}
	s.flash(c, "flash.sim_sent")
	return s.redirect(c, "/admin/devices/sim")
}

// simVisitor invites a demo visitor and scans the new pass at a reader.
func (s *Server) simVisitor(c echo.Context) error {
	d, bench, err := s.simDevice(c)
	if err != nil {
		return err
	}
	if !d.Role.Reader() || d.Reads() != gate.QR {
		return s.simPage(c, http.StatusUnprocessableEntity, "sim.not_simulated")
	}
	tok, err := demo.VisitorPass(c.Request().Context(), s.app, actor(c))
	if err != nil {
		// No employee receives visitors any more, or screening refused the
		// demo visitor: the demo building was changed, not broken.
		s.log.Warn("demo visitor not invited", "err", err)
		return s.simPage(c, http.StatusUnprocessableEntity, "sim.no_visitor")
	}
	if err := bench.Present(d, tok); err != nil {
		if errors.Is(err, device.ErrNotSimulated) {
			return s.simPage(c, http.StatusUnprocessableEntity, "sim.not_simulated")
		}
		return err
	}
	s.flash(c, "flash.sim_sent")
	return s.redirect(c, "/admin/devices/sim")
}

// simDoor opens or shuts a simulated door (a door-contact input).
func (s *Server) simDoor(c echo.Context) error {
	d, bench, err := s.simDevice(c)
	if err != nil {
		return err
	}
	open := c.FormValue("open") == "1"
	if err := bench.SetInput(d, open != d.Options.Invert); err != nil {
		if errors.Is(err, device.ErrNotSimulated) {
			return s.simPage(c, http.StatusUnprocessableEntity, "sim.not_simulated")
		}
		return err
	}
	s.flash(c, "flash.sim_sent")
	return s.redirect(c, "/admin/devices/sim")
}

// simFace puts an enrolled person's face in front of a simulated face
// terminal: it pushes "face recognised" to the appliance, which decides
// it like any presentation.
func (s *Server) simFace(c echo.Context) error {
	d, bench, err := s.simDevice(c)
	if err != nil {
		return err
	}
	fb, ok := bench.(device.FaceBench)
	number := strings.TrimSpace(c.FormValue("number"))
	if !ok || d.Protocol != device.ISAPI {
		return s.simPage(c, http.StatusUnprocessableEntity, "sim.not_simulated")
	}
	if number == "" || len(number) > 32 {
		return s.simPage(c, http.StatusUnprocessableEntity, "sim.bad_text")
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), 5*time.Second)
	defer cancel()
	if err := fb.Recognise(ctx, d, number); err != nil {
		if errors.Is(err, device.ErrNotSimulated) {
			return s.simPage(c, http.StatusUnprocessableEntity, "sim.not_simulated")
		}
		s.log.Warn("demo face terminal could not push", "device", d.ID, "err", err)
		return s.simPage(c, http.StatusUnprocessableEntity, "sim.face_failed")
	}
	s.flash(c, "flash.sim_sent")
	return s.redirect(c, "/admin/devices/sim")
}
