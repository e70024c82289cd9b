package ui

import (
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
)

// personName is a directory person's name, or the mark of the retention
// purge that removed it (appliance/directory/purge.go): visits, gate events
// and credentials keep pointing at a purged person, and say so.
func (s *Server) personName(c echo.Context, p directory.Person) string {
	if p.Purged != 0 {
		return langOf(c).T("person.purged", time.Unix(0, p.Purged).In(s.app.Config.Location).Format("2006-01-02"))
	}
	return p.Name
}
