package directory

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdFloorSave      = "directory.floor.save"
	CmdCompanySave    = "directory.company.save"
	CmdCompanyActive  = "directory.company.active"
	CmdPersonSave     = "directory.person.save"
	CmdPersonActive   = "directory.person.active"
	CmdImportStage    = "directory.import.stage"
	CmdImportCommit   = "directory.import.commit"
	CmdImportApply    = "directory.import.apply"
	CmdImportDiscard  = "directory.import.discard"
	CmdPersonStamp    = "directory.person.stamp"   // deactivated before the time was recorded: from now
	CmdPersonPurge    = "directory.person.purge"   // personal data of people deactivated long ago
	CmdPersonReindex  = "directory.person.reindex" // rebuild the host search's entries (hosts.go)
	importChunkRows   = 500
	maxImportRowsFile = 200000
)

// Register installs the directory's command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdFloorSave, applyFloorSave)
	reg.Register(CmdCompanySave, applyCompanySave)
	reg.Register(CmdCompanyActive, applyCompanyActive)
	reg.Register(CmdPersonSave, applyPersonSave)
	reg.Register(CmdPersonActive, applyPersonActive)
	reg.Register(CmdImportStage, applyImportStage)
	reg.Register(CmdImportCommit, applyImportCommit)
	reg.Register(CmdImportApply, applyImportApply)
	reg.Register(CmdImportDiscard, applyImportDiscard)
	reg.Register(CmdPersonStamp, applyPersonStamp)
	reg.Register(CmdPersonPurge, applyPersonPurge)
	reg.Register(CmdPersonReindex, applyPersonReindex)
}

type activePayload struct {
	ID     string `json:"id"`
	Active bool   `json:"active"`
}

func applyFloorSave(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var f Floor
	if err := cmd.Decode(&f); err != nil {
		return store.Effect{}, err
	}
	if f.ID == "" {
		return store.Effect{}, field.Errors{{Field: "id", Code: "required"}}
	}
	if es := checkFloor(&f); len(es) > 0 {
		return store.Effect{}, es
	}
	return store.Effect{Subject: "floor:" + f.ID}, tx.SetJSON(store.Key(store.KindFloor, f.ID), f)
}

func applyCompanySave(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var c Company
	if err := cmd.Decode(&c); err != nil {
		return store.Effect{}, err
	}
	es, err := checkCompany(&tx.Reader, &c)
	if err != nil {
		return store.Effect{}, err
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	old, err := getCompany(&tx.Reader, c.ID)
	switch {
	case err == nil:
		if err := tx.Delete(store.Key(store.KindCompanyByName, strings.ToLower(old.Name))); err != nil {
			return store.Effect{}, err
		}
		// Floors still used by the company's employees cannot be dropped.
		for _, fid := range old.FloorIDs {
			if contains(c.FloorIDs, fid) {
				continue
			}
			used, err := anyPerson(&tx.Reader, store.Prefix(store.KindPersonByFloor, fid), c.ID)
			if err != nil {
				return store.Effect{}, err
			}
			if used {
				return store.Effect{}, field.Errors{{Field: "floor_ids", Code: "floor_in_use"}}
			}
		}
	case !errors.Is(err, ErrNotFound):
		return store.Effect{}, err
	}
	if err := tx.Set(store.Key(store.KindCompanyByName, strings.ToLower(c.Name)), []byte(c.ID)); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "company:" + c.ID}, tx.SetJSON(store.Key(store.KindCompany, c.ID), c)
}

func applyCompanyActive(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p activePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	c, err := getCompany(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	c.Active = p.Active
	return store.Effect{Subject: "company:" + c.ID, Note: activeNote(p.Active)},
		tx.SetJSON(store.Key(store.KindCompany, c.ID), c)
}

func activeNote(a bool) string {
	if a {
		return "activated"
	}
	return "deactivated"
}

func importPending(r *store.Reader) (bool, error) {
	found := false
	err := r.Scan(store.Prefix(store.KindImportCommit), store.ScanOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
		found = true
		return false, nil
	})
	return found, err
}

// savePayload is a person save; Create marks a new record, which must not
// replace an existing one (a new ID that collided would otherwise overwrite
// someone silently).
type savePayload struct {
	Person
	Create bool `json:"create,omitempty"`
}

func applyPersonSave(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var sp savePayload
	if err := cmd.Decode(&sp); err != nil {
		return store.Effect{}, err
	}
	p := sp.Person
	old, err := getPerson(&tx.Reader, p.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return store.Effect{}, err
	}
	if exists == sp.Create {
		if sp.Create {
			return store.Effect{}, fmt.Errorf("%w: person %s exists", field.ErrInvalid, p.ID)
		}
		return store.Effect{}, ErrNotFound
	}
	if busy, err := importPending(&tx.Reader); err != nil || busy {
		if err == nil {
			err = ErrImportRunning
		}
		return store.Effect{}, err
	}
	es, err := checkPerson(&tx.Reader, &p)
	if err != nil {
		return store.Effect{}, err
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	if exists && old.Purged != 0 {
		return store.Effect{}, fmt.Errorf("%w: person %s was purged", field.ErrInvalid, p.ID)
	}
	// The stamps are the handler's, not the issuer's.
	p.Deactivated, p.Purged = old.Deactivated, 0
	p.Line = 0
	if err := putPerson(tx, p); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "person:" + p.ID}, nil
}

