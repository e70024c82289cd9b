package appliance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/field"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/throttle"
	"gatehouse/appliance/visit"
)

// Employees' self sign-up (docs/decisions.md, "Employees activate their
// own host account"). An employee in the directory who may host, and has no
// account yet, proves their mobile with a one-time code sent to it and
// chooses a username and password: the result is a host account linked to
// them. Nobody else can: the number must be exactly one such person's.
//
// The code follows the booking page's phone check (appliance/visit/
// verify.go): visit.CodeDigits digits, valid visit.CodeTTL, visit.CodeTries
// tries, kept only as a hash, pending in memory. What differs is that the
// answer never tells whether the number is known: every well-formed number
// gets a ticket, and a number that matches nobody (or someone who cannot
// sign up) gets a decoy whose code was never sent, so every code typed for
// it is "wrong" exactly as a mistyped real one. A number asks for at most
// SignupBurst codes, then one more every SignupEvery, known or not.

// KindSignupCode is the text message with a sign-up code.
const KindSignupCode = "account.signup_code"

// Sign-up limits per mobile number.
const (
	SignupBurst = 3
	SignupEvery = 20 * time.Minute

	maxSignups = 2000
)

// Sign-up errors.
var (
	// ErrSignupUnavailable: no SMS channel, so no phone can be proven.
	ErrSignupUnavailable = errors.New("appliance: sign-up needs an SMS channel")
	ErrSignupBusy        = errors.New("appliance: too many sign-ups waiting for their code")
)

type pendingSignup struct {
	personID string // "" for a decoy: a number nobody can sign up with
	code     [32]byte
	expires  time.Time
	tries    int
}

type signupGate struct {
	mu      sync.Mutex
	pending map[string]*pendingSignup
	mobiles *throttle.Limiter
	create  sync.Mutex // one account creation at a time: "no account yet" holds
}

func newSignupGate() *signupGate {
	return &signupGate{pending: map[string]*pendingSignup{}, mobiles: throttle.New(SignupEvery, SignupBurst, 20000)}
}

// SignupReady reports whether employees can sign up now: an SMS channel
// is there to send the code.
func (a *App) SignupReady() bool { return a.Notify.SMSEnabled() }

// signupPerson is the one person who may sign up with mobile, or "".
func (a *App) signupPerson(mobile string) (directory.Person, bool, error) {
	ps, err := a.Directory.PeopleByMobile(mobile)
	if err != nil || len(ps) != 1 {
		return directory.Person{}, false, err
	}
	p := ps[0]
	if !p.Active || !p.CanHost || p.Purged != 0 {
		return p, false, nil
	}
	has, err := a.hasAccount(p.ID)
	return p, !has && err == nil, err
}

func (a *App) hasAccount(personID string) (bool, error) {
	as, err := a.Auth.Accounts()
	if err != nil {
		return false, err
	}
	for _, acc := range as {
		if acc.PersonID == personID {
			return true, nil
		}
	}
	return false, nil
}

func signupHash(ticket, code string) [32]byte {
	return sha256.Sum256([]byte("signup:" + ticket + ":" + code))
}

func randomCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return fmt.Sprintf("%0*d", visit.CodeDigits, n.Int64())
}

