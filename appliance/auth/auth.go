// Package auth holds accounts, roles, sign-in with lockout, and API tokens.
//
// Three wrong passwords in a row from one client address lock the account
// for that address until LockFor has passed (or for good, if LockFor is
// zero) or an administrator unlocks it; many locked-out addresses lock it
// everywhere but at the owner's own addresses (lockout.go). Every sign-in,
// lock and unlock is a command, so it lands on the audit trail. The lock
// expiry is computed by the issuer and carried in the command, keeping
// handlers free of clocks.
package auth

import (
	"errors"
	"regexp"
	"slices"
	"time"
)

// Errors.
var (
	ErrBadCredentials = errors.New("auth: wrong account or password")
	ErrLocked         = errors.New("auth: account locked")
	ErrDisabled       = errors.New("auth: account disabled")
	ErrNotFound       = errors.New("auth: not found")
	ErrWrongPassword  = errors.New("auth: current password is wrong")
)

// Role decides what an account may see and do.
type Role string

// Roles, from DOMAIN.md.
const (
	Admin     Role = "admin"     // accounts, devices, backups, cluster, everything
	Manager   Role = "manager"   // property manager: directory, notices, reports, keys, stock
	Reception Role = "reception" // receptionist / guard: visitors, badges, gate feed
	Host      Role = "host"      // tenant employee: own visitors and visits
)

// Roles lists every role, most powerful first.
var Roles = []Role{Admin, Manager, Reception, Host}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// MaxFailures wrong passwords in a row lock an account.
const MaxFailures = 3

// Password length limits.
const (
	MinPassword = 8
	MaxPassword = 128
)

// Account is a staff or employee sign-in.
type Account struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	Name        string `json:"name"`
	Role        Role   `json:"role"`
	PersonID    string `json:"person_id,omitempty"` // the directory entry of a host
	Hash        string `json:"hash"`
	MustChange  bool   `json:"must_change"`            // one-time password: change at next sign-in
	Failed      int    `json:"failed"`                 // wrong passwords in a row, from before per-address locks
	LockedUntil int64  `json:"locked_until,omitempty"` // account-wide lock, Unix ns; max int64 = until unlocked
	// The latest lock of one client address (only that address is refused).
	AddrLocked      string `json:"addr_locked,omitempty"`
	AddrLockedUntil int64  `json:"addr_locked_until,omitempty"`
	// Addresses of the latest successful sign-ins, newest first: they pass
	// an account-wide lock.
	Trusted   []string `json:"trusted,omitempty"`
	Disabled  bool     `json:"disabled"`
	Created   int64    `json:"created"`
	LastLogin int64    `json:"last_login,omitempty"`
	PwChanged int64    `json:"pw_changed"`
}

// Locked reports whether the account is locked everywhere at now.
func (a Account) Locked(now time.Time) bool { return a.LockedUntil > now.UnixNano() }

// LockedFor reports whether the account-wide lock refuses addr at now.
func (a Account) LockedFor(addr string, now time.Time) bool {
	return a.Locked(now) && !slices.Contains(a.Trusted, addr)
}

// AnyLock reports whether any lock of the account holds at now, and the
// lock's end in Unix ns (the later one if two hold).
func (a Account) AnyLock(now time.Time) (bool, int64) {
	var until int64
	if a.LockedUntil > now.UnixNano() {
		until = a.LockedUntil
	}
	if a.AddrLockedUntil > now.UnixNano() && a.AddrLockedUntil > until {
		until = a.AddrLockedUntil
	}
	return until != 0, until
}

// LockedUntilTime is when the lock ends; the zero time if not locked or if
// only an administrator can lift it.
func (a Account) LockedUntilTime() time.Time {
	if a.LockedUntil == 0 || a.LockedUntil == forever {
		return time.Time{}
	}
	return time.Unix(0, a.LockedUntil)
}

const forever = int64(^uint64(0) >> 1)

// Token is an API token for integrations (HR, CRM). Only its SHA-256 is
// stored; the token itself is shown once when created.
type Token struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Role    Role   `json:"role"`
	Hash    string `json:"hash"` // hex SHA-256 of the token
	Created int64  `json:"created"`
	Creator string `json:"creator"`
	Revoked bool   `json:"revoked"`
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,31}$`)
