package directory

import (
	"context"
	"errors"
	"testing"

	"gatehouse/appliance/store"
)

// StandingOf follows the person's and the company's activation, both ways,
// and leaves staff out of company deactivations.
func TestStandingFollowsActivation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	emp, err := f.svc.SavePerson(ctx, "t", Person{Kind: Employee, Name: "Wang", Mobile: "13800138000", CompanyID: f.acme.ID,
		FloorID: f.floors["1F"].ID, EmployeeNo: "A1"})
	if err != nil {
		t.Fatal(err)
	}
	staff, err := f.svc.SavePerson(ctx, "t", Person{Kind: Staff, Name: "Li", Mobile: "13800138001"})
	if err != nil {
		t.Fatal(err)
	}
	standing := func(id string) Standing {
		t.Helper()
		var s Standing
		if err := f.st.View(func(r *store.Reader) error { s, err = StandingOf(r, id); return err }); err != nil {
			t.Fatal(err)
		}
		return s
	}
	steps := []struct {
		name      string
		do        func() error
		emp, staf Standing
	}{
		{"both active", func() error { return nil }, Good, Good},
		{"employee deactivated", func() error { return f.svc.SetPersonActive(ctx, "t", emp.ID, false) }, PersonInactive, Good},
		{"company deactivated too", func() error { return f.svc.SetCompanyActive(ctx, "t", f.acme.ID, false) }, PersonInactive, Good},
		{"employee reactivated", func() error { return f.svc.SetPersonActive(ctx, "t", emp.ID, true) }, CompanyInactive, Good},
		{"company reactivated", func() error { return f.svc.SetCompanyActive(ctx, "t", f.acme.ID, true) }, Good, Good},
		{"staff deactivated", func() error { return f.svc.SetPersonActive(ctx, "t", staff.ID, false) }, Good, PersonInactive},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got, got2 := standing(emp.ID), standing(staff.ID); got != s.emp || got2 != s.staf {
			t.Fatalf("%s: employee %d, staff %d; want %d, %d", s.name, got, got2, s.emp, s.staf)
		}
	}
	err = f.st.View(func(r *store.Reader) error { _, err := StandingOf(r, "nobody0000000000"); return err })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown person: %v", err)
	}
}
