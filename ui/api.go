package ui

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/ui/i18n"
)

// The JSON API mirrors the directory pages: same services, same validation,
// same roles (taken from the token). Errors are {"error": code, "message":
// text, "fields": [...]}, with the message in the Accept-Language language.

type apiFieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Line    int    `json:"line,omitempty"`
	Message string `json:"message"`
}

func apiFieldErrors(l i18n.Lang, es field.Errors) []apiFieldError {
	out := make([]apiFieldError, 0, len(es))
	for _, e := range es {
		out = append(out, apiFieldError{Field: e.Field, Code: e.Code, Line: e.Line, Message: l.Field(e)})
	}
	return out
}

// bind decodes a JSON body; a malformed one is the client's fault (400).
func bind(c echo.Context, v any) error {
	if err := (&echo.DefaultBinder{}).BindBody(c, v); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "malformed JSON body")
	}
	return nil
}

func (s *Server) apiFloors(c echo.Context) error {
	fs, err := s.app.Directory.Floors(c.QueryParam("inactive") == "1")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"floors": nonNil(fs)})
}

func (s *Server) apiFloorCreate(c echo.Context) error {
	var f directory.Floor
	if err := bind(c, &f); err != nil {
		return err
	}
	f.ID = ""
	saved, err := s.app.Directory.SaveFloor(c.Request().Context(), actor(c), f)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, saved)
}

func (s *Server) apiCompanies(c echo.Context) error {
	cs, err := s.app.Directory.Companies(c.QueryParam("inactive") == "1")
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"companies": nonNil(cs)})
}

func (s *Server) apiCompany(c echo.Context) error {
	co, err := s.app.Directory.Company(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, co)
}

func (s *Server) apiCompanyCreate(c echo.Context) error {
	var co directory.Company
	if err := bind(c, &co); err != nil {
		return err
	}
	co.ID = ""
	saved, err := s.app.Directory.SaveCompany(c.Request().Context(), actor(c), co)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, saved)
}

func (s *Server) apiCompanyUpdate(c echo.Context) error {
	var co directory.Company
	if err := bind(c, &co); err != nil {
		return err
	}
	co.ID = c.Param("id")
	saved, err := s.app.Directory.SaveCompany(c.Request().Context(), actor(c), co)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, saved)
}

// apiPerson is a person as the API has always taken and shown one: the
// mobile whole. The directory keeps it sealed (appliance/directory), so
// answers open it, for the staff roles the routes allow.
type apiPerson struct {
	ID          string         `json:"id"`
	Kind        directory.Kind `json:"kind"`
	Name        string         `json:"name"`
	EnglishName string         `json:"english_name,omitempty"`
	Mobile      string         `json:"mobile"`
	CompanyID   string         `json:"company_id,omitempty"`
	FloorID     string         `json:"floor_id,omitempty"`
	EmployeeNo  string         `json:"employee_no,omitempty"`
	Position    string         `json:"position,omitempty"`
	CanHost     bool           `json:"can_host"`
	Active      bool           `json:"active"`
}

func (s *Server) apiPeople(ps []directory.Person) ([]apiPerson, error) {
	ps, err := s.app.Directory.WithMobiles(ps)
	if err != nil {
		return nil, err
	}
	out := make([]apiPerson, 0, len(ps))
	for _, p := range ps {
		out = append(out, apiPerson{ID: p.ID, Kind: p.Kind, Name: p.Name, EnglishName: p.EnglishName, Mobile: p.Mobile, CompanyID: p.CompanyID,
			FloorID: p.FloorID, EmployeeNo: p.EmployeeNo, Position: p.Position, CanHost: p.CanHost, Active: p.Active})
	}
	return out, nil
}

func (s *Server) apiPersonJSON(c echo.Context, code int, p directory.Person) error {
	out, err := s.apiPeople([]directory.Person{p})
	if err != nil {
		return err
	}
	return c.JSON(code, out[0])
}

// bindPerson reads a person to save from the body; the ID comes from the
// path, and Active is the record's own (SavePerson keeps it).
func bindPerson(c echo.Context, id string) (directory.Person, error) {
	var in apiPerson
	if err := bind(c, &in); err != nil {
		return directory.Person{}, err
	}
	p := directory.Person{ID: id, Kind: in.Kind, Name: in.Name, EnglishName: in.EnglishName, Mobile: in.Mobile, CompanyID: in.CompanyID, FloorID: in.FloorID,
		EmployeeNo: in.EmployeeNo, Position: in.Position, CanHost: in.CanHost, Active: in.Active}
	if p.Kind == "" {
		p.Kind = directory.Employee
	}
	return p, nil
}

func (s *Server) apiEmployees(c echo.Context) error {
	limit, _ := strconv.Atoi(c.QueryParam("limit"))
	q := directory.Query{Text: c.QueryParam("q"), CompanyID: c.QueryParam("company"), FloorID: c.QueryParam("floor"),
		Kind: directory.Kind(c.QueryParam("kind")), IncludeInactive: c.QueryParam("inactive") == "1",
		Offset: intParam(c, "offset"), Limit: limit}
	if q.Kind != directory.Staff {
		q.Kind = directory.Employee
	}
	pg, err := s.app.Directory.Search(q)
	if err != nil {
		return err
	}
	people, err := s.apiPeople(pg.People)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"employees": people, "total": pg.Total, "offset": pg.Offset, "limit": pg.Limit})
}

func (s *Server) apiEmployee(c echo.Context) error {
	p, err := s.app.Directory.Person(c.Param("id"))
	if err != nil {
		return err
	}
	return s.apiPersonJSON(c, http.StatusOK, p)
}

func (s *Server) apiEmployeeCreate(c echo.Context) error {
	p, err := bindPerson(c, "")
	if err != nil {
		return err
	}
	saved, err := s.app.Directory.SavePerson(c.Request().Context(), actor(c), p)
	if err != nil {
		return err
	}
	return s.apiPersonJSON(c, http.StatusCreated, saved)
}

func (s *Server) apiEmployeeUpdate(c echo.Context) error {
	p, err := bindPerson(c, c.Param("id"))
	if err != nil {
		return err
	}
	// The API does not carry the email address and the notification
	// preference (the person's page and the host's profile set them): an
	// update keeps them.
	if old, err := s.app.Directory.Person(p.ID); err == nil {
		p.EmailSealed, p.Notify = old.EmailSealed, old.Notify
	}
	saved, err := s.app.Directory.SavePerson(c.Request().Context(), actor(c), p)
	if err != nil {
		return err
	}
	return s.apiPersonJSON(c, http.StatusOK, saved)
}

func (s *Server) apiEmployeeDeactivate(c echo.Context) error {
	id := c.Param("id")
	if err := s.app.Directory.SetPersonActive(c.Request().Context(), actor(c), id, false); err != nil {
		return err
	}
	p, err := s.app.Directory.Person(id)
	if err != nil {
		return err
	}
	return s.apiPersonJSON(c, http.StatusOK, p)
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
