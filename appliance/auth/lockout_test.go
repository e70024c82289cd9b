package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gatehouse/appliance/field"
)

// TestLockIsPerClientAddress: three wrong passwords lock the account for
// the address they came from only; the owner at another address signs in.
// Before, a stranger's three tries locked the administrator out everywhere.
func TestLockIsPerClientAddress(t *testing.T) {
	s, _, _ := newService(t, 15*time.Minute)
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "test", NewAccount{Username: "admin", Name: "A", Role: Admin, Password: "right password"}); err != nil {
		t.Fatal(err)
	}
	stranger, owner := WithClient(ctx, "203.0.113.9"), WithClient(ctx, "192.168.1.20")
	for i, want := range []error{ErrBadCredentials, ErrBadCredentials, ErrLocked, ErrLocked} {
		if _, err := s.Authenticate(stranger, "admin", "guess"); !errors.Is(err, want) {
			t.Fatalf("stranger's attempt %d: %v, want %v", i+1, err, want)
		}
	}
	if _, err := s.Authenticate(stranger, "admin", "right password"); !errors.Is(err, ErrLocked) {
		t.Fatalf("the locked address with the right password: %v, want locked", err)
	}
	if _, err := s.Authenticate(owner, "admin", "right password"); err != nil {
		t.Fatalf("the owner at another address: %v", err)
	}
}

// TestUnknownUsernameLocksLikeAKnownOne: the lock tells nobody which
// usernames exist. Before, an unknown name never answered "locked".
func TestUnknownUsernameLocksLikeAKnownOne(t *testing.T) {
	s, _, _ := newService(t, 15*time.Minute)
	ctx := WithClient(context.Background(), "203.0.113.9")
	if _, err := s.CreateAccount(ctx, "test", NewAccount{Username: "known", Name: "K", Role: Host, Password: "right password"}); err != nil {
		t.Fatal(err)
	}
	answers := func(name string) []error {
		var out []error
		for range 4 {
			_, err := s.Authenticate(ctx, name, "guess")
			out = append(out, err)
		}
		return out
	}
	known, unknown := answers("known"), answers("nobody-here")
	for i := range known {
		if !errors.Is(unknown[i], known[i]) || !errors.Is(known[i], []error{ErrBadCredentials, ErrBadCredentials, ErrLocked, ErrLocked}[i]) {
			t.Fatalf("attempt %d: known %v, unknown %v", i+1, known[i], unknown[i])
		}
	}
}

// TestManyAddressesLockTheAccountButNotItsOwner: after GlobalAddresses
// addresses are each locked out within the window, the account is locked
// for every address but those it last signed in from; an unlock lifts all.
func TestManyAddressesLockTheAccountButNotItsOwner(t *testing.T) {
	s, c, _ := newService(t, 15*time.Minute)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "test", NewAccount{Username: "mgr", Name: "M", Role: Manager, Password: "right password"})
	if err != nil {
		t.Fatal(err)
	}
	owner := WithClient(ctx, "10.0.0.5")
	if _, err := s.Authenticate(owner, "mgr", "right password"); err != nil {
		t.Fatal(err)
	}
	for i := range GlobalAddresses {
		from := WithClient(ctx, fmt.Sprintf("198.51.100.%d", i+1))
		for range MaxFailures {
			_, _ = s.Authenticate(from, "mgr", "guess")
		}
		c.Advance(time.Minute)
	}
	newcomer := WithClient(ctx, "198.51.100.200")
	if _, err := s.Authenticate(newcomer, "mgr", "right password"); !errors.Is(err, ErrLocked) {
		t.Fatalf("a new address during the account-wide lock: %v, want locked", err)
	}
	if got, _ := s.Account(a.ID); !got.Locked(c.Now()) {
		t.Fatal("the account-wide lock is not on the account")
	}
	if _, err := s.Authenticate(owner, "mgr", "right password"); err != nil {
		t.Fatalf("the owner's own address during the account-wide lock: %v", err)
	}
	if err := s.Unlock(ctx, "test", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(newcomer, "mgr", "right password"); err != nil {
		t.Fatalf("after the unlock: %v", err)
	}
	if _, err := s.Authenticate(WithClient(ctx, "198.51.100.1"), "mgr", "right password"); err != nil {
		t.Fatalf("a locked-out address after the unlock: %v", err)
	}
}

// TestWrongCurrentPasswordsCountTowardTheLock: three wrong current
// passwords on the password page lock sign-ins from that address.
func TestWrongCurrentPasswordsCountTowardTheLock(t *testing.T) {
	s, _, _ := newService(t, 15*time.Minute)
	ctx := WithClient(context.Background(), "192.168.1.30")
	a, err := s.CreateAccount(ctx, "test", NewAccount{Username: "host1", Name: "H", Role: Host, Password: "right password"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"wrong_password", "wrong_password", "account_locked", "account_locked"} {
		err := s.ChangeOwnPassword(ctx, a.ID, "guess", "a new password 1")
		var es field.Errors
		if !errors.As(err, &es) || es.For("current").Code != want {
			t.Fatalf("attempt %d: %v, want %s", i+1, err, want)
		}
	}
	if _, err := s.Authenticate(ctx, "host1", "right password"); !errors.Is(err, ErrLocked) {
		t.Fatalf("sign-in after three wrong current passwords: %v, want locked", err)
	}
}
