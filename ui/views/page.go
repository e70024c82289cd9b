// Package views holds the templ components of the web pages. Components
// read the page's common facts (language, CSRF token, who is signed in)
// from the context, so handlers only pass what is particular to a page.
package views

import (
	"context"
	"net/url"
	"strconv"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// User is who is signed in.
type User struct {
	ID       string
	Username string
	Name     string
	Role     auth.Role
}

// Can reports whether the user has one of roles.
func (u *User) Can(roles ...auth.Role) bool {
	if u == nil {
		return false
	}
	for _, r := range roles {
		if u.Role == r {
			return true
		}
	}
	return false
}

// Page is what every page needs.
type Page struct {
	Lang     i18n.Lang
	CSRF     string
	User     *User
	Site     string
	Path     string // current path with query, for the language switch
	Location *time.Location
	Asset    func(name string) string // checksummed static URL
	Flash    string                   // a message key shown once
	Corrupt  string                   // where the store found corruption, shown to administrators on every page

	BaseURLMissing bool // the appliance's public address is not set: pages that send links warn (BaseURLWarning)

	CutOff string // since when this lobby cannot reach the rest of its site ("" while it can): every signed-in page says so
}

type pageKey struct{}

// WithPage returns ctx carrying p (and p's language for i18n.From).
func WithPage(ctx context.Context, p *Page) context.Context {
	return i18n.With(context.WithValue(ctx, pageKey{}, p), p.Lang)
}

func page(ctx context.Context) *Page {
	if p, ok := ctx.Value(pageKey{}).(*Page); ok {
		return p
	}
	return &Page{Lang: i18n.ZH, Asset: func(n string) string { return "/static/" + n }, Location: time.UTC}
}

// T translates key in the page's language.
func T(ctx context.Context, key string, args ...any) string { return i18n.From(ctx).T(key, args...) }

// Command names an audit entry's command type in the page's language.
func Command(ctx context.Context, typ string) string { return i18n.From(ctx).Command(typ) }

func fieldErr(ctx context.Context, es field.Errors, name string) string {
	e := es.For(name)
	if e.Code == "" {
		return ""
	}
	return i18n.From(ctx).Field(e)
}

func roleName(ctx context.Context, r auth.Role) string { return T(ctx, "role."+string(r)) }

func fmtTime(ctx context.Context, ns int64) string {
	if ns == 0 {
		return "—"
	}
	return time.Unix(0, ns).In(page(ctx).Location).Format("2006-01-02 15:04")
}

func fmtTimeT(ctx context.Context, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(page(ctx).Location).Format("2006-01-02 15:04")
}

func itoa(n int) string { return strconv.Itoa(n) }

func i64(n int64) string { return strconv.FormatInt(n, 10) }

func u64(n uint64) string { return strconv.FormatUint(n, 10) }

// Pager describes the pages of a listing.
type Pager struct {
	Offset, Limit, Total int
	Base                 url.Values // query without offset
	Path                 string
}

func (p Pager) link(offset int) string {
	q := url.Values{}
	for k, v := range p.Base {
		q[k] = v
	}
	q.Set("offset", strconv.Itoa(offset))
	return p.Path + "?" + q.Encode()
}

func (p Pager) summary(ctx context.Context) string {
	if p.Total == 0 {
		return T(ctx, "list.empty")
	}
	return T(ctx, "list.showing", p.Offset+1, min(p.Offset+p.Limit, p.Total), p.Total)
}

// visitorName is a visitor's name, or the mark of the retention purge that
// removed it.
func visitorName(ctx context.Context, v visit.Visitor) string {
	if v.Purged != 0 {
		return T(ctx, "visit.purged", time.Unix(0, v.Purged).In(page(ctx).Location).Format("2006-01-02"))
	}
	return v.Name
}

// holderName is a credential holder's name, or the mark of the retention
// purge that removed it (appliance/access/purge.go).
func holderName(ctx context.Context, c access.Credential) string {
	if c.Purged != 0 && c.HolderName == "" {
		return T(ctx, "person.purged", time.Unix(0, c.Purged).In(page(ctx).Location).Format("2006-01-02"))
	}
	return c.HolderName
}
