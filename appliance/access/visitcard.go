package access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// CmdVisitCard binds a visitor's own card — the chip serial of the
// resident ID card read at the desk — to their visit: at the gates the
// card then opens what the visit's pass opens, in the visit's window (with
// the site's grace), decided as the pass is (decideVisitor). A visitor
// without a phone carries the card they came with.
//
// The serial is kept only as its SHA-256 (the index key): the store never
// holds the number itself, and it is hashed by the issuer so the command
// in the log and the audit trail does not either. A later binding of the
// same card (the next visit) replaces the earlier one.
const CmdVisitCard = "access.visit_card"

type visitCardPayload struct {
	VisitID string `json:"visit_id"`
	Card    string `json:"card"` // hex SHA-256 of the normalised serial
}

// cardHash is the index key of a card number.
func cardHash(number string) string {
	sum := sha256.Sum256([]byte(NormalizeCard(number)))
	return hex.EncodeToString(sum[:])
}

// BindVisitCard lets the card numbered number (an ID card's chip serial,
// as gate readers report it) open visitID's lanes for the visit's window.
// A card that is already a credential of the building is refused: it
// opens what its credential opens.
func (s *Service) BindVisitCard(ctx context.Context, actor, visitID, number string) error {
	if NormalizeCard(number) == "" {
		return field.Errors{{Field: "chip", Code: "invalid_card_number"}}
	}
	if _, err := s.CredentialByCard(number); err == nil {
		return field.Errors{{Field: "chip", Code: "duplicate_card"}}
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return s.issue(ctx, CmdVisitCard, actor, visitCardPayload{VisitID: visitID, Card: cardHash(number)})
}

func applyVisitCard(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p visitCardPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if b, err := hex.DecodeString(p.Card); err != nil || len(b) != sha256.Size {
		return store.Effect{}, field.Errors{{Field: "chip", Code: "invalid_card_number"}}
	}
	v, err := visit.Get(&tx.Reader, p.VisitID)
	if err != nil {
		return store.Effect{}, err
	}
	if !v.State.PassValid() {
		return store.Effect{}, field.Errors{{Field: "chip", Code: "state_final"}}
	}
	return store.Effect{Subject: "visit:" + v.ID, Note: "ID card bound"},
		tx.Set(store.Key(store.KindVisitCard, p.Card), []byte(v.ID))
}

// gatherVisitCard decides a card no credential holds: a visitor's own card
// bound to their visit (CmdVisitCard), or unknown.
func gatherVisitCard(r *store.Reader, f Facts, o Outcome, number string, lane Lane, inside func(string) (bool, error)) (Facts, Outcome, error) {
	id, err := r.Get(store.Key(store.KindVisitCard, cardHash(number)))
	if errors.Is(err, store.ErrNotFound) {
		return f, o, nil
	} else if err != nil {
		return f, o, err
	}
	v, err := visit.Get(r, string(id))
	if errors.Is(err, visit.ErrNotFound) {
		return f, o, nil
	} else if err != nil {
		return f, o, err
	}
	from, until := v.Window()
	f.IsVisitor = true
	f.Pass.PassID, f.Pass.VisitID, f.Pass.NotBefore, f.Pass.NotAfter = v.PassID, v.ID, from, until
	return visitFacts(f, o, v, lane, inside)
}

// CmdVisitCardDrop removes ID-card bindings the retention purge found due:
// their visit's personal data was purged (the card's hash identifies the
// visitor as their mobile does), or their visit is gone.
const CmdVisitCardDrop = "access.visit_card_drop"

type visitCardDropPayload struct {
	Cards []string `json:"cards"` // hex SHA-256, as in the key
}

// visitCardDue reports whether a binding to visitID is left to drop.
func visitCardDue(r *store.Reader, visitID string) (bool, error) {
	v, err := visit.Get(r, visitID)
	if errors.Is(err, visit.ErrNotFound) {
		return true, nil
	} else if err != nil {
		return false, err
	}
	return v.Visitor.Purged != 0, nil
}

// PurgeVisitCards drops the ID-card bindings of visits whose personal data
// the retention purge removed, and of visits that are gone, and returns
// how many it dropped. It runs after the visits' purge (App.Purge).
func (s *Service) PurgeVisitCards(ctx context.Context, actor string) (int, error) {
	var cards []string
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindVisitCard), store.ScanOptions{}, func(k, v []byte) (bool, error) {
			due, err := visitCardDue(r, string(v))
			if due {
				cards = append(cards, string(k[1:]))
			}
			return err == nil, err
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for len(cards) > 0 {
		k := min(len(cards), purgeChunk)
		if err := s.issue(ctx, CmdVisitCardDrop, actor, visitCardDropPayload{Cards: cards[:k]}); err != nil {
			return n, err
		}
		n, cards = n+k, cards[k:]
	}
	return n, nil
}

func applyVisitCardDrop(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p visitCardDropPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if len(p.Cards) == 0 || len(p.Cards) > purgeChunk {
		return store.Effect{}, fmt.Errorf("%w: %d card bindings in one command", field.ErrInvalid, len(p.Cards))
	}
	n := 0
	for _, card := range p.Cards {
		key := store.Key(store.KindVisitCard, card)
		id, err := tx.Get(key)
		if errors.Is(err, store.ErrNotFound) {
			continue // dropped already, or bound again since
		} else if err != nil {
			return store.Effect{}, err
		}
		if due, err := visitCardDue(&tx.Reader, string(id)); err != nil {
			return store.Effect{}, err
		} else if !due {
			continue // bound to a newer visit since the purge looked
		}
		if err := tx.Delete(key); err != nil {
			return store.Effect{}, err
		}
		n++
	}
	return store.Effect{Subject: "visits", Note: fmt.Sprintf("%d ID card bindings dropped", n)}, nil
}
