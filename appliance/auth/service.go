package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Service issues auth commands and answers sign-in questions.
type Service struct {
	db      store.DB
	clock   clock.Clock
	lockFor atomic.Int64  // time.Duration; the settings page may change it
	hashing chan struct{} // bounds concurrent argon2id runs (memory)
	dummy   string        // hash checked for unknown users, so timing does not tell
	guard   *guard        // wrong passwords per account and client address
}

// New returns an auth service. lockFor is how long three wrong passwords
// lock an account; zero means until an administrator unlocks it.
func New(db store.DB, c clock.Clock, lockFor time.Duration) *Service {
	dummy, _ := HashPassword(RandomPassword(16))
	s := &Service{db: db, clock: c, hashing: make(chan struct{}, 2), dummy: dummy, guard: newGuard()}
	s.lockFor.Store(int64(lockFor))
	return s
}

// SetLockout changes how long three wrong passwords lock an account, from
// the next wrong password on; locks already set keep their end.
func (s *Service) SetLockout(d time.Duration) { s.lockFor.Store(int64(d)) }

func (s *Service) apply(ctx context.Context, typ, actor string, payload any) (store.Result, error) {
	return store.Issue(ctx, s.db, typ, actor, s.clock.Now(), payload)
}

func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-s.hashing }()
	return HashPassword(pw)
}

func (s *Service) check(ctx context.Context, hash, pw string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	return checkPassword(hash, pw)
}

// NewAccount is the input to CreateAccount.
type NewAccount struct {
	Username   string
	Name       string
	Role       Role
	PersonID   string
	Password   string
	MustChange bool
}

// CreateAccount adds an account.
func (s *Service) CreateAccount(ctx context.Context, actor string, n NewAccount) (Account, error) {
	a := Account{ID: store.NewID(s.clock.Now()), Username: strings.ToLower(strings.TrimSpace(n.Username)),
		Name: n.Name, Role: n.Role, PersonID: n.PersonID, MustChange: n.MustChange}
	es := checkAccount(&a)
	if !usernameRE.MatchString(a.Username) {
		es.Add("username", "invalid_username")
	}
	es = append(es, CheckPasswordRules(a.Username, a.Name, a.Role, n.Password)...)
	if len(es) > 0 {
		return a, es
	}
	h, err := s.hash(ctx, n.Password)
	if err != nil {
		return a, err
	}
	a.Hash = h
	_, err = s.apply(ctx, CmdAccountCreate, actor, a)
	return a, err
}

// Update changes an account's name, role, linked person and disabled flag.
func (s *Service) Update(ctx context.Context, actor string, a Account) error {
	_, err := s.apply(ctx, CmdAccountUpdate, actor, updatePayload{ID: a.ID, Name: a.Name, Role: a.Role, PersonID: a.PersonID, Disabled: a.Disabled})
	return err
}

// SetPassword sets an account's password (administrator reset, or shell).
func (s *Service) SetPassword(ctx context.Context, actor, id, pw string, mustChange bool) error {
	a, err := s.Account(id)
	if err != nil {
		return err
	}
	if es := CheckPasswordRules(a.Username, a.Name, a.Role, pw); len(es) > 0 {
		return es
	}
	h, err := s.hash(ctx, pw)
	if err != nil {
		return err
	}
	_, err = s.apply(ctx, CmdAccountPassword, actor, passwordPayload{ID: id, Hash: h, MustChange: mustChange})
	return err
}

// ChangeOwnPassword changes the signed-in user's password after checking the
// current one. A wrong current password counts toward the same lock as a
// wrong sign-in from the client address in ctx (WithClient).
func (s *Service) ChangeOwnPassword(ctx context.Context, id, current, next string) error {
	a, err := s.Account(id)
	if err != nil {
		return err
	}
	addr, now := ClientOf(ctx), s.clock.Now()
	if s.guard.locked(a.Username, addr, now) || a.LockedFor(addr, now) {
		return field.Errors{{Field: "current", Code: "account_locked"}}
	}
	ok, err := s.check(ctx, a.Hash, current)
	if err != nil {
		return err
	}
	if !ok {
		switch err := s.wrong(ctx, a, a.Username, addr, now); {
		case errors.Is(err, ErrLocked):
			return field.Errors{{Field: "current", Code: "account_locked"}}
		case !errors.Is(err, ErrBadCredentials):
			return err
		}
		return field.Errors{{Field: "current", Code: "wrong_password"}}
	}
	if current == next {
		return field.Errors{{Field: "password", Code: "password_unchanged"}}
	}
	return s.SetPassword(ctx, "account:"+id, id, next, false)
}

// Unlock lifts every lock of an account: account-wide and per address.
func (s *Service) Unlock(ctx context.Context, actor, id string) error {
	a, err := s.Account(id)
	if err != nil {
		return err
	}
	if _, err := s.apply(ctx, CmdAccountUnlock, actor, idPayload{ID: id}); err != nil {
		return err
	}
	s.guard.unlock(a.Username)
	return nil
}

