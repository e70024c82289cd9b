package auth

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdAccountCreate   = "auth.account.create"
	CmdAccountUpdate   = "auth.account.update"
	CmdAccountPassword = "auth.account.password"
	CmdAccountUnlock   = "auth.account.unlock"
	CmdLoginOK         = "auth.login.ok"
	CmdLoginFailed     = "auth.login.failed" // before per-address locks; kept for the log it wrote
	CmdLoginLocked     = "auth.login.locked"
	CmdTokenCreate     = "auth.token.create"
	CmdTokenRevoke     = "auth.token.revoke"
)

// Register installs the auth command handlers.
func Register(reg store.Registrar) {
	reg.Register(CmdAccountCreate, applyCreate)
	reg.Register(CmdAccountUpdate, applyUpdate)
	reg.Register(CmdAccountPassword, applyPassword)
	reg.Register(CmdAccountUnlock, applyUnlock)
	reg.Register(CmdLoginOK, applyLoginOK)
	reg.Register(CmdLoginFailed, applyLoginFailed)
	reg.Register(CmdLoginLocked, applyLoginLocked)
	reg.Register(CmdTokenCreate, applyTokenCreate)
	reg.Register(CmdTokenRevoke, applyTokenRevoke)
}

type updatePayload struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
	PersonID string `json:"person_id"`
	Disabled bool   `json:"disabled"`
}

type passwordPayload struct {
	ID         string `json:"id"`
	Hash       string `json:"hash"`
	MustChange bool   `json:"must_change"`
}

// noteLocked starts the audit note of a failure that leaves the account
// locked; Authenticate reads it back from the result.
const noteLocked = "locked"

type idPayload struct {
	ID string `json:"id"`
}

type loginOKPayload struct {
	ID   string `json:"id"`
	Addr string `json:"addr,omitempty"`
}

type lockPayload struct {
	ID     string `json:"id"`
	Addr   string `json:"addr"`
	Until  int64  `json:"until"`
	Global bool   `json:"global,omitempty"` // account-wide, after many addresses
}

type failedPayload struct {
	ID        string `json:"id"`
	LockUntil int64  `json:"lock_until"` // applied if this failure is the third
}

func accountKey(id string) []byte { return store.Key(store.KindAccount, id) }

func getAccount(r *store.Reader, id string) (Account, error) {
	var a Account
	err := r.GetJSON(accountKey(id), &a)
	if errors.Is(err, store.ErrNotFound) {
		err = ErrNotFound
	}
	return a, err
}

func checkAccount(a *Account) field.Errors {
	var es field.Errors
	a.Name = es.Text("name", a.Name, true, 64)
	if !a.Role.Valid() {
		es.Add("role", "invalid")
	}
	if a.PersonID != "" && !store.ValidID(a.PersonID) {
		es.Add("person_id", "invalid")
	}
	return es
}

func applyCreate(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var a Account
	if err := cmd.Decode(&a); err != nil {
		return store.Effect{}, err
	}
	es := checkAccount(&a)
	a.Username = strings.ToLower(strings.TrimSpace(a.Username))
	if !usernameRE.MatchString(a.Username) {
		es.Add("username", "invalid_username")
	} else if ok, err := tx.Has(store.Key(store.KindAccountByName, a.Username)); err != nil {
		return store.Effect{}, err
	} else if ok {
		es.Add("username", "username_taken")
	}
	if !store.ValidID(a.ID) || a.Hash == "" {
		es.Add("id", "invalid")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	a.Created, a.PwChanged = cmd.Time, cmd.Time
	if err := tx.Set(store.Key(store.KindAccountByName, a.Username), []byte(a.ID)); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "account:" + a.ID, Note: "role " + string(a.Role)}, tx.SetJSON(accountKey(a.ID), a)
}

