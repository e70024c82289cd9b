package ui

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/ui/views"
)

func (s *Server) floorNames() (map[string]string, error) {
	fs, err := s.app.Directory.Floors(true)
	m := map[string]string{}
	for _, f := range fs {
		m[f.ID] = f.Name
	}
	return m, err
}

func (s *Server) companies(c echo.Context) error {
	cs, err := s.app.Directory.Companies(true)
	if err != nil {
		return err
	}
	fo, err := s.floorNames()
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, views.Companies(views.CompaniesData{Companies: cs, FloorOf: fo, CanEdit: userOf(c).Can("admin", "manager")}))
}

func (s *Server) companyForm(c echo.Context, status int, co directory.Company, isNew bool, errs field.Errors) error {
	fs, err := s.app.Directory.Floors(false)
	if err != nil {
		return err
	}
	return s.render(c, status, views.CompanyForm(views.CompanyFormData{Company: co, New: isNew, Errs: errs, Floors: fs}))
}

func (s *Server) companyNew(c echo.Context) error {
	return s.companyForm(c, http.StatusOK, directory.Company{}, true, nil)
}

func (s *Server) companyEdit(c echo.Context) error {
	co, err := s.app.Directory.Company(c.Param("id"))
	if err != nil {
		return err
	}
	return s.companyForm(c, http.StatusOK, co, false, nil)
}

func companyFromForm(c echo.Context) directory.Company {
	co := directory.Company{Name: c.FormValue("name"), Phone: c.FormValue("phone")}
	if f, err := c.FormParams(); err == nil {
		co.FloorIDs = f["floor_ids"]
	}
	return co
}

func (s *Server) saveCompany(c echo.Context, co directory.Company, isNew bool) error {
	saved, err := s.app.Directory.SaveCompany(c.Request().Context(), actor(c), co)
	if es, ok := field.As(err); ok {
		return s.companyForm(c, http.StatusUnprocessableEntity, saved, isNew, es)
	}
	if err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/directory/companies")
}

func (s *Server) companyCreate(c echo.Context) error {
	return s.saveCompany(c, companyFromForm(c), true)
}

func (s *Server) companyUpdate(c echo.Context) error {
	co := companyFromForm(c)
	co.ID = c.Param("id")
	return s.saveCompany(c, co, false)
}

func (s *Server) companyActive(c echo.Context) error {
	id := c.Param("id")
	if err := s.app.Directory.SetCompanyActive(c.Request().Context(), actor(c), id, c.FormValue("active") == "1"); err != nil {
		return err
	}
	s.flash(c, "flash.saved")
	return s.redirect(c, "/directory/companies")
}
