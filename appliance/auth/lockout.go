package auth

import (
	"context"
	"sync"
	"time"
)

// The lockout (docs/decisions.md, "Lockout nobody can abuse").
//
// Three wrong passwords in a row lock an account — for the client address
// they came from. Someone guessing from one address stops after three
// tries, while the account's owner, at another address, signs in as usual:
// a stranger can no longer keep the administrator out by typing "admin"
// and three wrong words.
//
// A guesser with many addresses meets a slower, account-wide lock: once
// GlobalAddresses different addresses have each been locked out of one
// account within GlobalWindow, the account is locked everywhere for the
// lock time — except from the addresses it last signed in from
// successfully (TrustedAddresses of them, kept on the account), so the
// owner's own tablet or PC still gets in. An administrator's unlock (page
// or `gatehouse user unlock`) lifts every lock of the account.
//
// Counts live in memory (bounded; a restart forgets them), so failed
// attempts write nothing; each lock is a command and lands on the audit
// trail. Unknown usernames are counted the same way and answer "locked" at
// the same attempt, so the lock tells nobody which accounts exist.
const (
	GlobalAddresses  = 10
	GlobalWindow     = time.Hour
	TrustedAddresses = 4
	maxGuardEntries  = 20000
)

type clientKey struct{}

// WithClient returns ctx carrying the client address a sign-in comes from,
// for the lockout. Without one (the shell) the address is "local".
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientOf is the address WithClient put in ctx, or "local".
func ClientOf(ctx context.Context) string {
	if a, ok := ctx.Value(clientKey{}).(string); ok && a != "" {
		return a
	}
	return "local"
}

type guardKey struct{ user, addr string }

type attempts struct {
	fails int
	until time.Time // the lock's end; zero: not locked
	last  time.Time
}

// guard counts wrong passwords per account name and client address.
type guard struct {
	mu     sync.Mutex
	byAddr map[guardKey]*attempts
	spread map[string]map[string]time.Time // name → address → when it was locked out
}

func newGuard() *guard {
	return &guard{byAddr: map[guardKey]*attempts{}, spread: map[string]map[string]time.Time{}}
}

// locked reports whether name is locked for addr at now.
func (g *guard) locked(name, addr string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	a := g.byAddr[guardKey{name, addr}]
	return a != nil && !a.until.IsZero() && now.Before(a.until)
}

// fail counts a wrong password. It reports whether this failure locked the
// address out, and whether the account now meets the account-wide lock.
func (g *guard) fail(name, addr string, now time.Time, lockFor time.Duration) (lockedNow, global bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := guardKey{name, addr}
	a := g.byAddr[k]
	if a == nil {
		if len(g.byAddr) >= maxGuardEntries {
			g.evictLocked(now)
		}
		a = &attempts{}
		g.byAddr[k] = a
	}
	if !a.until.IsZero() && !now.Before(a.until) {
		*a = attempts{} // an expired lock starts a new count
	}
	a.fails++
	a.last = now
	if a.fails < MaxFailures {
		return false, false
	}
	a.fails = 0
	a.until = now.Add(lockFor)
	if lockFor <= 0 {
		a.until = time.Unix(0, forever)
	}
	addrs := g.spread[name]
	if addrs == nil {
		if len(g.spread) >= maxGuardEntries {
			clear(g.spread)
		}
		addrs = map[string]time.Time{}
		g.spread[name] = addrs
	}
	addrs[addr] = now
	for ad, at := range addrs {
		if now.Sub(at) > GlobalWindow {
			delete(addrs, ad)
		}
	}
	return true, len(addrs) >= GlobalAddresses
}

// ok forgets addr's wrong passwords after a right one.
func (g *guard) ok(name, addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.byAddr, guardKey{name, addr})
}

// unlock forgets every count and lock of name.
func (g *guard) unlock(name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.byAddr {
		if k.user == name {
			delete(g.byAddr, k)
		}
	}
	delete(g.spread, name)
}

func (g *guard) evictLocked(now time.Time) {
	var oldest guardKey
	var oldestAt time.Time
	for k, a := range g.byAddr {
		if a.until.IsZero() && now.Sub(a.last) > GlobalWindow || !a.until.IsZero() && !now.Before(a.until) {
			delete(g.byAddr, k)
			continue
		}
		if oldestAt.IsZero() || a.last.Before(oldestAt) {
			oldest, oldestAt = k, a.last
		}
	}
	if len(g.byAddr) >= maxGuardEntries {
		delete(g.byAddr, oldest)
	}
}
