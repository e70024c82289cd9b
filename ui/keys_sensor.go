package ui

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/device"
	"gatehouse/appliance/field"
	"gatehouse/appliance/keys"
	"gatehouse/ui/views"
)

// Key-cabinet sensors in the key room: a key's slot mapped to a cabinet's
// input (managers and administrators), what the sensor says now on the
// key's page, and the audit from sensors.

// sensorState is what the running cabinets say of a sensor now: unknown
// without a runtime, or while the cabinet does not answer. Each cabinet is
// asked once per page.
func (s *Server) sensorState() keys.SensorState {
	live, _ := s.app.Devices.Live().(device.SlotReader)
	type slots struct {
		first   int
		present []bool
		ok      bool
	}
	seen := map[string]slots{}
	return func(sn keys.Sensor) (bool, bool) {
		if live == nil {
			return false, false
		}
		sl, done := seen[sn.Device]
		if !done {
			sl.first, sl.present, sl.ok = live.Slots(sn.Device)
			seen[sn.Device] = sl
		}
		i := sn.Input - sl.first
		if !sl.ok || i < 0 || i >= len(sl.present) {
			return false, false
		}
		return sl.present[i], true
	}
}

// cabinetOptions lists the key cabinets, by name.
func (s *Server) cabinetOptions() ([]views.Option, map[string]string, error) {
	ds, err := s.app.Devices.Devices()
	if err != nil {
		return nil, nil, err
	}
	var opts []views.Option
	names := map[string]string{}
	for _, d := range ds {
		if d.Role == device.KeyCabinet {
			opts = append(opts, views.Option{Value: d.ID, Label: d.Name + " (" + d.Address + ", " + strconv.Itoa(d.Options.Slots) + ")"})
			names[d.ID] = d.Name
		}
	}
	return opts, names, nil
}

// keySensorData fills the key page's sensor part.
func (s *Server) keySensorData(d *views.KeyData) error {
	opts, names, err := s.cabinetOptions()
	if err != nil {
		return err
	}
	if d.CanEdit {
		d.Cabinets = opts
	}
	if sn := d.Key.Sensor; sn != nil {
		if d.SensorName = names[sn.Device]; d.SensorName == "" {
			d.SensorName = "—" // the cabinet was deleted: the mapping form clears it
		}
		switch present, known := s.sensorState()(*sn); {
		case !known:
			d.SensorNow = "unknown"
		case present:
			d.SensorNow = "present"
		default:
			d.SensorNow = "absent"
		}
	}
	if d.Form.SensorDevice == "" && d.Form.SensorInput == "" && d.Key.Sensor != nil {
		d.Form.SensorDevice, d.Form.SensorInput = d.Key.Sensor.Device, strconv.Itoa(d.Key.Sensor.Input)
	}
	return nil
}

// keySensor maps a key's slot to a cabinet's input, or (no cabinet
// chosen) removes its sensor.
func (s *Server) keySensor(c echo.Context) error {
	id := c.Param("id")
	form := views.KeyActionForm{SensorDevice: strings.TrimSpace(c.FormValue("sensor_device")), SensorInput: strings.TrimSpace(c.FormValue("sensor_input"))}
	var sn *keys.Sensor
	if form.SensorDevice != "" {
		n, err := strconv.Atoi(form.SensorInput)
		if err != nil || n < 0 || n > 65535 {
			if _, err := s.app.KeyRoom.Get(id); err != nil {
				return err
			}
			return s.keyPage(c, http.StatusUnprocessableEntity, id, form, field.Errors{{Field: "sensor_input", Code: "invalid"}})
		}
		sn = &keys.Sensor{Device: form.SensorDevice, Input: n}
	}
	err := s.app.KeyRoom.SetSensor(c.Request().Context(), keyPerson(c), id, sn)
	if err == nil {
		s.log.Info("key sensor mapped", "key", id, "mapped", sn != nil, "by", actor(c))
	}
	return s.keyResult(c, id, form, err)
}

// keyAuditSensorLines is the audit from sensors of an audit: every mapped
// key of its cabinet, present or absent against the records.
func (s *Server) keyAuditSensorLines(id string) ([]keys.SensorLine, error) {
	ls, err := s.app.KeyRoom.SensorAudit(id, s.sensorState())
	// Discrepancies first: they are what the count is for.
	slices.SortStableFunc(ls, func(a, b keys.SensorLine) int {
		switch {
		case a.Discrepancy == b.Discrepancy:
			return 0
		case a.Discrepancy:
			return -1
		}
		return 1
	})
	return ls, err
}

// keyAuditSensors counts, in an open audit, every mapped key its sensor
// sees in its slot; those absent stay uncounted, so finishing the audit
// reports them missing.
func (s *Server) keyAuditSensors(c echo.Context) error {
	id := c.Param("id")
	_, err := s.app.KeyRoom.FillFromSensors(c.Request().Context(), keyPerson(c), id, s.sensorState())
	if es, ok := field.As(err); ok {
		return s.keyAuditPage(c, http.StatusUnprocessableEntity, id, views.KeyAuditData{Errs: es})
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/keys/audits/"+id)
}
