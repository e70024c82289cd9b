package visit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/screen"
	"gatehouse/appliance/store"
)

func TestScreeningAtBooking(t *testing.T) {
	f := newFixture(t)
	screen.Register(f.st)
	sc := screen.New(f.st, f.clk, f.keys)
	f.svc.WithScreener(sc)
	ctx := context.Background()
	add := func(in screen.Input) {
		t.Helper()
		if _, err := sc.Add(ctx, "account:mgr", in); err != nil {
			t.Fatal(err)
		}
	}
	add(screen.Input{List: screen.Black, Mobile: "13600136000", Reason: "threatened staff"})
	add(screen.Input{List: screen.Black, Name: "Wang Wei", Reason: "name on police notice"})
	add(screen.Input{List: screen.White, Mobile: "13500135000", Reason: "regular contractor"})
	add(screen.Input{List: screen.Black, Mobile: "13400134000", Reason: "expired ban", Expires: f.clk.Now().Add(time.Hour)})

	book := func(name, mobile string) (Visit, error) {
		q := f.request()
		q.Name, q.Mobile = name, mobile
		v, _, err := f.svc.Book(ctx, q)
		return v, err
	}
	// Blacklisted mobile: refused, nothing booked, the desk sees the hit.
	if _, err := book("Anyone", "136 0013 6000"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("blacklisted mobile: %v", err)
	}
	// A name match alone flags the visit but does not refuse it.
	v, err := book("wang  WEI", "13700137000")
	if err != nil || v.Flag != "name on police notice" || v.State != Requested {
		t.Fatalf("name match: %+v %v", v, err)
	}
	// Whitelisted, phone not proven: the host decides, told of the list.
	v, err = book("Contractor", "13500135000")
	if err != nil || v.State != Requested || v.PassID != "" || !v.Whitelisted {
		t.Fatalf("whitelisted, phone not proven: %+v %v", v, err)
	}
	// Whitelisted with the phone proven: approved at once, with a pass.
	q := f.request()
	q.Name, q.Mobile, q.PhoneVerified = "Contractor", "13500135000", true
	if v, _, err = f.svc.Book(ctx, q); err != nil || v.State != Approved || v.PassID == "" {
		t.Fatalf("whitelisted, phone proven: %+v %v", v, err)
	}
	// An expired entry matches nothing.
	f.clk.Advance(2 * time.Hour)
	if _, err := book("Former", "13400134000"); err != nil {
		t.Fatalf("expired blacklist entry still blocks: %v", err)
	}
	hits, _ := sc.Hits(10)
	blocked, flagged := 0, 0
	for _, h := range hits {
		switch {
		case h.Blocked && h.VisitID == "":
			blocked++
		case !h.Blocked && h.VisitID != "":
			flagged++
		}
	}
	if len(hits) != 2 || blocked != 1 || flagged != 1 {
		t.Fatalf("hits = %+v", hits)
	}
	// Removing an entry lifts it.
	es, _ := sc.Entries()
	for _, e := range es {
		if e.Reason == "threatened staff" {
			if err := sc.Remove(ctx, "account:mgr", e.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := book("Anyone", "13600136000"); err != nil {
		t.Fatalf("removed entry still blocks: %v", err)
	}
	// Nothing personal in clear in the lists either.
	_ = f.st.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindScreen), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			if strings.Contains(string(v), "13600136000") || strings.Contains(string(v), "13500135000") {
				t.Errorf("screening entry holds a mobile in clear: %s", v)
			}
			return true, nil
		})
	})
}

func TestScreeningEntryValidation(t *testing.T) {
	f := newFixture(t)
	screen.Register(f.st)
	sc := screen.New(f.st, f.clk, f.keys)
	for _, in := range []screen.Input{
		{List: screen.Black, Reason: "no match given"},
		{List: screen.Black, Mobile: "12ab", Reason: "bad mobile"},
		{List: screen.Black, IDNo: "12", Reason: "bad id"},
		{List: screen.White, Name: "Only A Name", Reason: "too weak to whitelist"},
		{List: screen.Black, Mobile: "13600136000"},
		{List: "grey", Mobile: "13600136000", Reason: "x"},
	} {
		if _, err := sc.Add(context.Background(), "t", in); err == nil {
			t.Errorf("accepted %+v", in)
		}
	}
}
