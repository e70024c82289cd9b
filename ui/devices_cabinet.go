package ui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/device"
	"gatehouse/appliance/keys"
	"gatehouse/ui/views"
)

// simCabinet is a simulated key cabinet's slots, each with the key mapped
// to it, for the demo page.
func (s *Server) simCabinet(bench device.Bench, d device.Device) (views.SimCabinet, bool) {
	cb, ok := bench.(device.CabinetBench)
	if !ok {
		return views.SimCabinet{}, false
	}
	first, present, err := cb.CabinetSlots(d)
	if err != nil {
		return views.SimCabinet{}, false
	}
	cab := views.SimCabinet{Device: d}
	for i, p := range present {
		sl := views.SimSlot{N: first + i, Present: p}
		if k, err := s.app.KeyRoom.BySensor(keys.Sensor{Device: d.ID, Input: sl.N}); err == nil {
			sl.Tag = k.Tag
		}
		cab.Slots = append(cab.Slots, sl)
	}
	return cab, true
}

// simSlot takes a key out of a simulated cabinet's slot or puts it back:
// the cabinet's driver sees the switch change at its next poll.
func (s *Server) simSlot(c echo.Context) error {
	d, bench, err := s.simDevice(c)
	if err != nil {
		return err
	}
	cb, ok := bench.(device.CabinetBench)
	n, nerr := strconv.Atoi(strings.TrimSpace(c.FormValue("input")))
	if !ok || nerr != nil {
		return s.simPage(c, http.StatusUnprocessableEntity, "sim.not_simulated")
	}
	if err := cb.SetSlot(d, n, c.FormValue("present") == "1"); err != nil {
		if errors.Is(err, device.ErrNotSimulated) {
			return s.simPage(c, http.StatusUnprocessableEntity, "sim.not_simulated")
		}
		return err
	}
	s.flash(c, "flash.sim_sent")
	return s.redirect(c, "/admin/devices/sim")
}
