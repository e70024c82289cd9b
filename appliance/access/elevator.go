package access

import (
	"errors"
	"slices"
	"strconv"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Elevators. A lane of kind elevator is a lift car: its reader decides as
// any lane's does, and a grant releases the floors the holder may reach —
// the car's board switches on the outputs that enable those floors'
// buttons, for the lane's release time (drivers/runner, elevator.go).
//
// The floors, by ReleasedFloors:
//
//   - a visitor: the visit's floor (the host's), nothing else;
//   - anyone else: their own floors — a directory employee's company's
//     floors, narrowed to the floors their access groups name if any
//     group names floors; a holder with no company (a contractor, a
//     customer, property staff) has the floors their groups name — plus
//     the building's common floors (directory.Floor.Common).
//
// Only floors on the lane's map count: a grant that would release none is
// refused as no_permission, so the reader shows red rather than green for
// a car that goes nowhere.

// FloorFacts are what the floors a grant releases depend on.
type FloorFacts struct {
	Visitor   bool
	HostFloor string   // a visitor: the visit's floor
	Company   []string // the holder's company's floors; nil: no company
	Common    []string // the building's common floors on the lane's map
	// Restrict is every floor the holder's access groups name; nil when
	// no group names a floor (no restriction).
	Restrict []string
	Map      []FloorCoil // the lane's floor map, in its order
}

// ReleasedFloors is the floors a grant at an elevator lane releases, in the
// order of the lane's map. It is a pure function of the facts.
func ReleasedFloors(f FloorFacts) []string {
	want := map[string]bool{}
	switch {
	case f.Visitor:
		if f.HostFloor != "" {
			want[f.HostFloor] = true
		}
	default:
		own := f.Company
		if f.Restrict != nil {
			if f.Company == nil {
				own = f.Restrict
			} else {
				own = nil
				for _, fl := range f.Company {
					if slices.Contains(f.Restrict, fl) {
						own = append(own, fl)
					}
				}
			}
		}
		for _, fl := range own {
			want[fl] = true
		}
		for _, fl := range f.Common {
			want[fl] = true
		}
	}
	var out []string
	for _, m := range f.Map {
		if want[m.Floor] {
			out = append(out, m.Floor)
		}
	}
	return out
}

// checkElevator validates an elevator lane's own fields (and clears them on
// a gate): its release time and a floor map with each floor, and each
// output, once, every floor known. Field errors go on "kind",
// "release_s" and "floors".
func checkElevator(r *store.Reader, l *Lane, es *field.Errors) error {
	switch l.Kind {
	case LaneGate:
		l.ReleaseS, l.Floors = 0, nil
		return nil
	case LaneElevator:
	default:
		es.Add("kind", "invalid")
		return nil
	}
	if l.ReleaseS == 0 {
		l.ReleaseS = DefaultReleaseS
	}
	if l.ReleaseS < 1 || l.ReleaseS > MaxReleaseS {
		es.AddArg("release_s", "out_of_range", "1–"+strconv.Itoa(MaxReleaseS))
	}
	if len(l.Floors) == 0 {
		es.Add("floors", "elevator_no_floors")
	}
	floors, coils := map[string]bool{}, map[int]bool{}
	for _, fc := range l.Floors {
		switch {
		case fc.Coil < 1 || fc.Coil > MaxFloorCoils:
			es.AddArg("floors", "elevator_coil_range", "1–"+strconv.Itoa(MaxFloorCoils))
		case floors[fc.Floor]:
			es.Add("floors", "elevator_floor_twice")
		case coils[fc.Coil]:
			es.AddArg("floors", "elevator_coil_twice", strconv.Itoa(fc.Coil))
		}
		floors[fc.Floor], coils[fc.Coil] = true, true
		if _, err := directory.GetFloor(r, fc.Floor); isNotFound(err) || !store.ValidID(fc.Floor) {
			es.Add("floors", "unknown_floor")
		} else if err != nil {
			return err
		}
	}
	return nil
}

// floorFacts reads the floor facts of a grant at elevator lane l for a
// credential's holder (a directory person, or none) and its groups'
// floors (nil: no group names one).
func floorFacts(r *store.Reader, l Lane, holderID string, restrict []string) (FloorFacts, error) {
	f := FloorFacts{Map: l.Floors, Restrict: restrict}
	var err error
	if f.Common, err = commonFloors(r, l); err != nil {
		return f, err
	}
	if holderID == "" {
		return f, nil
	}
	p, err := directory.GetPerson(r, holderID)
	if isNotFound(err) {
		return f, nil
	} else if err != nil {
		return f, err
	}
	if p.CompanyID == "" {
		return f, nil
	}
	c, err := directory.GetCompany(r, p.CompanyID)
	if isNotFound(err) {
		return f, nil
	} else if err != nil {
		return f, err
	}
	f.Company = append([]string{}, c.FloorIDs...)
	return f, nil
}

// commonFloors is the common floors on l's map (active ones only).
func commonFloors(r *store.Reader, l Lane) ([]string, error) {
	var out []string
	for _, fc := range l.Floors {
		fl, err := directory.GetFloor(r, fc.Floor)
		if isNotFound(err) {
			continue
		} else if err != nil {
			return nil, err
		}
		if fl.Common && fl.Active {
			out = append(out, fl.ID)
		}
	}
	return out, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, directory.ErrNotFound) || errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrNotFound)
}
