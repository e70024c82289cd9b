package access

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

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
