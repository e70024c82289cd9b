package ui

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/ui/views"
)

// The employees' sign-up (appliance/signup.go): a public page, linked from
// the sign-in page, where an employee in the directory proves their mobile
// with a code and chooses a username and password. Its answers never say
// whether a number is known; both posts are rate-limited per client
// address (ratelimit.go) and the number's requests per number.

func (s *Server) signupPage(c echo.Context) error {
	if userOf(c) != nil {
		return s.redirect(c, "/")
	}
	return s.render(c, http.StatusOK, views.Signup(views.SignupData{NoSMS: !s.app.SignupReady()}))
}

func (s *Server) signupStart(c echo.Context) error {
	mobile := c.FormValue("mobile")
	if len(mobile) > 32 {
		mobile = mobile[:32]
	}
	d := views.SignupData{Mobile: mobile}
	ticket, err := s.app.StartSignup(c.Request().Context(), mobile, string(langOf(c)))
	if errors.Is(err, appliance.ErrSignupUnavailable) {
		d.NoSMS = true
		return s.render(c, http.StatusOK, views.Signup(d)) // a state of the site, not a failure
	}
	if fe, ok := field.As(err); ok {
		d.Errs = fe
		return s.render(c, http.StatusUnprocessableEntity, views.Signup(d))
	}
	if err != nil {
		return err
	}
	d.Ticket = ticket
	return s.render(c, http.StatusOK, views.Signup(d))
}

func (s *Server) signupVerify(c echo.Context) error {
	f := appliance.SignupForm{Ticket: c.FormValue("ticket"), Code: strings.TrimSpace(c.FormValue("code")),
		Username: c.FormValue("username"), Password: c.FormValue("password")}
	d := views.SignupData{Ticket: f.Ticket, Username: f.Username}
	if len(f.Ticket) > 64 || len(f.Code) > 16 || len(f.Username) > 64 || len(f.Password) > auth.MaxPassword*4 {
		d.Errs = field.Errors{{Field: "code", Code: "code_wrong", Arg: "0"}}
		return s.render(c, http.StatusUnprocessableEntity, views.Signup(d))
	}
	a, err := s.app.ConfirmSignup(c.Request().Context(), f)
	if fe, ok := field.As(err); ok {
		d.Errs = fe
		d.Ended = !s.app.SignupPending(f.Ticket)
		return s.render(c, http.StatusUnprocessableEntity, views.Signup(d))
	}
	if err != nil {
		return err
	}
	s.log.Info("an employee activated their host account", "account", a.ID)
	if err := s.startSession(c, a); err != nil {
		return err
	}
	s.flash(c, "flash.signed_up")
	return s.redirect(c, landing(a.Role))
}
