package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// Face credentials. A person whose face a lobby's face terminals should
// know holds a credential of kind Face, like a card: its Number is the
// person's number on the terminals (employeeNo in ISAPI), and a terminal's
// "face recognised" event is a gate.Face presentation of that number,
// decided by the same rules as a card — validity, state, access groups,
// time profile, anti-passback. An employee's face credential copies their
// card's validity and groups; a visitor's, the visit's window.
//
// Personal data: the picture is sealed with the site key (Photo) and
// the credential records when consent was given (Consent); no face
// credential without both. Withdrawing consent (WithdrawFace) removes
// the picture and revokes the credential in one command; the face
// terminals' sync then deletes the person. A credential whose validity
// has ended loses its picture at the next retention purge (PurgeFaces),
// so a visitor's face goes with the visit; the terminals stop holding it
// as soon as the window closes.

// CmdFaceWithdraw removes a face credential's picture and consent and
// revokes it.
const CmdFaceWithdraw = "access.credential.face_withdraw"

// MaxFacePhoto bounds a sealed face picture (a terminal takes JPEGs up
// to 200 KB; sealed and base64-encoded they grow by a third).
const MaxFacePhoto = 300 << 10

var faceNumberRE = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)

func checkFace(c *Credential, es *field.Errors) {
	if !faceNumberRE.MatchString(c.Number) {
		es.Add("number", "invalid")
	}
	if c.State == StateRevoked {
		return // withdrawn: no picture, no consent
	}
	if c.Photo == "" || len(c.Photo) > MaxFacePhoto {
		es.Add("photo", "invalid_photo")
	}
	if c.Consent == 0 {
		es.Add("consent", "required")
	}
}

// EnrolFace adds a face credential: c's holder and rights (an employee's
// taken from their card, a visitor's the visit's window), the picture
// already sealed, consent recorded at consent. The number on the
// terminals is the credential's ID.
func (s *Service) EnrolFace(ctx context.Context, actor string, c Credential, sealedPhoto string, consent time.Time) (Credential, error) {
	c.ID, c.State, c.Kind = s.newID(), Active, Face
	c.Number, c.Photo, c.Consent = c.ID, sealedPhoto, consent.UnixNano()
	if err := s.issue(ctx, CmdCredSave, actor, c); err != nil {
		return Credential{}, err
	}
	return c, nil
}

type faceWithdrawPayload struct {
	IDs  []string `json:"ids"`
	Note string   `json:"note,omitempty"` // "consent withdrawn", "validity ended"
}

// WithdrawFace records that the holder withdrew consent: the picture goes
// and the credential is revoked.
func (s *Service) WithdrawFace(ctx context.Context, actor, id string) error {
	return s.issue(ctx, CmdFaceWithdraw, actor, faceWithdrawPayload{IDs: []string{id}, Note: "consent withdrawn"})
}

func applyFaceWithdraw(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p faceWithdrawPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	if len(p.IDs) == 0 || len(p.IDs) > purgeChunk {
		return store.Effect{}, fmt.Errorf("%w: %d credentials", field.ErrInvalid, len(p.IDs))
	}
	for _, id := range p.IDs {
		c, err := getJSON[Credential](&tx.Reader, store.Key(store.KindCred, id))
		if err != nil {
			return store.Effect{}, err
		}
		if c.Kind != Face {
			return store.Effect{}, field.Errors{{Field: "kind", Code: "invalid"}}
		}
		c.Photo, c.Consent, c.State, c.Updated = "", 0, StateRevoked, cmd.Time
		if err := putCred(tx, c); err != nil {
			return store.Effect{}, err
		}
		if visitorFace(c) {
			if err := visit.Note(tx, cmd, c.HolderID, "face picture removed ("+p.Note+")"); err != nil {
				return store.Effect{}, err
			}
		}
	}
	subject := "credentials"
	if len(p.IDs) == 1 {
		subject = "credential:" + p.IDs[0]
		if c, err := getJSON[Credential](&tx.Reader, store.Key(store.KindCred, p.IDs[0])); err == nil && visitorFace(c) {
			subject = "visit:" + c.HolderID
		}
	}
	return store.Effect{Subject: subject, Note: fmt.Sprintf("face picture removed from %d credentials (%s)", len(p.IDs), p.Note)}, nil
}

// visitorFace reports whether c is a visitor's face, held by their visit
// (HolderID is the visit's ID).
func visitorFace(c Credential) bool {
	return c.Kind == Face && c.HolderKind == HolderVisitor && c.HolderID != ""
}

