package ui

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/field"
	"gatehouse/appliance/notify"
	"gatehouse/ui/views"
)

// notifyKey carries the notification service in a request's context.
type notifyKey struct{}

// WithNotify hands n to the notification pages and the event stream of
// the server behind h. Until the server holds the service itself (see
// notifier), the one who builds the http.Server wraps the handler:
//
//	hs.Handler = ui.WithNotify(srv.Handler(), svc)
func WithNotify(h http.Handler, n *notify.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), notifyKey{}, n)))
	})
}

// notifier is the appliance's notification service, or nil when it runs
// without one (the pages then answer 404). It is the one place to change
// when the service moves onto App or Server.
func (s *Server) notifier(c echo.Context) *notify.Service {
	if n, ok := c.Request().Context().Value(notifyKey{}).(*notify.Service); ok {
		return n // a test's own service (other backoff)
	}
	return s.app.Notify
}

func (s *Server) needNotifier(c echo.Context) (*notify.Service, error) {
	if n := s.notifier(c); n != nil {
		return n, nil
	}
	return nil, echo.ErrNotFound
}

const outboxRows = 50

// notifyRender fills in what every rendering of the page needs besides
// the forms: the outbox, the stored webhook names, account names.
func (s *Server) notifyRender(c echo.Context, n *notify.Service, status int, d views.NotifyData) error {
	var err error
	if d.Outbox, err = n.Outbox(outboxRows); err != nil {
		return err
	}
	stored, err := n.Settings()
	if err != nil {
		return err
	}
	d.HasPassword = stored.SMTP.Password != ""
	d.HasSecret = map[string]bool{}
	for _, h := range stored.Webhooks {
		d.Hooks = append(d.Hooks, h.Name)
		d.HasSecret[h.Name] = h.Secret != ""
	}
	d.Accounts = map[string]string{}
	if as, err := s.app.Auth.Accounts(); err == nil {
		for _, a := range as {
			d.Accounts[a.ID] = a.Username
		}
	}
	return s.render(c, status, views.Notify(d))
}

func (s *Server) notifyPage(c echo.Context) error {
	n, err := s.needNotifier(c)
	if err != nil {
		return err
	}
	set, err := n.Settings()
	if err != nil {
		return err
	}
	for i := range set.Webhooks {
		set.Webhooks[i].Was = set.Webhooks[i].Name
	}
	return s.notifyRender(c, n, http.StatusOK, views.NotifyData{Settings: set})
}

// settingsForm reads the settings form. Empty webhook rows are left out,
// so errors name rows as the form shows them when it comes back.
func settingsForm(c echo.Context) notify.Settings {
	fv := func(k string) string { return strings.TrimSpace(c.FormValue(k)) }
	port := 0
	if p := fv("smtp_port"); p != "" {
		if port, _ = strconv.Atoi(p); port == 0 {
			port = -1 // not a number: out of range
		}
	}
	// The base URL is a site setting now (/admin/settings).
	set := notify.Settings{SMTP: notify.SMTP{
		Host: fv("smtp_host"), Port: port, Username: fv("smtp_username"), Password: c.FormValue("smtp_password"),
		From: fv("smtp_from"), FromName: fv("smtp_from_name"), ClearPassword: c.FormValue("smtp_password_clear") == "1",
	}}
	form, _ := c.FormParams()
	for i := range notify.MaxWebhooks + 2 {
		f := func(k string) string { return fv(notify.HookField(k, i)) }
		h := notify.Hook{Name: f("name"), Kind: notify.HookKind(f("kind")), URL: f("url"), Secret: c.FormValue(notify.HookField("secret", i)),
			Kinds: form[notify.HookField("kinds", i)], Was: f("was"), ClearSecret: f("clear") == "1"}
		if h.Name == "" && h.URL == "" && h.Secret == "" {
			continue
		}
		set.Webhooks = append(set.Webhooks, h)
	}
	return set
}

func (s *Server) notifySave(c echo.Context) error {
	n, err := s.needNotifier(c)
	if err != nil {
		return err
	}
	set := settingsForm(c)
	err = n.SaveSettings(c.Request().Context(), actor(c), set)
	if fe, ok := field.As(err); ok {
		set.SMTP.Password = ""
		return s.notifyRender(c, n, http.StatusUnprocessableEntity, views.NotifyData{Settings: set, Errs: fe})
	}
	if err != nil {
		return err
	}
	s.log.Info("notification settings saved", "by", actor(c))
	s.flash(c, "flash.saved")
	return s.redirect(c, "/admin/notify")
}

// notifyTest queues a test message, in the administrator's language, to
// the administrator's own page, an email address or one webhook.
func (s *Server) notifyTest(c echo.Context) error {
	n, err := s.needNotifier(c)
	if err != nil {
		return err
	}
	l := langOf(c)
	target, to := c.FormValue("test_target"), strings.TrimSpace(c.FormValue("test_to"))
	m := notify.Message{Kind: notify.KindTest, Subject: l.T("notify.test_subject", s.app.Config.SiteName),
		Body: l.T("notify.test_body"), Link: "/admin/notify"}
	var es field.Errors
	switch hook, isHook := strings.CutPrefix(target, "webhook:"); {
	case target == "inpage":
		m.Channel, m.To = notify.InPage, userOf(c).ID
	case target == "email":
		m.Channel, m.To = notify.Email, to
	case isHook && hook != "":
		m.Channel, m.To = notify.Webhook, hook
	default:
		es.Add("test_target", "required")
	}
	if len(es) == 0 {
		_, err = n.Enqueue(c.Request().Context(), actor(c), m)
		if fe, ok := field.As(err); ok {
			for _, e := range fe {
				e.Line = 0
				if e.Field == "to" {
					e.Field = "test_to"
				} else {
					e.Field = "test_target"
				}
				es = append(es, e)
			}
		} else if err != nil {
			return err
		}
	}
	if len(es) > 0 {
		set, err := n.Settings()
		if err != nil {
			return err
		}
		for i := range set.Webhooks {
			set.Webhooks[i].Was = set.Webhooks[i].Name
		}
		return s.notifyRender(c, n, http.StatusUnprocessableEntity, views.NotifyData{Settings: set, TestTarget: target, TestTo: to, TestErrs: es})
	}
	s.flash(c, "flash.notify_test_queued")
	return s.redirect(c, "/admin/notify")
}

func (s *Server) notifyRetry(c echo.Context) error {
	n, err := s.needNotifier(c)
	if err != nil {
		return err
	}
	switch err := n.Retry(c.Request().Context(), actor(c), c.Param("id")); {
	case errors.Is(err, notify.ErrNotFound):
		return echo.ErrNotFound
	case errors.Is(err, notify.ErrState):
		s.flash(c, "flash.notify_not_dead") // retried by someone else meanwhile
	case err != nil:
		return err
	default:
		s.flash(c, "flash.notify_retry")
	}
	return s.redirect(c, "/admin/notify")
}
