package access

import (
	"reflect"
	"testing"
	"time"
)

func TestReleasedFloors(t *testing.T) {
	m := []FloorCoil{{"B1", 1}, {"L1", 2}, {"F10", 3}, {"F11", 4}, {"F12", 5}, {"F20", 6}}
	tests := []struct {
		name string
		f    FloorFacts
		want []string
	}{
		{"visitor gets the host's floor only", FloorFacts{Visitor: true, HostFloor: "F11", Company: []string{"F10"}, Common: []string{"L1"}, Map: m}, []string{"F11"}},
		{"visitor whose floor is not on this car", FloorFacts{Visitor: true, HostFloor: "F30", Map: m}, nil},
		{"visitor without a floor", FloorFacts{Visitor: true, Map: m}, nil},
		{"employee: company floors plus common", FloorFacts{Company: []string{"F12", "F10"}, Common: []string{"L1", "B1"}, Map: m}, []string{"B1", "L1", "F10", "F12"}},
		{"groups narrow the company floors, common stays", FloorFacts{Company: []string{"F10", "F11"}, Restrict: []string{"F11", "F20"}, Common: []string{"L1"}, Map: m}, []string{"L1", "F11"}},
		{"groups naming no company floor leave common only", FloorFacts{Company: []string{"F10"}, Restrict: []string{"F20"}, Common: []string{"L1"}, Map: m}, []string{"L1"}},
		{"no company: the groups' floors plus common", FloorFacts{Restrict: []string{"F20"}, Common: []string{"L1"}, Map: m}, []string{"L1", "F20"}},
		{"no company, no group floors: common only", FloorFacts{Common: []string{"B1"}, Map: m}, []string{"B1"}},
		{"floors off the map are not released", FloorFacts{Company: []string{"F30", "F31"}, Map: m}, nil},
		{"empty map releases nothing", FloorFacts{Company: []string{"F10"}, Common: []string{"L1"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ReleasedFloors(tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ReleasedFloors = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecideElevator(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	m := []FloorCoil{{"L1", 1}, {"F10", 2}}
	base := Facts{Now: now, LaneKnown: true, Entry: true, Found: true, State: Active, Permitted: true, Elevator: true}
	tests := []struct {
		name   string
		floors FloorFacts
		grant  bool
		reason Reason
		want   []string
	}{
		{"granted with the floors", FloorFacts{Company: []string{"F10"}, Common: []string{"L1"}, Map: m}, true, Granted, []string{"L1", "F10"}},
		{"a car going nowhere is refused", FloorFacts{Company: []string{"F30"}, Map: m}, false, NoPermission, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			f.Floors = tt.floors
			d := Decide(f)
			if d.Grant != tt.grant || d.Reason != tt.reason || !reflect.DeepEqual(d.Floors, tt.want) {
				t.Fatalf("Decide = %+v, want grant %v %s %v", d, tt.grant, tt.reason, tt.want)
			}
		})
	}
	// A refusal for other reasons stays that refusal and releases nothing.
	f := base
	f.State = StateLost
	f.Floors = FloorFacts{Company: []string{"F10"}, Map: m}
	if d := Decide(f); d.Grant || d.Reason != Lost || d.Floors != nil {
		t.Fatalf("lost card at a lift: %+v", d)
	}
	// Gates carry no floors.
	f = base
	f.Elevator = false
	if d := Decide(f); !d.Grant || d.Floors != nil {
		t.Fatalf("gate: %+v", d)
	}
}
