package ui

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/notice"
	"gatehouse/appliance/visit"
)

// Request bodies. Each route reads at most what it needs: anonymous forms
// (sign-in, booking) a few KB, signed-in forms 64 KB, and only the upload
// routes more — and those only for a signed-in role the route allows, so a
// stranger's body is refused at its first bytes, before anything (the CSRF
// check included) parses it. A Content-Length over the limit is refused
// without reading; a body that lies about its length is cut off at the
// limit. Bodies over largeBody wait for one of a few slots, so concurrent
// uploads cannot add up to more memory than the appliance has.
const (
	publicBody      = 16 << 10
	formBody        = 64 << 10
	largeBody       = 1 << 20
	largeSlots      = 2
	largeWait       = 30 * time.Second
	multipartMemory = 8 << 20 // parts past this go to temporary files
)

var errBusy = errors.New("ui: too many large uploads at once")

// uploadLimits names the routes that take files, with their limits.
func uploadLimits() map[string]int64 {
	notices := int64(notice.MaxUpload + notice.MaxRawContent + formBody)
	return map[string]int64{
		"POST /notices":                       notices,
		"POST /notices/:id":                   notices,
		"POST /notices/images":                notice.MaxUpload + formBody,
		"POST /admin/settings/map":            notice.MaxUpload + formBody,
		"POST /directory/import":              maxImportBytes + formBody,
		"POST /desk/conferences":              2*maxListBytes + formBody, // a file, or the same pasted
		"POST /desk/conferences/:id/register": 2*maxListBytes + formBody,
		"POST /desk/walkin":                   visit.MaxPhotoBytes*4/3 + formBody, // the camera's data URL
		"POST /directory/people/:id/face":     visit.MaxPhotoBytes + formBody,     // an employee's face picture
	}
}

func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		limit := int64(publicBody)
		u := userOf(c)
		if u != nil || (isAPI(c) && r.Header.Get("Authorization") != "") {
			limit = formBody
		}
		key := r.Method + " " + c.Path()
		if up, ok := s.uploads[key]; ok && u != nil && slices.Contains(s.roles[key], u.Role) {
			limit = up
		}
		if key == "POST "+isapiEventsPrefix+":id/:token" {
			limit = isapiEventBody // a face terminal's event with its captured picture
		}
		if r.ContentLength > limit {
			return echo.ErrStatusRequestEntityTooLarge
		}
		if r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		if limit > largeBody {
			t := time.NewTimer(largeWait)
			defer t.Stop()
			select {
			case s.large <- struct{}{}:
				defer func() { <-s.large }()
			case <-t.C:
				return errBusy
			case <-r.Context().Done():
				return r.Context().Err()
			}
		}
		return next(c)
	}
}
