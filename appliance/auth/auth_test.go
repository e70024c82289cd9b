package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

func newService(t *testing.T, lockFor time.Duration) (*Service, *clock.Fake, *store.Store) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	Register(st)
	c := clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC))
	return New(st, c, lockFor), c, st
}

func TestLockoutAfterThreeWrongPasswords(t *testing.T) {
	s, c, st := newService(t, 15*time.Minute)
	ctx := context.Background()
	a, err := s.CreateAccount(ctx, "test", NewAccount{Username: "guard1", Name: "Guard", Role: Reception, Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		pw      string
		want    error
	}{
		{0, "wrong1", ErrBadCredentials},
		{0, "wrong2", ErrBadCredentials},
		{0, "correct horse", nil}, // a success resets the count
		{0, "wrong1", ErrBadCredentials},
		{0, "wrong2", ErrBadCredentials},
		{0, "wrong3", ErrLocked}, // third in a row locks
		{0, "correct horse", ErrLocked},
		{14 * time.Minute, "correct horse", ErrLocked},
		{2 * time.Minute, "correct horse", nil}, // lock expired after 15 min
	}
	for i, st := range steps {
		c.Advance(st.advance)
		_, err := s.Authenticate(ctx, "GUARD1", st.pw)
		if !errors.Is(err, st.want) && !(err == nil && st.want == nil) {
			t.Fatalf("step %d (%q): err = %v, want %v", i, st.pw, err, st.want)
		}
	}
	// The lock is on the audit trail.
	_ = st.View(func(r *store.Reader) error {
		es, _ := store.AuditFor(r, "account:"+a.ID, 100, 1000)
		found := false
		for _, e := range es {
			if strings.HasPrefix(e.Note, "locked") {
				found = true
			}
		}
		if !found {
			t.Error("no lock entry on the audit trail")
		}
		return nil
	})
}

func TestAdministratorUnlocks(t *testing.T) {
	s, _, _ := newService(t, 0) // 0: locked until an administrator unlocks
	ctx := context.Background()
	a, _ := s.CreateAccount(ctx, "test", NewAccount{Username: "host1", Name: "Host", Role: Host, Password: "pass-word-1"})
	for i := 0; i < 3; i++ {
		_, _ = s.Authenticate(ctx, "host1", "nope")
	}
	if _, err := s.Authenticate(ctx, "host1", "pass-word-1"); !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want locked", err)
	}
	got, _ := s.Account(a.ID)
	if locked, until := got.AnyLock(time.Now().Add(24 * 365 * time.Hour)); !locked || until != forever {
		t.Fatalf("lock should last until unlocked: %+v", got)
	}
	if err := s.Unlock(ctx, "account:admin", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "host1", "pass-word-1"); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestUnknownAndDisabledAccounts(t *testing.T) {
	s, _, _ := newService(t, time.Minute)
	ctx := context.Background()
	if _, err := s.Authenticate(ctx, "nobody", "x"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	a, _ := s.CreateAccount(ctx, "t", NewAccount{Username: "mgr", Name: "M", Role: Manager, Password: "manager-pass"})
	a.Disabled = true
	if err := s.Update(ctx, "t", a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, "mgr", "manager-pass"); !errors.Is(err, ErrDisabled) {
		t.Fatalf("disabled: %v", err)
	}
}

func TestCreateAccountValidation(t *testing.T) {
	s, _, _ := newService(t, time.Minute)
	ctx := context.Background()
	if _, err := s.CreateAccount(ctx, "t", NewAccount{Username: "taken", Name: "A", Role: Host, Password: "long-enough"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		n    NewAccount
		want string
	}{
		{NewAccount{Username: "x", Name: "A", Role: Host, Password: "long-enough"}, "username:invalid_username"},
		{NewAccount{Username: "TAKEN", Name: "A", Role: Host, Password: "long-enough"}, "username:username_taken"},
		{NewAccount{Username: "newone", Name: "A", Role: "king", Password: "long-enough"}, "role:invalid"},
		{NewAccount{Username: "newone", Name: "A", Role: Host, Password: "short"}, "password:password_too_short"},
		{NewAccount{Username: "newone1", Name: "A", Role: Host, Password: "NEWONE1x"[:7] + ""}, "password:password_too_short"},
		{NewAccount{Username: "newone12", Name: "A", Role: Host, Password: "NEWONE12"}, "password:password_is_username"},
		{NewAccount{Username: "newone", Name: "", Role: Host, Password: "long-enough"}, "name:required"},
	}
	for _, tc := range tests {
		_, err := s.CreateAccount(ctx, "t", tc.n)
		es, ok := field.As(err)
		if !ok || es[0].Field+":"+es[0].Code != tc.want {
			t.Errorf("%+v: err = %v, want %s", tc.n.Username, err, tc.want)
		}
	}
}

func TestBootstrapOnceWithRandomPassword(t *testing.T) {
	s, _, _ := newService(t, time.Minute)
	ctx := context.Background()
	u, pw, err := s.Bootstrap(ctx)
	if err != nil || u != "admin" || len(pw) != 16 {
		t.Fatalf("bootstrap = %q %q %v", u, pw, err)
	}
	a, err := s.Authenticate(ctx, "admin", pw)
	if err != nil || a.Role != Admin || !a.MustChange {
		t.Fatalf("sign-in with one-time password: %+v %v", a, err)
	}
	if _, pw2, _ := s.Bootstrap(ctx); pw2 != "" {
		t.Fatal("second bootstrap created another admin")
	}
	_, pw3, _ := func() (string, string, error) { s2, _, _ := newService(t, time.Minute); return s2.Bootstrap(ctx) }()
	if pw3 == pw {
		t.Fatal("one-time passwords repeat")
	}
	if err := s.ChangeOwnPassword(ctx, a.ID, "bad", "new-password"); err == nil {
		t.Fatal("changed password with a wrong current one")
	}
	if err := s.ChangeOwnPassword(ctx, a.ID, pw, "lobby-guard-7319-north"); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Account(a.ID); a.MustChange {
		t.Fatal("must-change flag still set")
	}
}

func TestTokens(t *testing.T) {
	s, _, _ := newService(t, time.Minute)
	ctx := context.Background()
	tok, tk, err := s.CreateToken(ctx, "t", "HR sync", Manager)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenFor(tok); err != nil || got.Role != Manager {
		t.Fatalf("TokenFor = %+v %v", got, err)
	}
	if _, err := s.TokenFor(tok + "x"); !errors.Is(err, ErrNotFound) {
		t.Fatal("altered token accepted")
	}
	if err := s.RevokeToken(ctx, "t", tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenFor(tok); !errors.Is(err, ErrNotFound) {
		t.Fatal("revoked token accepted")
	}
	ts, _ := s.Tokens()
	if len(ts) != 1 || !ts[0].Revoked || strings.Contains(ts[0].Hash, tok) {
		t.Fatalf("tokens = %+v", ts)
	}
}

func TestPasswordHashFormat(t *testing.T) {
	h, err := HashPassword("pässwörd 密码")
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %q %v", h, err)
	}
	if ok, _ := checkPassword(h, "pässwörd 密码"); !ok {
		t.Fatal("right password refused")
	}
	if ok, _ := checkPassword(h, "password"); ok {
		t.Fatal("wrong password accepted")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=99999999,t=2,p=1$AAAA$AAAA", "$bcrypt$x"} {
		if _, err := checkPassword(bad, "x"); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func FuzzCheckPassword(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdA$a2V5", "x")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		_, _ = checkPassword(hash, pw) // must not panic or allocate without bound
	})
}
