package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"sort"
	"strings"

	"gatehouse/appliance/store"
)

func getJSON[T any](r *store.Reader, key []byte) (T, error) {
	var v T
	err := r.GetJSON(key, &v)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return v, err
}

func getFloor(r *store.Reader, id string) (Floor, error) {
	return getJSON[Floor](r, store.Key(store.KindFloor, id))
}

func getCompany(r *store.Reader, id string) (Company, error) {
	return getJSON[Company](r, store.Key(store.KindCompany, id))
}

func getPerson(r *store.Reader, id string) (Person, error) {
	return getJSON[Person](r, store.Key(store.KindPerson, id))
}

// anyPerson reports whether an index range holds a person of company.
func anyPerson(r *store.Reader, prefix []byte, company string) (bool, error) {
	found := false
	err := r.Scan(prefix, store.ScanOptions{}, func(k, v []byte) (bool, error) {
		e, ok := parseIndex(k, v)
		if ok && string(e.company) == company {
			found = true
			return false, nil
		}
		return true, nil
	})
	return found, err
}

// Floor returns one floor.
func GetFloor(r *store.Reader, id string) (Floor, error) { return getFloor(r, id) }

// GetCompany returns one company.
func GetCompany(r *store.Reader, id string) (Company, error) { return getCompany(r, id) }

// GetPerson returns one person.
func GetPerson(r *store.Reader, id string) (Person, error) { return getPerson(r, id) }

// Floors lists floors by level, lowest first.
func Floors(r *store.Reader, includeInactive bool) ([]Floor, error) {
	var out []Floor
	err := r.Scan(store.Prefix(store.KindFloor), store.ScanOptions{}, func(_, v []byte) (bool, error) {
		var f Floor
		if err := json.Unmarshal(v, &f); err != nil {
			return false, err
		}
		if f.Active || includeInactive {
			out = append(out, f)
		}
		return true, nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Level < out[j].Level })
	return out, err
}

// Companies lists companies by name. A building has hundreds at most, so
// this loads them all.
func Companies(r *store.Reader, includeInactive bool) ([]Company, error) {
	var out []Company
	err := r.Scan(store.Prefix(store.KindCompanyByName), store.ScanOptions{}, func(_, v []byte) (bool, error) {
		c, err := getCompany(r, string(v))
		if err != nil {
			return false, err
		}
		if c.Active || includeInactive {
			out = append(out, c)
		}
		return true, nil
	})
	return out, err
}

// CompanyByName finds a company by its name, ignoring case.
func CompanyByName(r *store.Reader, name string) (Company, error) {
	id, err := r.Get(store.Key(store.KindCompanyByName, strings.ToLower(strings.TrimSpace(name))))
	if errors.Is(err, store.ErrNotFound) {
		return Company{}, ErrNotFound
	} else if err != nil {
		return Company{}, err
	}
	return getCompany(r, string(id))
}

// Query selects people for a listing.
type Query struct {
	Text            string // part of the name, or the start of the employee number
	CompanyID       string
	FloorID         string
	Kind            Kind // "" for both
	IncludeInactive bool
	Offset, Limit   int
}

// Page is one page of a listing, and how many match in all.
type Page struct {
	People []Person
	Total  int
	Offset int
	Limit  int
}

// MaxPageSize bounds Query.Limit.
const MaxPageSize = 200

// Search lists people in name order. It walks the narrowest index (company,
// floor, or all names), filtering on what the index entries carry, and loads
// only the records of the requested page.
func Search(r *store.Reader, q Query) (Page, error) {
	if q.Limit <= 0 || q.Limit > MaxPageSize {
		q.Limit = 50
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	text := []byte(strings.ToLower(strings.TrimSpace(q.Text)))
	prefix := store.Prefix(store.KindPersonByName)
	switch {
	case q.CompanyID != "":
		prefix = store.Prefix(store.KindPersonByComp, q.CompanyID)
	case q.FloorID != "":
		prefix = store.Prefix(store.KindPersonByFloor, q.FloorID)
	}
	page := Page{Offset: q.Offset, Limit: q.Limit}
	var ids []string
	err := r.Scan(prefix, store.ScanOptions{}, func(k, v []byte) (bool, error) {
		e, ok := parseIndex(k, v)
		if !ok {
			return true, nil
		}
		if (q.Kind != "" && e.kind != q.Kind) ||
			(!q.IncludeInactive && !e.active) ||
			(q.CompanyID != "" && string(e.company) != q.CompanyID) ||
			(q.FloorID != "" && string(e.floor) != q.FloorID) ||
			(len(text) > 0 && !bytes.Contains(e.lowerName, text) && !bytes.HasPrefix(e.number, text)) {
			return true, nil
		}
		if page.Total >= q.Offset && len(ids) < q.Limit {
			ids = append(ids, string(e.id))
		}
		page.Total++
		return true, nil
	})
	if err != nil {
		return Page{}, err
	}
	for _, id := range ids {
		p, err := getPerson(r, id)
		if err != nil {
			return Page{}, err
		}
		page.People = append(page.People, p)
	}
	return page, nil
}

// Standing is whether a person's credentials may still open the gates
// (appliance/access): not once the person, or the person's company, is
// deactivated. Reactivating either restores it.
type Standing int

// Standings.
const (
	Good            Standing = iota
	PersonInactive           // the person is deactivated (or purged)
	CompanyInactive          // the person's company is deactivated
)

// StandingOf reads a person's standing, decoding only the fields it needs:
// the gate asks on every presentation of a directory person's credential.
// ErrNotFound: no such person.
func StandingOf(r *store.Reader, id string) (Standing, error) {
	p, err := getJSON[struct {
		Active    bool   `json:"active"`
		CompanyID string `json:"company_id"`
	}](r, store.Key(store.KindPerson, id))
	switch {
	case err != nil:
		return Good, err
	case !p.Active:
		return PersonInactive, nil
	case p.CompanyID == "":
		return Good, nil // property staff belong to the building
	}
	c, err := getJSON[struct {
		Active bool `json:"active"`
	}](r, store.Key(store.KindCompany, p.CompanyID))
	switch {
	case errors.Is(err, ErrNotFound):
		return Good, nil // a company is never deleted; were it missing, the person decides
	case err != nil:
		return Good, err
	case !c.Active:
		return CompanyInactive, nil
	}
	return Good, nil
}
