package views

import (
	"context"
	"strings"

	"gatehouse/appliance/auth"
)

// The navigation is grouped by task, each group a menu that opens without
// JavaScript (<details>): the desk's day, the gates, the building, the
// numbers and the administration. A role sees the groups it has work in; a
// group with one link for a role is that link, and a host's two pages are
// plain links. Every group also claims the pages under its prefixes (a
// visit opened from the desk's list keeps the Desk group marked).
type navGroup struct {
	key      string // nav.group.<key>; "" for plain links
	prefixes []string
	items    []navItem
}

type navItem struct {
	href, label, id string
	prefix          string // the pages that mark the link active
}

func navGroups(u *User) []navGroup {
	if u == nil {
		return nil
	}
	staff := u.Can(auth.Admin, auth.Manager, auth.Reception)
	directors := u.Can(auth.Admin, auth.Manager)
	var gs []navGroup
	add := func(g navGroup) {
		if len(g.items) > 0 {
			gs = append(gs, g)
		}
	}
	if u.Can(auth.Host) {
		add(navGroup{items: []navItem{
			{href: "/host/visits", label: "host.title", prefix: "/host"},
			{href: "/my/pass", label: "mypass.title", prefix: "/my/pass"},
		}})
	}
	if !staff {
		return gs
	}
	desk := navGroup{key: "desk", prefixes: []string{"/desk", "/screening"}, items: []navItem{
		{href: "/desk/today", label: "today.title", id: "nav-today", prefix: "/desk/today"},
		{href: "/desk/walkin", label: "nav.walkin", id: "nav-walkin", prefix: "/desk/walkin"},
		{href: "/desk/records", label: "records.title", prefix: "/desk/records"},
		{href: "/desk/visitors", label: "visitors.title", id: "nav-visitors", prefix: "/desk/visitors"},
		{href: "/desk/conferences", label: "conference.title", prefix: "/desk/conferences"},
		{href: "/screening", label: "screen.title", prefix: "/screening"},
	}}
	gates := navGroup{key: "gates", prefixes: []string{"/guard", "/access"}, items: []navItem{
		{href: "/guard", label: "guard.title", id: "nav-guard", prefix: "/guard"},
		{href: "/access/credentials", label: "nav.cards", prefix: "/access"},
	}}
	building := navGroup{key: "building", prefixes: []string{"/directory", "/keys", "/stock", "/notices", "/messages"}, items: []navItem{
		{href: "/directory/people", label: "nav.directory", prefix: "/directory"},
		{href: "/keys", label: "nav.keys", prefix: "/keys"},
		{href: "/stock", label: "nav.stock", prefix: "/stock"},
	}}
	reports := navGroup{key: "reports", prefixes: []string{"/flow", "/reports"}, items: []navItem{
		{href: "/flow", label: "flow.title", id: "nav-flow", prefix: "/flow"},
	}}
	if directors {
		building.items = append(building.items,
			navItem{href: "/notices", label: "notice.title", id: "nav-notices", prefix: "/notices"},
			navItem{href: "/messages", label: "message.title", id: "nav-messages", prefix: "/messages"})
		reports.items = append(reports.items, navItem{href: "/reports", label: "reports.title", id: "nav-reports", prefix: "/reports"},
			navItem{href: "/reports/attendance", label: "attendance.title", id: "nav-attendance", prefix: "/reports/attendance"})
	}
	add(desk)
	add(gates)
	add(building)
	add(reports)
	if u.Can(auth.Admin) {
		add(navGroup{key: "admin", prefixes: []string{"/admin"}, items: []navItem{
			{href: "/admin/devices", label: "devices.title", prefix: "/admin/devices"},
			{href: "/admin/settings", label: "settings.title", id: "nav-settings", prefix: "/admin/settings"},
			{href: "/admin/notify", label: "notify.title", prefix: "/admin/notify"},
			{href: "/admin/backups", label: "backup.title", prefix: "/admin/backups"},
			{href: "/admin/cluster", label: "cluster.title", prefix: "/admin/cluster"},
			{href: "/admin/accounts", label: "nav.accounts", prefix: "/admin/accounts"},
			{href: "/admin/tokens", label: "nav.tokens", prefix: "/admin/tokens"},
			{href: "/admin/audit", label: "nav.audit", prefix: "/admin/audit"},
		}})
	}
	return gs
}

// navHere reports whether the page is under prefix: "/guard" marks
// "/guard/muster", not "/guardian". The page's query is not its place.
func navHere(ctx context.Context, prefix string) bool {
	return pathUnder(page(ctx).Path, prefix)
}

func pathUnder(p, prefix string) bool {
	p, _, _ = strings.Cut(p, "?")
	return p == prefix || strings.HasPrefix(p, strings.TrimSuffix(prefix, "/")+"/")
}

// navCurrent is the prefix of the one link marked as the current page: of
// the links the page is under, the one whose prefix is longest — on
// "/reports/attendance" the attendance report, not also "/reports". ""
// when the page is under none.
func navCurrent(ctx context.Context, gs []navGroup) string {
	cur := ""
	for _, g := range gs {
		for _, it := range g.items {
			if len(it.prefix) > len(cur) && navHere(ctx, it.prefix) {
				cur = it.prefix
			}
		}
	}
	return cur
}

func (g navGroup) here(ctx context.Context) bool {
	for _, p := range g.prefixes {
		if navHere(ctx, p) {
			return true
		}
	}
	for _, it := range g.items {
		if navHere(ctx, it.prefix) {
			return true
		}
	}
	return false
}
