package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/appliance/cpu"
	"strings"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// Service issues directory commands: it stamps time, actor and new IDs,
// and seals people's mobile numbers.
type Service struct {
	db    store.DB
	clock clock.Clock
	keys  *secret.Keys
}

// New returns a directory service.
func New(db store.DB, c clock.Clock, keys *secret.Keys) *Service {
	return &Service{db: db, clock: c, keys: keys}
}

func (s *Service) apply(ctx context.Context, typ, actor string, payload any) (store.Result, error) {
	return store.Issue(ctx, s.db, typ, actor, s.clock.Now(), payload)
}

// SaveFloor adds (empty ID) or updates a floor.
func (s *Service) SaveFloor(ctx context.Context, actor string, f Floor) (Floor, error) {
	if f.ID == "" {
		f.ID = store.NewID(s.clock.Now())
		f.Active = true
	}
	if es := checkFloor(&f); len(es) > 0 {
		return f, es
	}
	_, err := s.apply(ctx, CmdFloorSave, actor, f)
	return f, err
}

// SaveCompany adds (empty ID) or updates a company.
func (s *Service) SaveCompany(ctx context.Context, actor string, c Company) (Company, error) {
	if c.ID == "" {
		c.ID = store.NewID(s.clock.Now())
		c.Active = true
	} else {
		old, err := s.Company(c.ID)
		if err != nil {
			return c, err
		}
		c.Active = old.Active
	}
	_, err := s.apply(ctx, CmdCompanySave, actor, c)
	return c, err
}

// SetCompanyActive deactivates or reactivates a company.
func (s *Service) SetCompanyActive(ctx context.Context, actor, id string, active bool) error {
	_, err := s.apply(ctx, CmdCompanyActive, actor, activePayload{ID: id, Active: active})
	return err
}

// SavePerson adds (empty ID) or updates an employee or staff member. The
// mobile is p.Mobile, in clear; a p read back from the store, with Mobile
// "" and the number sealed, keeps its sealed number.
func (s *Service) SavePerson(ctx context.Context, actor string, p Person) (Person, error) {
	create := p.ID == ""
	if create {
		p.ID = store.NewID(s.clock.Now())
		p.Active = true
	} else {
		old, err := s.Person(p.ID)
		if err != nil {
			return p, err
		}
		p.Active = old.Active
	}
	// The handler checks again, but it cannot see the number's form once
	// it is sealed.
	var es field.Errors
	err := s.db.View(func(r *store.Reader) (err error) { es, err = checkPerson(r, &p); return err })
	if err != nil {
		return p, err
	}
	if len(es) > 0 {
		return p, es
	}
	if err := s.sealMobile(&p); err != nil {
		return p, err
	}
	if err := s.sealEmail(&p); err != nil {
		return p, err
	}
	_, err = s.apply(ctx, CmdPersonSave, actor, savePayload{Person: p, Create: create})
	return p, err
}

// sealMobile seals p's mobile, given in clear, into MobileSealed and
// MobileBlind. Mobile stays as it was, for the caller; it never leaves
// memory.
func (s *Service) sealMobile(p *Person) error {
	if p.Mobile == "" {
		return nil
	}
	sealed, err := s.keys.Seal(p.Mobile)
	if err != nil {
		return fmt.Errorf("directory: seal mobile: %w", err)
	}
	p.MobileSealed, p.MobileBlind = sealed, s.keys.Blind(BlindMobile, p.Mobile)
	p.MobileTail = s.tailBlind(p.Mobile)
	return nil
}

// sealEmail seals p's address, given in clear, into EmailSealed, as
// sealMobile does the number.
func (s *Service) sealEmail(p *Person) error {
	if p.Email == "" {
		return nil
	}
	sealed, err := s.keys.Seal(p.Email)
	if err != nil {
		return fmt.Errorf("directory: seal email: %w", err)
	}
	p.EmailSealed = sealed
	return nil
}