func applyPersonActive(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var a activePayload
	if err := cmd.Decode(&a); err != nil {
		return store.Effect{}, err
	}
	p, err := getPerson(&tx.Reader, a.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if p.Purged != 0 {
		return store.Effect{}, fmt.Errorf("%w: person %s was purged", field.ErrInvalid, p.ID)
	}
	// The retention purge counts from the deactivation (purge.go); a
	// second deactivation keeps the first time.
	switch {
	case a.Active:
		p.Deactivated = 0
	case p.Active || p.Deactivated == 0:
		p.Deactivated = cmd.Time
	}
	p.Active = a.Active
	if err := putPerson(tx, p); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "person:" + p.ID, Note: activeNote(a.Active)}, nil
}

// putPerson writes p and its index entries, first removing the entries of
// the record it replaces.
func putPerson(tx *store.Tx, p Person) error {
	old, err := getPerson(&tx.Reader, p.ID)
	switch {
	case err == nil:
		if err := deletePersonIndexes(tx, old); err != nil {
			return err
		}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	iv := indexValue(p)
	for _, k := range personIndexKeys(p) {
		if err := tx.Set(k, iv); err != nil {
			return err
		}
	}
	if p.EmployeeNo != "" {
		if err := tx.Set(store.Key(store.KindPersonByNo, strings.ToLower(p.EmployeeNo)), []byte(p.ID)); err != nil {
			return err
		}
	}
	tv := termValue(p)
	for _, k := range personSearchKeys(p) {
		if err := tx.Set(k, tv); err != nil {
			return err
		}
	}
	return tx.SetJSON(store.Key(store.KindPerson, p.ID), p)
}

// deletePersonIndexes removes every index entry of p, the record as stored.
func deletePersonIndexes(tx *store.Tx, p Person) error {
	keys := personIndexKeys(p)
	if p.EmployeeNo != "" {
		keys = append(keys, store.Key(store.KindPersonByNo, strings.ToLower(p.EmployeeNo)))
	}
	for _, k := range append(keys, personSearchKeys(p)...) {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// personIndexKeys are the search index entries of p: by name, and by
// company and floor (then name), so every listing is a prefix scan in name
// order.
func personIndexKeys(p Person) [][]byte {
	ln := strings.ToLower(p.Name)
	keys := [][]byte{store.Key(store.KindPersonByName, ln, p.ID)}
	if p.CompanyID != "" {
		keys = append(keys, store.Key(store.KindPersonByComp, p.CompanyID, ln, p.ID))
	}
	if p.FloorID != "" {
		keys = append(keys, store.Key(store.KindPersonByFloor, p.FloorID, ln, p.ID))
	}
	return keys
}

// indexValue is what a search needs to filter without loading the record:
// kind, active, company, floor, employee number.
func indexValue(p Person) []byte {
	act := "0"
	if p.Active {
		act = "1"
	}
	return []byte(string(p.Kind[0]) + act + "|" + p.CompanyID + "|" + p.FloorID + "|" + strings.ToLower(p.EmployeeNo))
}

// indexEntry is a parsed search index entry. Its byte slices point into
// the key and value, valid only while the scan callback runs, so a search
// filters 100,000 entries without allocating for each.
type indexEntry struct {
	kind      Kind
	active    bool
	company   []byte
	floor     []byte
	number    []byte
	lowerName []byte
	id        []byte
}

func parseIndex(key, val []byte) (indexEntry, bool) {
	if len(val) < 5 || val[2] != '|' || len(key) < 18 {
		return indexEntry{}, false
	}
	e := indexEntry{active: val[1] == '1'}
	switch val[0] {
	case 'e':
		e.kind = Employee
	case 's':
		e.kind = Staff
	}
	rest := val[3:]
	i := bytes.IndexByte(rest, '|')
	if i < 0 {
		return indexEntry{}, false
	}
	e.company, rest = rest[:i], rest[i+1:]
	if i = bytes.IndexByte(rest, '|'); i < 0 {
		return indexEntry{}, false
	}
	e.floor, e.number = rest[:i], rest[i+1:]
	// key: kind byte, [scope 0], lower name 0 id
	k := key[1:]
	last := bytes.LastIndexByte(k, store.Sep)
	if last < 0 {
		return indexEntry{}, false
	}
	e.id, k = k[last+1:], k[:last]
	if key[0] != byte(store.KindPersonByName) {
		if i := bytes.IndexByte(k, store.Sep); i >= 0 {
			k = k[i+1:]
		}
	}
	e.lowerName = k
	return e, true
}
