package ui

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/device"
)

// Face terminals push their events here (drivers/runner/face.go configures
// the URL on each terminal through ISAPI's httpHosts). The terminal has no
// session and no CSRF token: the device ID and a per-device secret in the
// path are its credentials; a wrong one is answered like an unknown path.
// The answer is a bare status for the terminal, never a page: 200 taken
// (decided or ignored), 400 a garbled body (counted in the device's
// health), 404 unknown, 413 too large, 429 too fast.

// isapiEventBody bounds a pushed event: the event_log JSON and the
// terminal's captured picture, a few tens of KB.
const isapiEventBody = 512 << 10

const isapiEventsPrefix = "/isapi/events/"

func isISAPIEvent(c echo.Context) bool {
	return strings.HasPrefix(c.Request().URL.Path, isapiEventsPrefix)
}

func (s *Server) isapiEvent(c echo.Context) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return c.NoContent(http.StatusRequestEntityTooLarge)
	}
	err = s.app.Devices.FaceEvent(c.Request().Context(), c.Param("id"), c.Param("token"), c.Request().Header.Get("Content-Type"), body)
	switch {
	case err == nil:
		return c.NoContent(http.StatusOK)
	case errors.Is(err, device.ErrBadEvent):
		return c.NoContent(http.StatusBadRequest)
	case errors.Is(err, device.ErrBusy):
		c.Response().Header().Set("Retry-After", "1")
		return c.NoContent(http.StatusTooManyRequests)
	default:
		return c.NoContent(http.StatusNotFound)
	}
}