// Email returns p's email address, opening the sealed one ("" when p has
// none). Callers never log it.
func (s *Service) Email(p Person) (string, error) {
	if p.Email != "" || p.EmailSealed == "" || p.Purged != 0 {
		return p.Email, nil
	}
	e, err := s.keys.Open(p.EmailSealed)
	if err != nil {
		return "", fmt.Errorf("directory: person %s: open email: %w", p.ID, err)
	}
	return e, nil
}

// SetContact is a person's own change of their email address and
// notification preference (the host's profile): the rest of the entry
// stays as the directory has it.
func (s *Service) SetContact(ctx context.Context, actor, id, email, pref string) (Person, error) {
	p, err := s.Person(id)
	if err != nil {
		return p, err
	}
	p.Email, p.EmailSealed, p.Notify = email, "", pref
	return s.SavePerson(ctx, actor, p)
}

// Mobile returns p's whole mobile number, opening the sealed one: for the
// pages that show it to staff allowed to see it (the edit form, the
// tap-to-call link) and the JSON API. Callers never log it.
func (s *Service) Mobile(p Person) (string, error) {
	if p.Mobile != "" || p.Purged != 0 {
		return p.Mobile, nil // purged: there is no number left
	}
	m, err := s.keys.Open(p.MobileSealed)
	if err != nil {
		return "", fmt.Errorf("directory: person %s: open mobile: %w", p.ID, err)
	}
	return m, nil
}

// WithMobiles returns ps with each Mobile opened, for a page or an API
// answer that shows the whole numbers.
func (s *Service) WithMobiles(ps []Person) ([]Person, error) {
	out := make([]Person, len(ps))
	for i, p := range ps {
		m, err := s.Mobile(p)
		if err != nil {
			return nil, err
		}
		p.Mobile = m
		out[i] = p
	}
	return out, nil
}

// SetPersonActive deactivates or reactivates a person.
func (s *Service) SetPersonActive(ctx context.Context, actor, id string, active bool) error {
	_, err := s.apply(ctx, CmdPersonActive, actor, activePayload{ID: id, Active: active})
	return err
}

// Floor returns one floor.
func (s *Service) Floor(id string) (f Floor, err error) {
	err = s.db.View(func(r *store.Reader) error { f, err = getFloor(r, id); return err })
	return f, err
}

// Company returns one company.
func (s *Service) Company(id string) (c Company, err error) {
	err = s.db.View(func(r *store.Reader) error { c, err = getCompany(r, id); return err })
	return c, err
}

// Person returns one person.
func (s *Service) Person(id string) (p Person, err error) {
	err = s.db.View(func(r *store.Reader) error { p, err = getPerson(r, id); return err })
	return p, err
}

// Floors lists floors by level.
func (s *Service) Floors(includeInactive bool) (fs []Floor, err error) {
	err = s.db.View(func(r *store.Reader) error { fs, err = Floors(r, includeInactive); return err })
	return fs, err
}

// Companies lists companies by name.
func (s *Service) Companies(includeInactive bool) (cs []Company, err error) {
	err = s.db.View(func(r *store.Reader) error { cs, err = Companies(r, includeInactive); return err })
	return cs, err
}

// Search lists people.
func (s *Service) Search(q Query) (p Page, err error) {
	err = s.db.View(func(r *store.Reader) error { p, err = Search(r, q); return err })
	return p, err
}

// Progress reports how far an import has come.
type Progress struct {
	Phase string // "validating", "staging", "writing", "done"
	Done  int
	Total int
}

