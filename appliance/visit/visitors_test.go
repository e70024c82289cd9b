package visit

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestVisitorsListCountsVisitsPerMobile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Zhao comes three times (the last on day 3), Qian once on day 2, Sun
	// once on day 1.
	for _, v := range []struct {
		name, mobile string
		day          int
	}{{"访客 Zhao", "13800138000", 0}, {"Sun Li", "13700137000", 1}, {"访客 Zhao", "13800138000", 1},
		{"Qian Wu", "13600136000", 2}, {"访客 Zhao", "138 0013 8000", 3}} {
		q := f.request()
		q.Name, q.Mobile = v.name, v.mobile
		q.From, q.Until = q.From.AddDate(0, 0, v.day), q.Until.AddDate(0, 0, v.day)
		if _, _, err := f.svc.Invite(ctx, "account:host", q); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
	}
	list := func(q VisitorQuery) string {
		p, err := f.svc.Visitors(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprint(p.Total)
		for _, r := range p.Rows {
			s += fmt.Sprintf(" %s/%s/%d/%s", r.Latest.Visitor.Name, r.Latest.Visitor.MobileMasked, r.Visits,
				time.Unix(0, r.Latest.From).UTC().Format("01-02"))
		}
		return s
	}
	for _, tt := range []struct {
		q    VisitorQuery
		want string
	}{
		{VisitorQuery{}, "3 访客 Zhao/138****8000/3/11-26 Qian Wu/136****6000/1/11-25 Sun Li/137****7000/1/11-24"},
		{VisitorQuery{Offset: 1, Limit: 1}, "3 Qian Wu/136****6000/1/11-25"},
		{VisitorQuery{Name: "ZHAO"}, "1 访客 Zhao/138****8000/3/11-26"},
		{VisitorQuery{Name: "li", Limit: 5}, "1 Sun Li/137****7000/1/11-24"},
	} {
		if got := list(tt.q); got != tt.want {
			t.Errorf("%+v:\n got %s\nwant %s", tt.q, got, tt.want)
		}
	}
}
