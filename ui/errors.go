package ui

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/screen"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/cluster"
	"gatehouse/ui/views"
)

// handleError is the one place where errors become responses: a status code
// and a message in the user's language, as a page or as JSON for the API.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, key := http.StatusInternalServerError, "error.internal"
	var he *echo.HTTPError
	var es field.Errors
	switch {
	case errors.Is(err, cluster.ErrNoQuorum), errors.Is(err, cluster.ErrOffline), errors.Is(err, cluster.ErrClosed):
		// A lobby cut off from its site: nothing was written.
		status, key = http.StatusServiceUnavailable, "error.cut_off"
	case errors.Is(err, cluster.ErrUncertain):
		status, key = http.StatusServiceUnavailable, "error.uncertain"
	case errors.Is(err, errCSRF):
		status, key = http.StatusForbidden, "error.csrf"
	case errors.Is(err, visit.ErrTooManyBookings):
		status, key = http.StatusTooManyRequests, "error.too_many_bookings"
	case errors.Is(err, visit.ErrHostBusy):
		status, key = http.StatusTooManyRequests, "error.host_busy"
	case errors.Is(err, visit.ErrBusy):
		status, key = http.StatusServiceUnavailable, "error.busy"
	case errors.Is(err, errTooMany):
		status, key = http.StatusTooManyRequests, "error.too_many_requests"
	case errors.Is(err, errBusy):
		status, key = http.StatusServiceUnavailable, "error.busy"
	case errors.Is(err, errUnauthorized):
		status, key = http.StatusUnauthorized, "error.unauthorized"
	case errors.Is(err, errForbidden):
		status, key = http.StatusForbidden, "error.forbidden"
	case errors.Is(err, visit.ErrNotHost):
		status, key = http.StatusForbidden, "error.forbidden"
	case errors.Is(err, visit.ErrTransition):
		status, key = http.StatusConflict, "error.transition"
	case errors.Is(err, directory.ErrNotFound), errors.Is(err, auth.ErrNotFound), errors.Is(err, store.ErrNotFound),
		errors.Is(err, visit.ErrNotFound), errors.Is(err, screen.ErrNotFound), errors.Is(err, access.ErrNotFound):
		status, key = http.StatusNotFound, "error.not_found"
	case errors.Is(err, visit.ErrNoFont):
		// Every printable page (pass sheet, handover sheet, reports):
		// the appliance lacks a font package, not the user's fault.
		status, key = http.StatusServiceUnavailable, "error.no_font"
	case errors.Is(err, directory.ErrImportRunning):
		status, key = http.StatusConflict, "error.import_running"
	case errors.As(err, &es), errors.Is(err, field.ErrInvalid), errors.Is(err, store.ErrBadPayload):
		status, key = http.StatusUnprocessableEntity, "error.bad_request"
	case errors.As(err, &he):
		status = he.Code
		switch he.Code {
		case http.StatusNotFound:
			key = "error.not_found"
		case http.StatusMethodNotAllowed:
			key = "error.method"
		case http.StatusRequestEntityTooLarge:
			key = "error.too_large"
		case http.StatusForbidden:
			key = "error.forbidden"
		case http.StatusUnauthorized:
			key = "error.unauthorized"
		default:
			if he.Code < 500 {
				key = "error.bad_request"
			}
		}
	}
	if status >= 500 {
		// The path pattern, not the URL: queries may hold names or numbers.
		s.log.Error("request failed", "method", c.Request().Method, "route", c.Path(), "err", err)
	}
	l := langOf(c)
	if isAPI(c) {
		body := map[string]any{"error": key, "message": l.T(key)}
		if len(es) > 0 {
			body["fields"] = apiFieldErrors(l, es)
		}
		_ = c.JSON(status, body)
		return
	}
	if c.Request().Header.Get("HX-Request") == "true" {
		_ = c.String(status, l.T(key))
		return
	}
	_ = s.render(c, status, views.ErrorPage(status, l.T(key)))
}
