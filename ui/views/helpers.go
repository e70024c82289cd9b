package views

import (
	"context"
	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/ui/i18n"
	"path/filepath"
	"strings"
	"time"
)

func langAttr(ctx context.Context) string {
	if page(ctx).Lang == "en" {
		return "en"
	}
	return "zh-CN"
}

func csrfHeader(ctx context.Context) string {
	return `{"X-CSRF-Token":"` + page(ctx).CSRF + `"}`
}

func personAction(d PersonFormData) string {
	if d.New {
		return "/directory/people"
	}
	return "/directory/people/" + d.Person.ID
}

func companyAction(d CompanyFormData) string {
	if d.New {
		return "/directory/companies"
	}
	return "/directory/companies/" + d.Company.ID
}

func companyOptions(cs []directory.Company) []Option {
	out := make([]Option, 0, len(cs))
	for _, c := range cs {
		out = append(out, Option{c.ID, c.Name})
	}
	return out
}

func floorOptions(fs []directory.Floor) []Option {
	out := make([]Option, 0, len(fs))
	for _, f := range fs {
		out = append(out, Option{f.ID, f.Name})
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func accountAction(d AccountFormData) string {
	if d.New {
		return "/admin/accounts"
	}
	return "/admin/accounts/" + d.Account.ID
}

func roleOptions(ctx context.Context) []Option {
	var out []Option
	for _, r := range auth.Roles {
		out = append(out, Option{string(r), roleName(ctx, r)})
	}
	return out
}

// staffRoleOptions are the roles that may be named on a key: the property
// staff, never hosts.
func staffRoleOptions(ctx context.Context) []Option {
	var out []Option
	for _, r := range auth.Roles {
		if r != auth.Host {
			out = append(out, Option{string(r), roleName(ctx, r)})
		}
	}
	return out
}

func fieldText(ctx context.Context, e field.Error) string { return i18n.From(ctx).Field(e) }

// maskMobile shows the first three and last four digits: 138****8000.
func maskMobile(m string) string {
	r := []rune(m)
	if len(r) < 8 {
		return m
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

func titleOptions(ctx context.Context) []Option {
	var out []Option
	for _, t := range []string{"先生", "女士", "Mr", "Ms", "Mrs", "Dr"} {
		out = append(out, Option{t, t})
	}
	return out
}

func sexOptions(ctx context.Context) []Option {
	return []Option{{"M", T(ctx, "walkin.sex_m")}, {"F", T(ctx, "walkin.sex_f")}, {"X", T(ctx, "walkin.sex_x")}}
}

// langOptions are the languages a visitor's messages can be sent in, each
// named in itself.
func langOptions() []Option { return []Option{{"zh", "中文"}, {"en", "English"}} }

func laneOptions(ls []access.Lane) []Option {
	out := make([]Option, 0, len(ls))
	for _, l := range ls {
		out = append(out, Option{l.ID, l.Name})
	}
	return out
}

// baseName is the last element of a path.
func baseName(p string) string { return filepath.Base(p) }

// telDigits is a phone number as a tel: link wants it: digits and a
// leading +, without the spaces, dashes and brackets people write.
func telDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if (r >= '0' && r <= '9') || r == '+' {
			return r
		}
		return -1
	}, s)
}

// weekdayKey is the catalogue key of t's weekday's short name.
func weekdayKey(t time.Time) string {
	return [...]string{"attendance.wd0", "attendance.wd1", "attendance.wd2", "attendance.wd3", "attendance.wd4",
		"attendance.wd5", "attendance.wd6"}[t.Weekday()]
}