func applyUpdate(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p updatePayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getAccount(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	a.Name, a.Role, a.PersonID, a.Disabled = p.Name, p.Role, p.PersonID, p.Disabled
	if es := checkAccount(&a); len(es) > 0 {
		return store.Effect{}, es
	}
	note := "role " + string(a.Role)
	if a.Disabled {
		note += ", disabled"
	}
	return store.Effect{Subject: "account:" + a.ID, Note: note}, tx.SetJSON(accountKey(a.ID), a)
}

func applyPassword(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p passwordPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getAccount(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if p.Hash == "" {
		return store.Effect{}, fmt.Errorf("%w: empty password hash", field.ErrInvalid)
	}
	a.Hash, a.MustChange, a.PwChanged = p.Hash, p.MustChange, cmd.Time
	return store.Effect{Subject: "account:" + a.ID, Note: "password changed"}, tx.SetJSON(accountKey(a.ID), a)
}

func applyUnlock(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p idPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getAccount(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	a.LockedUntil, a.Failed, a.AddrLocked, a.AddrLockedUntil = 0, 0, "", 0
	return store.Effect{Subject: "account:" + a.ID, Note: "unlocked"}, tx.SetJSON(accountKey(a.ID), a)
}

func applyLoginOK(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p loginOKPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getAccount(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	a.Failed, a.LastLogin = 0, cmd.Time
	if a.LockedUntil != 0 && a.LockedUntil <= cmd.Time {
		a.LockedUntil = 0
	}
	if p.Addr != "" {
		if a.AddrLocked == p.Addr {
			a.AddrLocked, a.AddrLockedUntil = "", 0
		}
		a.Trusted = slices.Insert(slices.DeleteFunc(a.Trusted, func(s string) bool { return s == p.Addr }), 0, p.Addr)
		if len(a.Trusted) > TrustedAddresses {
			a.Trusted = a.Trusted[:TrustedAddresses]
		}
	}
	return store.Effect{Subject: "account:" + a.ID, Note: "signed in"}, tx.SetJSON(accountKey(a.ID), a)
}

func applyLoginLocked(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p lockPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getAccount(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	note := fmt.Sprintf("%s for %s after %d wrong passwords", noteLocked, p.Addr, MaxFailures)
	if p.Global {
		a.LockedUntil = p.Until
		note = fmt.Sprintf("%s everywhere: %d addresses locked out within %s", noteLocked, GlobalAddresses, GlobalWindow)
	} else {
		a.AddrLocked, a.AddrLockedUntil = p.Addr, p.Until
	}
	return store.Effect{Subject: "account:" + a.ID, Note: note}, tx.SetJSON(accountKey(a.ID), a)
}

func applyLoginFailed(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p failedPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	a, err := getAccount(&tx.Reader, p.ID)
	if err != nil {
		return store.Effect{}, err
	}
	if a.LockedUntil > cmd.Time {
		// A concurrent attempt locked it first; the caller still hears "locked".
		return store.Effect{Subject: "account:" + a.ID, Note: noteLocked + " (attempt while locked)"}, nil
	}
	a.Failed++
	note := fmt.Sprintf("wrong password (%d in a row)", a.Failed)
	if a.Failed >= MaxFailures {
		a.LockedUntil, a.Failed = p.LockUntil, 0
		note = noteLocked + " after " + fmt.Sprint(MaxFailures) + " wrong passwords"
	}
	return store.Effect{Subject: "account:" + a.ID, Note: note}, tx.SetJSON(accountKey(a.ID), a)
}

func applyTokenCreate(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var t Token
	if err := cmd.Decode(&t); err != nil {
		return store.Effect{}, err
	}
	var es field.Errors
	t.Name = es.Text("name", t.Name, true, 64)
	if !t.Role.Valid() {
		es.Add("role", "invalid")
	}
	if !store.ValidID(t.ID) || len(t.Hash) != 64 {
		es.Add("id", "invalid")
	}
	if len(es) > 0 {
		return store.Effect{}, es
	}
	t.Created = cmd.Time
	if err := tx.Set(store.Key(store.KindTokenByID, t.ID), []byte(t.Hash)); err != nil {
		return store.Effect{}, err
	}
	return store.Effect{Subject: "token:" + t.ID, Note: "role " + string(t.Role)}, tx.SetJSON(store.Key(store.KindToken, t.Hash), t)
}

func applyTokenRevoke(tx *store.Tx, cmd store.Command) (store.Effect, error) {
	var p idPayload
	if err := cmd.Decode(&p); err != nil {
		return store.Effect{}, err
	}
	h, err := tx.Get(store.Key(store.KindTokenByID, p.ID))
	if errors.Is(err, store.ErrNotFound) {
		return store.Effect{}, ErrNotFound
	} else if err != nil {
		return store.Effect{}, err
	}
	var t Token
	if err := tx.GetJSON(store.Key(store.KindToken, string(h)), &t); err != nil {
		return store.Effect{}, err
	}
	t.Revoked = true
	return store.Effect{Subject: "token:" + t.ID, Note: "revoked"}, tx.SetJSON(store.Key(store.KindToken, string(h)), t)
}