func randomTicket() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StartSignup answers a mobile number typed on the sign-up page with a
// ticket, the same for every well-formed number; the code goes by SMS, in
// lang, only to a number that may sign up.
func (a *App) StartSignup(ctx context.Context, mobile, lang string) (string, error) {
	if !a.SignupReady() {
		return "", ErrSignupUnavailable
	}
	m := directory.NormalizeMobile(mobile)
	if !directory.ValidMobile(m) {
		return "", field.Errors{{Field: "mobile", Code: "invalid_mobile"}}
	}
	now := a.Clock.Now()
	if !a.signup.mobiles.Allow(a.Keys.Blind(directory.BlindMobile, m), now) {
		return "", field.Errors{{Field: "mobile", Code: "signup_too_many"}}
	}
	p, ok, err := a.signupPerson(m)
	if err != nil {
		return "", err
	}
	ticket, code := randomTicket(), randomCode()
	ps := &pendingSignup{code: signupHash(ticket, code), expires: now.Add(visit.CodeTTL)}
	if ok {
		ps.personID = p.ID
	} else {
		ps.code = signupHash(ticket, randomTicket()) // no code typed matches it
	}
	a.signup.mu.Lock()
	for t, q := range a.signup.pending {
		if !now.Before(q.expires) {
			delete(a.signup.pending, t)
		}
	}
	if len(a.signup.pending) >= maxSignups {
		a.signup.mu.Unlock()
		return "", ErrSignupBusy
	}
	a.signup.pending[ticket] = ps
	a.signup.mu.Unlock()
	if !ok {
		return ticket, nil
	}
	if lang != "zh" && lang != "en" {
		lang = a.Settings().Language
	}
	if err := a.Notify.Tell(ctx, "signup", notify.Recipient{Phone: m, Lang: lang}, signupCodeNote(code)); err != nil {
		a.signup.mu.Lock()
		delete(a.signup.pending, ticket)
		a.signup.mu.Unlock()
		return "", fmt.Errorf("appliance: sending the sign-up code: %w", err)
	}
	return ticket, nil
}

// SignupForm is what the employee types once the code has come.
type SignupForm struct {
	Ticket, Code, Username, Password string
}

// ConfirmSignup creates the host account of the pending sign-up of
// f.Ticket when f.Code is the code sent. A wrong code is a field error on
// "code"; the last wrong one, or a code past its time, ends the sign-up.
// Username and password errors leave the sign-up and its code as they were.
func (a *App) ConfirmSignup(ctx context.Context, f SignupForm) (auth.Account, error) {
	now := a.Clock.Now()
	a.signup.mu.Lock()
	p := a.signup.pending[f.Ticket]
	if p == nil || !now.Before(p.expires) {
		delete(a.signup.pending, f.Ticket)
		a.signup.mu.Unlock()
		return auth.Account{}, field.Errors{{Field: "code", Code: "signup_code_expired"}}
	}
	want := signupHash(f.Ticket, f.Code)
	if subtle.ConstantTimeCompare(want[:], p.code[:]) != 1 {
		p.tries++
		left := visit.CodeTries - p.tries
		if left <= 0 {
			delete(a.signup.pending, f.Ticket)
			a.signup.mu.Unlock()
			return auth.Account{}, field.Errors{{Field: "code", Code: "signup_code_expired"}}
		}
		a.signup.mu.Unlock()
		return auth.Account{}, field.Errors{{Field: "code", Code: "code_wrong", Arg: strconv.Itoa(left)}}
	}
	personID := p.personID
	a.signup.mu.Unlock()

	a.signup.create.Lock()
	defer a.signup.create.Unlock()
	person, err := a.Directory.Person(personID)
	if err != nil {
		return auth.Account{}, err
	}
	has, err := a.hasAccount(personID)
	if err != nil {
		return auth.Account{}, err
	}
	if has || !person.Active || !person.CanHost {
		a.endSignup(f.Ticket)
		return auth.Account{}, field.Errors{{Field: "code", Code: "signup_has_account"}}
	}
	acc, err := a.Auth.CreateAccount(ctx, "signup:"+personID, auth.NewAccount{Username: f.Username, Name: person.Name,
		Role: auth.Host, PersonID: personID, Password: f.Password})
	if err != nil {
		return acc, err
	}
	a.endSignup(f.Ticket)
	return a.Auth.Account(acc.ID)
}

func (a *App) endSignup(ticket string) {
	a.signup.mu.Lock()
	delete(a.signup.pending, ticket)
	a.signup.mu.Unlock()
}

// SignupPending reports whether ticket is a sign-up waiting for its code.
func (a *App) SignupPending(ticket string) bool {
	a.signup.mu.Lock()
	defer a.signup.mu.Unlock()
	p := a.signup.pending[ticket]
	return p != nil && a.Clock.Now().Before(p.expires)
}
