package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// When the retention purge removes a deactivated person's personal data
// from the directory (appliance/directory/purge.go), the copy of the name
// on the person's credentials goes too: HolderName is emptied and
// Purged set. The credential itself stays, with its card number:
// the number is the building's card (the stock ledger, handover sheets and
// gate events are kept by it), and without the holder's record it names
// nobody. Its state is left as it is: a purged person is deactivated, and
// the gate refuses a deactivated holder's credentials (state.go), so the
// retention has nothing to block.

// CmdCredPurgeHolder empties the holder's name on credentials of purged people.
const CmdCredPurgeHolder = "access.credential.purge"

const purgeChunk = 500 // credentials per command

type purgeHolderPayload struct {
	IDs []string `json:"ids"` // credentials
}

// heldByPurged lists credentials whose holder was purged from the
// directory but that still carry a name.
func heldByPurged(r *store.Reader) ([]string, error) {
	var ids []string
	purged := map[string]bool{}
	err := r.Scan(store.Prefix(store.KindCred), store.ScanOptions{}, func(_, v []byte) (bool, error) {
		var c Credential
		if err := json.Unmarshal(v, &c); err != nil {
			return false, err
		}
		if c.HolderID == "" || c.Purged != 0 {
			return true, nil
		}
		gone, ok := purged[c.HolderID]
		if !ok {
			if c.HolderKind == HolderVisitor {
				at, err := visitPurged(r, c.HolderID)
				if err != nil {
					return false, err
				}
				gone = at != 0
			} else {
				p, err := directory.GetPerson(r, c.HolderID)
				gone = err == nil && p.Purged != 0
			}
			purged[c.HolderID] = gone
		}
		if gone {
			ids = append(ids, c.ID)
		}
		return true, nil
	})
	return ids, err
}

// PurgeHolders removes the names of purged people from their credentials
// and returns how many credentials it changed.
func (s *Service) PurgeHolders(ctx context.Context, actor string) (int, error) {
	var ids []string
	if err := s.db.View(func(r *store.Reader) (err error) { ids, err = heldByPurged(r); return err }); err != nil {
		return 0, err
	}
	n := 0
	for len(ids) > 0 {
		k := min(len(ids), purgeChunk)
		if err := s.issue(ctx, CmdCredPurgeHolder, actor, purgeHolderPayload{IDs: ids[:k]}); err != nil {
			return n, err
		}
		n += k
		ids = ids[k:]
	}
	return n, nil
}

func applyCredPurgeHolder(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p purgeHolderPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if len(p.IDs) > purgeChunk {
		return store.Effect{}, fmt.Errorf("%w: %d credentials in one purge", field.ErrInvalid, len(p.IDs))
	}
	for _, id := range p.IDs {
		c, err := getJSON[Credential](&tx.Reader, store.Key(store.KindCred, id))
		if err != nil {
			return store.Effect{}, err
		}
		var at int64
		if c.HolderKind == HolderVisitor {
			if at, err = visitPurged(&tx.Reader, c.HolderID); err != nil {
				return store.Effect{}, err
			}
		} else {
			holder, err := directory.GetPerson(&tx.Reader, c.HolderID)
			if err != nil {
				return store.Effect{}, fmt.Errorf("access: credential %s: holder: %w", id, err)
			}
			at = holder.Purged
		}
		if at == 0 {
			return store.Effect{}, fmt.Errorf("%w: the holder of credential %s was not purged", field.ErrInvalid, id)
		}
		c.HolderName, c.Purged = "", at
		if err := tx.SetJSON(store.Key(store.KindCred, c.ID), c); err != nil {
			return store.Effect{}, err
		}
	}
	return store.Effect{Subject: "credentials", Note: fmt.Sprintf("holder's name removed from %d credentials (retention)", len(p.IDs))}, nil
}

// visitPurged is when the retention purge removed the personal data of a
// visitor's visit (a visitor's face credential is held by the visit), 0
// while it has not. A visit no longer on file counts as purged at 1: its
// name has nothing left to belong to.
func visitPurged(r *store.Reader, visitID string) (int64, error) {
	v, err := visit.Get(r, visitID)
	if errors.Is(err, visit.ErrNotFound) {
		return 1, nil
	} else if err != nil {
		return 0, err
	}
	return v.Visitor.Purged, nil
}
