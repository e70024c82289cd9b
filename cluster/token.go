package cluster

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gatehouse/appliance/store"
)

// Join tokens (DESIGN.md, Trust): "gh1.<id>.<secret>.<pin>". The id names
// the token's record, the secret proves the holder (only its hash is
// stored), and the pin is the hash of the site CA's public key, which the
// joining node checks before it sends anything.

// Command types of the cluster's replicated records.
const (
	CmdTokenIssue = "cluster.token.issue"
	CmdTokenUse   = "cluster.token.use"
	CmdSiteFound  = "cluster.site.found"
)

// TokenTTL is how long a join token lasts unless told otherwise.
const TokenTTL = time.Hour

// Errors a joining node is told (and the shell prints).
var (
	ErrTokenMalformed = errors.New("cluster: the join token is malformed (it looks like gh1.<id>.<secret>.<pin>)")
	ErrTokenUnknown   = errors.New("cluster: the join token is not known to this site")
	ErrTokenUsed      = errors.New("cluster: the join token was used already; issue a new one")
	ErrTokenExpired   = errors.New("cluster: the join token has expired; issue a new one")
	ErrTokenForged    = errors.New("cluster: the join token's secret is wrong")
	ErrOtherSite      = errors.New("cluster: the token is for another site (its CA pin does not match)")
)

// Register installs the cluster's command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdTokenIssue, applyTokenIssue)
	reg.Register(CmdTokenUse, applyTokenUse)
	reg.Register(CmdSiteFound, applySiteFound)
}

// SiteRecord says who founded the site.
type SiteRecord struct {
	Founder string `json:"founder"`
	Pin     string `json:"pin"`
	Founded int64  `json:"founded"`
}

var siteKey = store.Key(store.KindSite, "site")

func applySiteFound(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var rec SiteRecord
	if err := cmd.Decode(&rec); err != nil {
		return store.Effect{}, err
	}
	if ok, err := tx.Has(siteKey); err != nil || ok {
		if err == nil {
			err = errors.New("cluster: the site is founded already")
		}
		return store.Effect{}, err
	}
	rec.Founded = cmd.Time
	if err := tx.SetJSON(siteKey, rec); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "site", Note: "founded by " + rec.Founder}, nil
}

// Token is a parsed join token.
type Token struct {
	ID     string
	Secret string
	Pin    string // "sha256:<hex>"
}

func (t Token) String() string {
	return "gh1." + t.ID + "." + t.Secret + "." + strings.TrimPrefix(t.Pin, "sha256:")
}

// ParseToken reads a token as `cluster token` printed it.
func ParseToken(s string) (Token, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 4 || parts[0] != "gh1" || len(parts[1]) != 16 || len(parts[2]) != 32 || len(parts[3]) != 64 {
		return Token{}, ErrTokenMalformed
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return Token{}, ErrTokenMalformed
	}
	if _, err := hex.DecodeString(parts[3]); err != nil {
		return Token{}, ErrTokenMalformed
	}
	if _, err := b32.DecodeString(strings.ToUpper(parts[2])); err != nil {
		return Token{}, ErrTokenMalformed
	}
	return Token{ID: parts[1], Secret: parts[2], Pin: "sha256:" + parts[3]}, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// TokenRecord is what the site keeps of a token.
type TokenRecord struct {
	ID      string `json:"id"`
	Hash    string `json:"hash"` // sha256 of the secret, hex
	Expires int64  `json:"expires"`
	Voter   bool   `json:"voter"`
	UsedBy  string `json:"used_by,omitempty"` // node ID
	UsedAt  int64  `json:"used_at,omitempty"`
}

func secretHash(secret string) string {
	sum := sha256.Sum256([]byte("gatehouse join token v1\x00" + secret))
	return hex.EncodeToString(sum[:])
}

// NewToken draws a token for the site whose CA is ca.
func NewToken(ca *CA) (Token, error) {
	var id [8]byte
	var sec [20]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Token{}, err
	}
	if _, err := rand.Read(sec[:]); err != nil {
		return Token{}, err
	}
	return Token{ID: hex.EncodeToString(id[:]), Secret: strings.ToLower(b32.EncodeToString(sec[:])), Pin: ca.Pin()}, nil
}

// IssueToken records a new token (through the site's log) and returns it.
// The record is replicated, so any node can check it and a use is final
// site-wide.
func IssueToken(ctx context.Context, db store.Applier, ca *CA, actor string, now time.Time, ttl time.Duration, voter bool) (Token, time.Time, error) {
	if ttl <= 0 {
		ttl = TokenTTL
	}
	t, err := NewToken(ca)
	if err != nil {
		return Token{}, time.Time{}, err
	}
	exp := now.Add(ttl)
	_, err = store.Issue(ctx, db, CmdTokenIssue, actor, now, TokenRecord{ID: t.ID, Hash: secretHash(t.Secret), Expires: exp.UnixNano(), Voter: voter})
	return t, exp, err
}

type tokenUse struct {
	ID     string `json:"id"`
	Hash   string `json:"hash"`
	NodeID string `json:"node"`
}

func applyTokenIssue(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var rec TokenRecord
	if err := cmd.Decode(&rec); err != nil {
		return store.Effect{}, err
	}
	if len(rec.ID) != 16 || len(rec.Hash) != 64 || rec.UsedBy != "" {
		return store.Effect{}, errors.New("cluster: malformed token record")
	}
	key := store.Key(store.KindJoinToken, rec.ID)
	if _, err := tx.Get(key); err == nil {
		return store.Effect{}, errors.New("cluster: token id drawn twice")
	}
	if err := tx.SetJSON(key, rec); err != nil {
		return store.Effect{}, err
	}
	kind := "non-voter"
	if rec.Voter {
		kind = "voter"
	}
	return store.Effect{Subject: "join-token:" + rec.ID, Note: fmt.Sprintf("%s, until %s", kind, time.Unix(0, rec.Expires).UTC().Format(time.RFC3339))}, nil
}

// applyTokenUse spends a token: the command's time (stamped by the node
// that received the join) decides expiry, so every node decides alike.
func applyTokenUse(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var u tokenUse
	if err := cmd.Decode(&u); err != nil {
		return store.Effect{}, err
	}
	key := store.Key(store.KindJoinToken, u.ID)
	var rec TokenRecord
	if err := tx.GetJSON(key, &rec); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Effect{}, ErrTokenUnknown
		}
		return store.Effect{}, err
	}
	switch {
	case subtle.ConstantTimeCompare([]byte(rec.Hash), []byte(u.Hash)) != 1:
		return store.Effect{}, ErrTokenForged
	case rec.UsedBy != "":
		return store.Effect{}, ErrTokenUsed
	case cmd.Time > rec.Expires:
		return store.Effect{}, ErrTokenExpired
	}
	rec.UsedBy, rec.UsedAt = u.NodeID, cmd.Time
	if err := tx.SetJSON(key, rec); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "join-token:" + rec.ID, Note: "joined " + u.NodeID}, nil
}

// Tokens lists the site's join tokens, newest last.
func Tokens(v store.Viewer) ([]TokenRecord, error) {
	var out []TokenRecord
	err := v.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindJoinToken), store.ScanOptions{}, func(_, val []byte) (bool, error) {
			var rec TokenRecord
			if err := json.Unmarshal(val, &rec); err != nil {
				return false, err
			}
			out = append(out, rec)
			return true, nil
		})
	})
	return out, err
}
