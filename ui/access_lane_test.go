package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/ui/i18n"
)

// The lane form for a lift car: each mistake in the floor map is a field
// error in the page's language, never a 500, and a good map is saved and
// drawn.
func TestLaneFormElevator(t *testing.T) {
	h := newHarness(t)
	f := newAccessFixture(t, h)
	ctx := context.Background()
	f1, err := h.app.Directory.SaveFloor(ctx, "test", directory.Floor{Name: "1F", Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	f2, err := h.app.Directory.SaveFloor(ctx, "test", directory.Floor{Name: "2F", Level: 2, Common: true})
	if err != nil {
		t.Fatal(err)
	}
	lift := func(extra url.Values) url.Values {
		v := url.Values{"name": {"Car A"}, "zone_id": {f.zone.ID}, "kind": {"elevator"}}
		for k, vs := range extra {
			v[k] = vs
		}
		return v
	}
	c1, c2 := "coil_"+f1.ID, "coil_"+f2.ID
	tests := []struct {
		name  string
		form  url.Values
		field string
		code  string
		arg   string
	}{
		{"no floor mapped", lift(nil), "floors", "err.elevator_no_floors", ""},
		{"output in words", lift(url.Values{c1: {"one"}}), "floors", "err.not_a_number", ""},
		{"output past the board", lift(url.Values{c1: {"65"}}), "floors", "err.elevator_coil_range", "1–64"},
		{"output zero", lift(url.Values{c1: {"0"}}), "floors", "err.elevator_coil_range", "1–64"},
		{"one output for two floors", lift(url.Values{c1: {"3"}, c2: {"3"}}), "floors", "err.elevator_coil_twice", "3"},
		{"release time in words", lift(url.Values{c1: {"1"}, "release_s": {"soon"}}), "release_s", "", ""},
		{"release time too long", lift(url.Values{c1: {"1"}, "release_s": {"301"}}), "release_s", "", ""},
		{"unknown kind", url.Values{"name": {"L"}, "zone_id": {f.zone.ID}, "kind": {"escalator"}}, "kind", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, lang := range []i18n.Lang{i18n.EN, i18n.ZH} {
				hl := "en"
				if lang == i18n.ZH {
					hl = "zh-CN"
				}
				resp := h.do(req{method: "POST", path: "/access/lanes", form: tc.form, session: h.session(auth.Manager), header: map[string]string{"Accept-Language": hl}})
				body := readBody(t, resp)
				if resp.StatusCode != http.StatusUnprocessableEntity {
					t.Fatalf("%s: status %d, want 422", hl, resp.StatusCode)
				}
				if !strings.Contains(body, `id="e-`+tc.field+`"`) {
					t.Fatalf("%s: no error shown at %s", hl, tc.field)
				}
				if tc.code != "" {
					var args []any
					if tc.arg != "" {
						args = append(args, tc.arg)
					}
					if msg := lang.T(tc.code, args...); !strings.Contains(body, msg) {
						t.Fatalf("%s: page does not say %q", hl, msg)
					}
				}
			}
		})
	}

	// A good map is saved and the lanes page draws it, each floor with its output.
	resp := h.do(req{method: "POST", path: "/access/lanes", form: lift(url.Values{c1: {"2"}, c2: {"1"}, "release_s": {"15"}}), session: h.session(auth.Manager)})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d: %s", resp.StatusCode, readBody(t, resp))
	}
	ls, err := h.app.Access.Lanes()
	if err != nil {
		t.Fatal(err)
	}
	var car access.Lane
	for _, l := range ls {
		if l.Name == "Car A" {
			car = l
		}
	}
	if car.Kind != access.LaneElevator || car.ReleaseS != 15 || len(car.Floors) != 2 || car.Coils()[f1.ID] != 2 || car.Coils()[f2.ID] != 1 {
		t.Fatalf("saved %+v", car)
	}
	resp = h.do(req{method: "GET", path: "/access/lanes?edit=" + car.ID, session: h.session(auth.Manager), header: map[string]string{"Accept-Language": "en"}})
	body := readBody(t, resp)
	for _, want := range []string{`id="lift-` + car.ID + `"`, "1F · 2", "2F · 1", i18n.EN.T("lift.no_board"), `name="` + c1 + `" value="2"`} {
		if !strings.Contains(body, want) {
			t.Errorf("lanes page lacks %q", want)
		}
	}
	// A lane stored before lifts (no kind) stays a gate, and saving it as one clears any map.
	if f.lane.Kind != access.LaneGate || f.lane.Floors != nil {
		t.Fatalf("gate lane %+v", f.lane)
	}
}
