package i18n_test

import (
	"context"
	"strings"
	"testing"

	"gatehouse/appliance"
	"gatehouse/appliance/config"
	"gatehouse/ui/i18n"
)

// TestEveryCommandTypeHasAName opens the appliance, so every command type
// its packages register is in the store, and requires an audit-trail name
// for each in both languages: a new command type without one fails here.
func TestEveryCommandTypeHasAName(t *testing.T) {
	app, err := appliance.Open(context.Background(), t.TempDir(), config.Default(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Store.Close()
	types := app.Store.Types()
	if len(types) < 50 {
		t.Fatalf("only %d command types registered: the registry is not what the appliance uses", len(types))
	}
	registered := map[string]bool{}
	for _, typ := range types {
		registered[typ] = true
		key := i18n.CommandKey(typ)
		for _, l := range i18n.Langs {
			if got := l.T(key); got == key || got == "" {
				t.Errorf("%s: no %q (add it to both catalogues)", l.Name(), key)
			}
			if got := l.Command(typ); got == typ {
				t.Errorf("%s: %q is shown as itself", l.Name(), typ)
			}
		}
	}
	for _, k := range i18n.Keys() {
		if typ, ok := strings.CutPrefix(k, i18n.CommandKey("")); ok && !registered[typ] {
			t.Errorf("%q names %q, which no package registers", k, typ)
		}
	}
}

func TestCommandFallsBackToTheType(t *testing.T) {
	for _, l := range i18n.Langs {
		if got := l.Command("nobody.registers.this"); got != "nobody.registers.this" {
			t.Errorf("%s: unnamed type shows as %q, want the type itself", l.Name(), got)
		}
	}
	if got := i18n.EN.Command("visit.approve"); got != "Visit approved" {
		t.Errorf("EN visit.approve = %q", got)
	}
	if got := i18n.ZH.Command("stock.issue"); got != "发放卡片" {
		t.Errorf("ZH stock.issue = %q", got)
	}
}
