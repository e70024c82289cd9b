package ui

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/visit"
)

// The visits API lets a CRM or meeting-room system create, decide and list
// visits. Personal data goes in clear over the API (TLS in production) and
// comes back only masked.

type apiVisitIn struct {
	Name     string    `json:"name"`
	Title    string    `json:"title"`
	Mobile   string    `json:"mobile"`
	Company  string    `json:"company"`
	HostID   string    `json:"host_id"`
	Reason   string    `json:"reason"`
	Message  string    `json:"message"`
	From     time.Time `json:"from"`
	Until    time.Time `json:"until"`
	Party    int       `json:"party_size"`
	IDNumber string    `json:"id_number"`
}

type apiVisitOut struct {
	ID           string     `json:"id"`
	Mode         visit.Mode `json:"mode"`
	State        string     `json:"state"`
	Name         string     `json:"name"`
	MobileMasked string     `json:"mobile_masked"`
	HostID       string     `json:"host_id"`
	CompanyID    string     `json:"company_id"`
	FloorID      string     `json:"floor_id"`
	Reason       string     `json:"reason"`
	From         time.Time  `json:"from"`
	Until        time.Time  `json:"until"`
	FirstIn      *time.Time `json:"first_in,omitempty"`
	LastOut      *time.Time `json:"last_out,omitempty"`
	RejectReason string     `json:"reject_reason,omitempty"`
	StatusLink   string     `json:"status_link,omitempty"` // only when created: the visitor's page
}

func apiVisit(v visit.Visit) apiVisitOut {
	o := apiVisitOut{ID: v.ID, Mode: v.Mode, State: string(v.State), Name: v.Visitor.Name, MobileMasked: v.Visitor.MobileMasked,
		HostID: v.HostID, CompanyID: v.CompanyID, FloorID: v.FloorID, Reason: v.Reason, RejectReason: v.RejectReason}
	o.From, o.Until = v.Window()
	if v.FirstIn != 0 {
		t := time.Unix(0, v.FirstIn)
		o.FirstIn = &t
	}
	if v.LastOut != 0 {
		t := time.Unix(0, v.LastOut)
		o.LastOut = &t
	}
	return o
}

// apiVisitCreate creates an invited visit on a host's behalf: approved,
// with a pass, and the link to hand the visitor.
func (s *Server) apiVisitCreate(c echo.Context) error {
	var in apiVisitIn
	if err := bind(c, &in); err != nil {
		return err
	}
	v, link, err := s.app.Visits.Invite(c.Request().Context(), actor(c), visit.Request{Name: in.Name, Title: in.Title,
		Mobile: in.Mobile, Company: in.Company, HostID: in.HostID, Reason: in.Reason, Message: in.Message,
		From: in.From, Until: in.Until, PartySize: in.Party, IDNumber: in.IDNumber})
	if err != nil {
		return err
	}
	o := apiVisit(v)
	o.StatusLink = "/v/" + link
	return c.JSON(http.StatusCreated, o)
}

func (s *Server) apiVisitGet(c echo.Context) error {
	v, err := s.app.Visits.Get(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiVisit(v))
}

func (s *Server) apiVisitDecide(approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var in struct {
			Reason string `json:"reason"`
		}
		if c.Request().ContentLength != 0 {
			if err := bind(c, &in); err != nil {
				return err
			}
		}
		v, err := s.app.Visits.Decide(c.Request().Context(), actor(c), c.Param("id"), "", approve, in.Reason)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, apiVisit(v))
	}
}

// apiVisits lists visits whose window starts in [from, to) (RFC 3339; the
// default is the building's today), filtered like the records page.
func (s *Server) apiVisits(c echo.Context) error {
	loc := s.app.Config.Location
	y, m, d := s.app.Clock.Now().In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 0, 1)
	for name, dst := range map[string]*time.Time{"from": &from, "to": &to} {
		if v := strings.TrimSpace(c.QueryParam(name)); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return echo.NewHTTPError(http.StatusBadRequest, name+" must be RFC 3339")
			}
			*dst = t
		}
	}
	limit := intParam(c, "limit")
	p, err := s.app.Visits.Search(visit.Query{From: from, To: to, CompanyID: c.QueryParam("company"), FloorID: c.QueryParam("floor"),
		HostID: c.QueryParam("host"), Name: c.QueryParam("name"), Offset: intParam(c, "offset"), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]apiVisitOut, 0, len(p.Visits))
	for _, v := range p.Visits {
		out = append(out, apiVisit(v))
	}
	return c.JSON(http.StatusOK, map[string]any{"visits": out, "total": p.Total})
}
