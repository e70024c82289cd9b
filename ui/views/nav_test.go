package views

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"gatehouse/appliance/auth"
)

// One link of the navigation is the current page: the item whose prefix
// matches the page longest ("/reports/attendance" is the attendance
// report, not also "/reports"), and a query does not unmark it.
func TestNavMarksTheLongestMatchOnly(t *testing.T) {
	current := regexp.MustCompile(`<a [^>]*aria-current="page"[^>]*>`)
	id := regexp.MustCompile(`id="([^"]*)"`)
	for _, tc := range []struct{ path, want string }{
		{"/reports/attendance", "nav-attendance"},
		{"/reports/attendance/2026-11", "nav-attendance"},
		{"/reports", "nav-reports"},
		{"/reports?from=2026-11-01", "nav-reports"},
		{"/reports/visits", "nav-reports"},
		{"/desk/today", "nav-today"},
		{"/", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ctx := WithPage(context.Background(), &Page{Path: tc.path, Asset: func(n string) string { return n }})
			var b strings.Builder
			if err := Nav(&User{Name: "Admin", Role: auth.Admin}).Render(ctx, &b); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range current.FindAllString(b.String(), -1) {
				m := id.FindStringSubmatch(a)
				if m == nil {
					got = append(got, a)
				} else {
					got = append(got, m[1])
				}
			}
			if tc.want == "" && len(got) != 0 || tc.want != "" && (len(got) != 1 || got[0] != tc.want) {
				t.Fatalf("current links %q, want only %q", got, tc.want)
			}
		})
	}
}
