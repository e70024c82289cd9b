package ui

import (
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
	"gatehouse/ui/views"
)

// auditNames names the actors and records of audit entries: accounts by
// name and account, directory people by name, visits by their visitor,
// credentials by their holder, companies, floors, lanes, devices,
// conferences and tokens by name. A record that is gone, purged or of a
// kind without a name gets a neutral label; the page keeps the reference
// in a title attribute, never as the only text. Lookups are cached for
// one page or one export.
type auditNames struct {
	s     *Server
	l     i18n.Lang
	cache map[string]string
	lists map[string]map[string]string // kind -> id -> name, for kinds read whole
}

func (s *Server) newAuditNames(c echo.Context) *auditNames {
	return &auditNames{s: s, l: langOf(c), cache: map[string]string{}, lists: map[string]map[string]string{}}
}

// list loads a small kind whole (accounts, tokens, lanes, devices).
func (n *auditNames) list(kind string) map[string]string {
	if m, ok := n.lists[kind]; ok {
		return m
	}
	m := map[string]string{}
	switch kind {
	case "account":
		as, _ := n.s.app.Auth.Accounts()
		for _, a := range as {
			m[a.ID] = a.Name + " (" + a.Username + ")"
			if a.Name == "" || a.Name == a.Username {
				m[a.ID] = a.Username
			}
		}
	case "token":
		ts, _ := n.s.app.Auth.Tokens()
		for _, t := range ts {
			m[t.ID] = n.l.T("audit.token", t.Name)
		}
	case "lane":
		ls, _ := n.s.app.Access.Lanes()
		for _, l := range ls {
			m[l.ID] = l.Name
		}
	case "device":
		ds, _ := n.s.app.Devices.Devices()
		for _, d := range ds {
			m[d.ID] = d.Name
		}
	}
	n.lists[kind] = m
	return m
}

// name is what ref ("account:<id>", "visit:<id>", "system", ...) shows as.
func (n *auditNames) name(r *store.Reader, ref string) string {
	if v, ok := n.cache[ref]; ok {
		return v
	}
	v := n.lookup(r, ref)
	n.cache[ref] = v
	return v
}

func (n *auditNames) lookup(r *store.Reader, ref string) string {
	kind, id, ok := strings.Cut(ref, ":")
	if !ok {
		switch ref {
		case "":
			return ""
		case "system", "anonymous":
			return n.l.T("audit." + ref)
		}
		return ref // a named service ("devices", "screening"), not an ID
	}
	gone := n.l.T("audit.gone")
	purged := func(at int64) string {
		return n.l.T("person.purged", time.Unix(0, at).In(n.s.app.Config.Location).Format(dateLayout))
	}
	var name string
	var err error
	switch kind {
	case "account", "token", "lane", "device":
		name = n.list(kind)[id]
	case "person":
		var p directory.Person
		if p, err = directory.GetPerson(r, id); err == nil {
			name = p.Name
			if p.Purged != 0 {
				name = purged(p.Purged)
			}
		}
	case "company":
		var co directory.Company
		co, err = directory.GetCompany(r, id)
		name = co.Name
	case "floor":
		var f directory.Floor
		f, err = directory.GetFloor(r, id)
		name = f.Name
	case "visit":
		var v visit.Visit
		if v, err = visit.Get(r, id); err == nil {
			name = n.l.T("audit.visit_of", v.Visitor.Name)
			if v.Visitor.Purged != 0 {
				name = purged(v.Visitor.Purged)
			}
		}
	case "conference":
		var m visit.Meeting
		m, err = visit.GetConference(r, id)
		name = m.Name
	case "credential", "cred":
		c, cerr := n.s.app.Access.Credential(id)
		if err = cerr; err == nil {
			name = n.l.T("audit.card_of", c.HolderName)
			if c.Purged != 0 || c.HolderName == "" {
				name = n.l.T("audit.card")
			}
		}
	default:
		return n.l.T("audit.record")
	}
	if err != nil || name == "" {
		return gone // not found, or damaged: the page still shows
	}
	return name
}

// rows resolves es for the page.
func (n *auditNames) rows(es []store.AuditEntry) ([]views.AuditRow, error) {
	out := make([]views.AuditRow, len(es))
	err := n.s.app.Store.View(func(r *store.Reader) error {
		for i, e := range es {
			out[i] = views.AuditRow{Entry: e, Actor: n.name(r, e.Actor), Subject: n.name(r, e.Subject)}
		}
		return nil
	})
	return out, err
}