// ImportEmployeesCSV validates a whole file and, only if every row is good,
// writes it; see the comment at the top of import.go. It returns the number
// of people written, or field.Errors naming the bad lines.
func (s *Service) ImportEmployeesCSV(ctx context.Context, actor string, data []byte, progress func(Progress)) (int, error) {
	if progress == nil {
		progress = func(Progress) {}
	}
	release, err := cpu.Heavy(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	var people []Person
	err = s.db.View(func(r *store.Reader) error {
		var err error
		people, err = ParseEmployeesCSV(r, data, s.clock.Now(), func(done, total int) {
			progress(Progress{Phase: "validating", Done: done, Total: total})
		})
		return err
	})
	if err != nil {
		return 0, err
	}
	// Sealed before staging: the staged rows are in the store too.
	for i := range people {
		if err := s.sealMobile(&people[i]); err != nil {
			return 0, err
		}
	}
	return len(people), s.importPeople(ctx, actor, people, progress)
}

func (s *Service) importPeople(ctx context.Context, actor string, people []Person, progress func(Progress)) error {
	id := store.NewID(s.clock.Now())
	chunks := (len(people) + importChunkRows - 1) / importChunkRows
	for i := 0; i < chunks; i++ {
		end := min((i+1)*importChunkRows, len(people))
		if _, err := s.apply(ctx, CmdImportStage, actor, stagePayload{ImportID: id, Seq: i, Rows: people[i*importChunkRows : end]}); err != nil {
			s.discard(actor, id)
			return err
		}
		progress(Progress{Phase: "staging", Done: end, Total: len(people)})
	}
	if _, err := s.apply(ctx, CmdImportCommit, actor, commitPayload{ImportID: id, Chunks: chunks, Rows: len(people)}); err != nil {
		s.discard(actor, id)
		return err
	}
	// Committed: from here the import finishes even if ctx is cancelled,
	// and Recover finishes it after a crash.
	for i := 0; i < chunks; i++ {
		if _, err := s.apply(context.WithoutCancel(ctx), CmdImportApply, actor, chunkPayload{ImportID: id, Seq: i}); err != nil {
			return fmt.Errorf("directory: import %s chunk %d: %w (it will be finished at the next start)", id, i, err)
		}
		progress(Progress{Phase: "writing", Done: min((i+1)*importChunkRows, len(people)), Total: len(people)})
	}
	progress(Progress{Phase: "done", Done: len(people), Total: len(people)})
	return nil
}

func (s *Service) discard(actor, id string) {
	_, _ = s.apply(context.Background(), CmdImportDiscard, actor, chunkPayload{ImportID: id})
}

// Recover finishes imports that were committed before a crash and discards
// the ones that were not. Call it once at start-up, before serving.
func (s *Service) Recover(ctx context.Context) error {
	type pending struct {
		id        string
		committed bool
		seqs      []int
	}
	var work []*pending
	err := s.db.View(func(r *store.Reader) error {
		byID := map[string]*pending{}
		err := r.Scan(store.Prefix(store.KindImportStage), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			rest := string(k[1:])
			if len(rest) < 10 {
				return true, nil
			}
			id := rest[:len(rest)-9]
			var seq int
			fmt.Sscanf(rest[len(rest)-8:], "%d", &seq)
			p := byID[id]
			if p == nil {
				p = &pending{id: id}
				byID[id] = p
				work = append(work, p)
			}
			p.seqs = append(p.seqs, seq)
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, p := range work {
			if p.committed, err = r.Has(store.Key(store.KindImportCommit, p.id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range work {
		if !p.committed {
			if _, err := s.apply(ctx, CmdImportDiscard, "system", chunkPayload{ImportID: p.id}); err != nil {
				return err
			}
			continue
		}
		for _, seq := range p.seqs {
			if _, err := s.apply(ctx, CmdImportApply, "system", chunkPayload{ImportID: p.id, Seq: seq}); err != nil {
				return err
			}
		}
	}
	return nil
}

// IsValidation reports whether err is a problem with the input.
func IsValidation(err error) bool { return errors.Is(err, field.ErrInvalid) }

// PersonByNumber finds a person by employee number, ignoring case.
func (s *Service) PersonByNumber(no string) (p Person, err error) {
	err = s.db.View(func(r *store.Reader) error {
		id, err := r.Get(store.Key(store.KindPersonByNo, strings.ToLower(strings.TrimSpace(no))))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		p, err = getPerson(r, string(id))
		return err
	})
	return p, err
}