// Authenticate checks a username and password from the client address in
// ctx (WithClient). Wrong passwords count toward that address's lock; a
// locked or disabled account is refused before its password is checked.
// An unknown username is answered as a known one would be, lock included.
func (s *Service) Authenticate(ctx context.Context, username, pw string) (Account, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	addr, now := ClientOf(ctx), s.clock.Now()
	if s.guard.locked(username, addr, now) {
		return Account{}, ErrLocked
	}
	a, err := s.AccountByUsername(username)
	if errors.Is(err, ErrNotFound) {
		_, _ = s.check(ctx, s.dummy, pw)
		return Account{}, s.wrong(ctx, Account{}, username, addr, now)
	} else if err != nil {
		return Account{}, err
	}
	if a.LockedFor(addr, now) {
		return Account{}, ErrLocked
	}
	if a.Disabled {
		return a, ErrDisabled
	}
	ok, err := s.check(ctx, a.Hash, pw)
	if err != nil {
		return Account{}, err
	}
	if !ok {
		return Account{}, s.wrong(ctx, a, username, addr, now)
	}
	s.guard.ok(username, addr)
	if _, err := s.apply(ctx, CmdLoginOK, "login:"+a.ID, loginOKPayload{ID: a.ID, Addr: addr}); err != nil {
		return Account{}, err
	}
	return s.Account(a.ID)
}

// wrong counts a wrong password of name from addr. It answers
// ErrBadCredentials, or ErrLocked when this one locked the address out;
// a lock of a real account is a command, so it is on the audit trail.
func (s *Service) wrong(ctx context.Context, a Account, name, addr string, now time.Time) error {
	lockFor := time.Duration(s.lockFor.Load())
	lockedNow, global := s.guard.fail(name, addr, now, lockFor)
	if !lockedNow {
		return ErrBadCredentials
	}
	if a.ID == "" {
		return ErrLocked
	}
	until := forever
	if lockFor > 0 {
		until = now.Add(lockFor).UnixNano()
	}
	actor := "login:" + a.ID
	if _, err := s.apply(ctx, CmdLoginLocked, actor, lockPayload{ID: a.ID, Addr: addr, Until: until}); err != nil {
		return err
	}
	if global && !a.Locked(now) {
		if _, err := s.apply(ctx, CmdLoginLocked, actor, lockPayload{ID: a.ID, Addr: addr, Until: until, Global: true}); err != nil {
			return err
		}
	}
	return ErrLocked
}

// Account returns one account.
func (s *Service) Account(id string) (a Account, err error) {
	err = s.db.View(func(r *store.Reader) error { a, err = getAccount(r, id); return err })
	return a, err
}

// AccountByUsername returns the account with that username.
func (s *Service) AccountByUsername(username string) (a Account, err error) {
	err = s.db.View(func(r *store.Reader) error {
		id, err := r.Get(store.Key(store.KindAccountByName, strings.ToLower(username)))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		a, err = getAccount(r, string(id))
		return err
	})
	return a, err
}

// Accounts lists all accounts by username.
func (s *Service) Accounts() ([]Account, error) {
	var out []Account
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindAccountByName), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			a, err := getAccount(r, string(v))
			if err != nil {
				return false, err
			}
			out = append(out, a)
			return true, nil
		})
	})
	return out, err
}

// HasAccounts reports whether any account exists.
func (s *Service) HasAccounts() (bool, error) {
	found := false
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindAccount), store.ScanOptions{KeysOnly: true}, func(_, _ []byte) (bool, error) {
			found = true
			return false, nil
		})
	})
	return found, err
}

// Bootstrap creates the first administrator when there are no accounts, with
// a random one-time password that must be changed at first sign-in. It
// returns the password only when it created the account.
func (s *Service) Bootstrap(ctx context.Context) (username, password string, err error) {
	has, err := s.HasAccounts()
	if err != nil || has {
		return "", "", err
	}
	password = RandomPassword(16)
	_, err = s.CreateAccount(ctx, "system", NewAccount{Username: "admin", Name: "Administrator", Role: Admin,
		Password: password, MustChange: true})
	if err != nil {
		return "", "", err
	}
	return "admin", password, nil
}

// TokenPrefix starts every API token, so a leaked one is recognisable.
const TokenPrefix = "ght_"

func tokenHash(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes an API token acting with role. The token is returned
// once and never stored.
func (s *Service) CreateToken(ctx context.Context, actor, name string, role Role) (string, Token, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", Token{}, err
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	t := Token{ID: store.NewID(s.clock.Now()), Name: name, Role: role, Hash: tokenHash(tok), Creator: actor}
	if _, err := s.apply(ctx, CmdTokenCreate, actor, t); err != nil {
		return "", Token{}, err
	}
	t.Created = s.clock.Now().UnixNano()
	return tok, t, nil
}

// RevokeToken revokes a token at once.
func (s *Service) RevokeToken(ctx context.Context, actor, id string) error {
	_, err := s.apply(ctx, CmdTokenRevoke, actor, idPayload{ID: id})
	return err
}

// TokenFor finds the live token matching tok.
func (s *Service) TokenFor(tok string) (t Token, err error) {
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) > 100 {
		return Token{}, ErrNotFound
	}
	err = s.db.View(func(r *store.Reader) error {
		err := r.GetJSON(store.Key(store.KindToken, tokenHash(tok)), &t)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		return err
	})
	if err == nil && t.Revoked {
		return Token{}, ErrNotFound
	}
	return t, err
}

// Tokens lists all tokens, revoked ones included.
func (s *Service) Tokens() ([]Token, error) {
	var out []Token
	err := s.db.View(func(r *store.Reader) error {
		return r.Scan(store.Prefix(store.KindToken), store.ScanOptions{}, func(_, v []byte) (bool, error) {
			var t Token
			if err := json.Unmarshal(v, &t); err != nil {
				return false, err
			}
			out = append(out, t)
			return true, nil
		})
	})
	return out, err
}
