package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/ui/views"
)

const pageSize = 50

func intParam(c echo.Context, name string) int {
	n, err := strconv.Atoi(c.QueryParam(name))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// peopleQuery reads the directory list's filter from the query string.
func peopleQuery(c echo.Context) directory.Query {
	q := directory.Query{
		Text:            c.QueryParam("q"),
		CompanyID:       c.QueryParam("company"),
		FloorID:         c.QueryParam("floor"),
		Kind:            directory.Employee,
		IncludeInactive: c.QueryParam("inactive") == "1",
		Offset:          intParam(c, "offset"),
		Limit:           pageSize,
	}
	if r := []rune(q.Text); len(r) > 100 {
		q.Text = string(r[:100])
	}
	if c.QueryParam("kind") == string(directory.Staff) {
		q.Kind = directory.Staff
	}
	return q
}

func (s *Server) people(c echo.Context) error {
	q := peopleQuery(c)
	pg, err := s.app.Directory.Search(q)
	if err != nil {
		return err
	}
	// Masked in the list, whole behind the tap-to-call link.
	if pg.People, err = s.app.Directory.WithMobiles(pg.People); err != nil {
		return err
	}
	d := views.PeopleData{Query: q, Page: pg, CanEdit: userOf(c).Can("admin", "manager"),
		CompanyOf: map[string]string{}, FloorOf: map[string]string{}}
	if d.Companies, err = s.app.Directory.Companies(true); err != nil {
		return err
	}
	if d.Floors, err = s.app.Directory.Floors(true); err != nil {
		return err
	}
	for _, co := range d.Companies {
		d.CompanyOf[co.ID] = co.Name
	}
	for _, f := range d.Floors {
		d.FloorOf[f.ID] = f.Name
	}
	base := url.Values{}
	for _, k := range []string{"q", "company", "floor", "kind", "inactive"} {
		if v := c.QueryParam(k); v != "" {
			base.Set(k, v)
		}
	}
	d.Pager = views.Pager{Offset: q.Offset, Limit: q.Limit, Total: pg.Total, Base: base, Path: "/directory/people"}
	d.QueryStr = base.Encode()
	return s.render(c, http.StatusOK, views.People(d))
}

func (s *Server) personFormData(p directory.Person, isNew bool, errs field.Errors) (views.PersonFormData, error) {
	d := views.PersonFormData{Person: p, New: isNew, Errs: errs}
	var err error
	if d.Companies, err = s.app.Directory.Companies(false); err != nil {
		return d, err
	}
	d.Floors, err = s.app.Directory.Floors(false)
	return d, err
}

func (s *Server) personNew(c echo.Context) error {
	d, err := s.personFormData(directory.Person{Kind: directory.Employee, CanHost: true}, true, nil)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.PersonForm(d))
}

func (s *Server) personEdit(c echo.Context) error {
	p, err := s.app.Directory.Person(c.Param("id"))
	if err != nil {
		return err
	}
	if p.Mobile, err = s.app.Directory.Mobile(p); err != nil {
		return err
	}
	if p.Email, err = s.app.Directory.Email(p); err != nil {
		return err
	}
	d, err := s.personFormData(p, false, nil)
	if err != nil {
		return err
	}
	if err := s.withFace(&d); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.PersonForm(d))
}

func personFromForm(c echo.Context) directory.Person {
	p := directory.Person{
		Kind:        directory.Kind(c.FormValue("kind")),
		Name:        c.FormValue("name"),
		EnglishName: c.FormValue("english_name"),
		Mobile:      c.FormValue("mobile"),
		Email:       c.FormValue("email"),
		Notify:      c.FormValue("notify"),
		CompanyID:   c.FormValue("company_id"),
		FloorID:     c.FormValue("floor_id"),
		EmployeeNo:  c.FormValue("employee_no"),
		Position:    c.FormValue("position"),
		CanHost:     c.FormValue("can_host") == "1",
	}
	if p.Kind != directory.Staff {
		p.Kind = directory.Employee
	}
	return p
}

func (s *Server) savePerson(c echo.Context, p directory.Person, isNew bool) error {
	saved, err := s.app.Directory.SavePerson(c.Request().Context(), actor(c), p)
	if es, ok := field.As(err); ok {
		d, derr := s.personFormData(saved, isNew, es)
		if derr != nil {
			return derr
		}
		return s.render(c, http.StatusUnprocessableEntity, views.PersonForm(d))
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/directory/people?q="+url.QueryEscape(saved.Name)+"&kind="+string(saved.Kind))
}

func (s *Server) personCreate(c echo.Context) error {
	return s.savePerson(c, personFromForm(c), true)
}

func (s *Server) personUpdate(c echo.Context) error {
	p := personFromForm(c)
	p.ID = c.Param("id")
	return s.savePerson(c, p, false)
}

func (s *Server) personActive(c echo.Context) error {
	id := c.Param("id")
	if err := s.app.Directory.SetPersonActive(c.Request().Context(), actor(c), id, c.FormValue("active") == "1"); err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/directory/people/"+id+"/edit")
}