// FaceOf is the newest face credential of holder (a directory person or a
// visit), whatever its state: a withdrawn one says when consent went.
func (s *Service) FaceOf(holderID string) (Credential, error) {
	var found Credential
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindCredByHolder, holderID), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			c, err := getJSON[Credential](r, store.Key(store.KindCred, string(k[len(k)-16:])))
			if err != nil {
				return true, nil
			}
			if c.Kind == Face && c.HolderID == holderID && c.Created >= found.Created {
				found = c
			}
			return true, nil
		})
	})
	if err == nil && found.ID == "" {
		err = ErrNotFound
	}
	return found, err
}

// PurgeFaces removes the pictures of face credentials whose validity has
// ended (a visit over, a card expired) and returns how many it removed.
func (s *Service) PurgeFaces(ctx context.Context, actor string) (int, error) {
	now := s.clock.Now().UnixNano()
	var ids []string
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindCred), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var c Credential
			if err := json.Unmarshal(v, &c); err != nil {
				return false, err
			}
			if c.Kind == Face && c.Photo != "" && c.NotAfter != 0 && c.NotAfter <= now {
				ids = append(ids, c.ID)
			}
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for len(ids) > 0 {
		k := min(len(ids), purgeChunk)
		if err := s.issue(ctx, CmdFaceWithdraw, actor, faceWithdrawPayload{IDs: ids[:k], Note: "validity ended"}); err != nil {
			return n, err
		}
		n, ids = n+k, ids[k:]
	}
	return n, nil
}

// FaceEnrolments lists who the face terminals should hold now: active
// face credentials with consent and a picture, not expired, not purged,
// with their pictures opened.
func (s *Service) FaceEnrolments() ([]gate.Enrolment, error) {
	now := s.clock.Now()
	var cs []Credential
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindCred), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var c Credential
			if err := json.Unmarshal(v, &c); err != nil {
				return false, err
			}
			if c.Kind == Face && c.State == Active && c.Photo != "" && c.Consent != 0 && c.Purged == 0 &&
				(c.NotAfter == 0 || c.NotAfter > now.UnixNano()) {
				// A visitor's face is held while their visit's pass is
				// usable: a visit checked out or cancelled early leaves
				// the terminals before its window ends (a terminal that
				// decides by itself would otherwise let them in).
				if visitorFace(c) {
					v, err := visit.Get(r, c.HolderID)
					if errors.Is(err, visit.ErrNotFound) || (err == nil && !v.State.PassValid()) {
						return true, nil
					} else if err != nil {
						return false, err
					}
				}
				cs = append(cs, c)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, err
	}
	if s.secrets == nil && len(cs) > 0 {
		return nil, fmt.Errorf("access: face pictures cannot be opened without the site keys")
	}
	es := make([]gate.Enrolment, 0, len(cs))
	for _, c := range cs {
		jpeg, err := s.secrets.Open(c.Photo)
		if err != nil {
			return nil, fmt.Errorf("access: credential %s: face picture: %w", c.ID, err)
		}
		e := gate.Enrolment{Number: c.Number, Name: c.HolderName, Visitor: c.HolderKind == HolderVisitor, Photo: []byte(jpeg)}
		if c.NotBefore != 0 {
			e.NotBefore = time.Unix(0, c.NotBefore)
		}
		if c.NotAfter != 0 {
			e.NotAfter = time.Unix(0, c.NotAfter)
		}
		es = append(es, e)
	}
	return es, nil
}

// EnrolEmployeeFace gives directory person personID a face credential,
// replacing (withdrawing) the one they had: its validity, groups and
// profile are their active card's, open and none without a card (the face
// then opens nothing until they have one). The picture is already sealed;
// consent is when the person agreed.
func (s *Service) EnrolEmployeeFace(ctx context.Context, actor, personID, name, sealedPhoto string, consent time.Time) (Credential, error) {
	var card Credential
	var faces []string
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindCredByHolder, personID), store.ScanOptions{KeysOnly: true}, func(k, _ []byte) (bool, error) {
			c, err := getJSON[Credential](r, store.Key(store.KindCred, string(k[len(k)-16:])))
			if err != nil || c.HolderID != personID || c.State != Active {
				return true, nil
			}
			switch {
			case c.Kind == Face:
				faces = append(faces, c.ID)
			case c.Kind == Card && c.Created >= card.Created:
				card = c
			}
			return true, nil
		})
	})
	if err != nil {
		return Credential{}, err
	}
	for _, id := range faces {
		if err := s.issue(ctx, CmdFaceWithdraw, actor, faceWithdrawPayload{IDs: []string{id}, Note: "replaced by a new picture"}); err != nil {
			return Credential{}, err
		}
	}
	hk := HolderEmployee
	if card.HolderKind != "" {
		hk = card.HolderKind
	}
	c := Credential{HolderKind: hk, HolderID: personID, HolderName: name, Company: card.Company,
		NotBefore: card.NotBefore, NotAfter: card.NotAfter, ProfileID: card.ProfileID, GroupIDs: card.GroupIDs}
	return s.EnrolFace(ctx, actor, c, sealedPhoto, consent)
}
