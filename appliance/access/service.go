package access

import (
	"context"
	"encoding/json"
	"errors"

	"gatehouse/appliance/store"
)

func (s *Service) issue(ctx context.Context, typ, actor string, payload any) error {
	_, err := store.Issue(ctx, s.db, typ, actor, s.clock.Now(), payload)
	return err
}

func (s *Service) newID() string { return store.NewID(s.clock.Now()) }

// SaveZone adds (empty ID) or updates a zone.
func (s *Service) SaveZone(ctx context.Context, actor string, z Zone) (Zone, error) {
	if z.ID == "" {
		z.ID = s.newID()
	}
	return z, s.issue(ctx, CmdZoneSave, actor, z)
}

// SaveLane adds or updates a lane.
func (s *Service) SaveLane(ctx context.Context, actor string, l Lane) (Lane, error) {
	if l.ID == "" {
		l.ID = s.newID()
	}
	return l, s.issue(ctx, CmdLaneSave, actor, l)
}

// SaveGroup adds or updates an access group.
func (s *Service) SaveGroup(ctx context.Context, actor string, g Group) (Group, error) {
	if g.ID == "" {
		g.ID = s.newID()
	}
	return g, s.issue(ctx, CmdGroupSave, actor, g)
}

// SaveProfile adds or updates a time profile.
func (s *Service) SaveProfile(ctx context.Context, actor string, p Profile) (Profile, error) {
	if p.ID == "" {
		p.ID = s.newID()
	}
	return p, s.issue(ctx, CmdProfileSave, actor, p)
}

// SaveHoliday adds or renames a holiday.
func (s *Service) SaveHoliday(ctx context.Context, actor string, h Holiday) error {
	return s.issue(ctx, CmdHolidaySave, actor, h)
}

// Enrol adds (empty ID) or edits a credential's holder and rights.
func (s *Service) Enrol(ctx context.Context, actor string, c Credential) (Credential, error) {
	if c.ID == "" {
		c.ID, c.State = s.newID(), Active
	}
	if err := s.issue(ctx, CmdCredSave, actor, c); err != nil {
		return c, err
	}
	return s.Credential(c.ID)
}

// SetState suspends, reactivates, reports lost, marks returned or revokes.
func (s *Service) SetState(ctx context.Context, actor, id string, st CredState, note string) error {
	return s.issue(ctx, CmdCredState, actor, statePayload{ID: id, State: st, Note: note})
}

// Replace revokes a credential and issues a new one (new card number) with
// the same holder and permissions.
func (s *Service) Replace(ctx context.Context, actor, oldID string, kind CredKind, number string) (Credential, error) {
	n := Credential{ID: s.newID(), Kind: kind, Number: number}
	if err := s.issue(ctx, CmdCredReplace, actor, replacePayload{Old: oldID, New: n}); err != nil {
		return n, err
	}
	return s.Credential(n.ID)
}

// Delete removes a credential (its history stays in the events and audit).
func (s *Service) Delete(ctx context.Context, actor, id string) error {
	return s.issue(ctx, CmdCredDelete, actor, statePayload{ID: id})
}

// Credential returns one credential.
func (s *Service) Credential(id string) (c Credential, err error) {
	err = s.db.View(func(r *store.Reader) error {
		c, err = getJSON[Credential](r, store.Key(store.KindCred, id))
		return err
	})
	return c, err
}

// CredentialByCard finds a card by its number as read or typed.
func (s *Service) CredentialByCard(number string) (c Credential, err error) {
	n := NormalizeCard(number)
	if n == "" {
		return c, ErrNotFound
	}
	err = s.db.View(func(r *store.Reader) error {
		id, err := r.Get(store.Key(store.KindCredByNumber, string(Card), n))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		c, err = getJSON[Credential](r, store.Key(store.KindCred, string(id)))
		return err
	})
	return c, err
}

// list reads every record of a kind.
func list[T any](db store.Viewer, kind store.Kind) ([]T, error) {
	var out []T
	err := db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(kind), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var x T
			if err := json.Unmarshal(v, &x); err != nil {
				return false, err
			}
			out = append(out, x)
			return true, nil
		})
	})
	return out, err
}

// Zones lists zones.
func (s *Service) Zones() ([]Zone, error) { return list[Zone](s.db, store.KindZone) }

// Lanes lists lanes.
func (s *Service) Lanes() ([]Lane, error) { return list[Lane](s.db, store.KindLane) }

// Groups lists access groups.
func (s *Service) Groups() ([]Group, error) { return list[Group](s.db, store.KindGroup) }

// Profiles lists time profiles.
func (s *Service) Profiles() ([]Profile, error) { return list[Profile](s.db, store.KindProfile) }

// Holidays lists holidays by date.
func (s *Service) Holidays() ([]Holiday, error) { return list[Holiday](s.db, store.KindHoliday) }

// Credentials lists every credential. A building holds tens of thousands at
// most, small beside the events.
func (s *Service) Credentials() ([]Credential, error) { return list[Credential](s.db, store.KindCred) }

// DeleteHoliday removes a holiday.
func (s *Service) DeleteHoliday(ctx context.Context, actor, date string) error {
	return s.issue(ctx, CmdHolidayDel, actor, Holiday{Date: date})
}
