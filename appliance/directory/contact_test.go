package directory

import (
	"context"
	"strings"
	"testing"
)

// TestContactSealedAndKept: a person's email address is checked, sealed
// in the store and opened by Email; the preference is kept with it.
func TestContactSealedAndKept(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	csv := "姓名,手机,公司,楼层,工号,可接待\n王磊,13912345678,Acme,1F,C-1,yes\n"
	if _, err := f.svc.ImportEmployeesCSV(ctx, "t", []byte(csv), nil); err != nil {
		t.Fatal(err)
	}
	hs, err := f.svc.Hosts(HostQuery{Text: "王磊"}, true)
	if err != nil || len(hs) != 1 {
		t.Fatal(err)
	}
	id := hs[0].ID
	if _, err := f.svc.SetContact(ctx, "t", id, "wang lei@example", NotifyEmail); err == nil {
		t.Error("a malformed address was taken")
	}
	if _, err := f.svc.SetContact(ctx, "t", id, "", NotifyBoth); err == nil {
		t.Error("email chosen with no address was taken")
	}
	if _, err := f.svc.SetContact(ctx, "t", id, "leo@example.com", NotifyBoth); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.Person(id)
	if err != nil {
		t.Fatal(err)
	}
	if e, err := f.svc.Email(p); err != nil || e != "leo@example.com" || p.Notify != NotifyBoth || !p.CanHost {
		t.Fatalf("after saving: %q %q (%v)", e, p.Notify, err)
	}
	if strings.Contains(p.EmailSealed, "leo@") {
		t.Fatal("the address is stored in clear")
	}
}
