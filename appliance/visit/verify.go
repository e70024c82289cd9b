package visit

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
	"gatehouse/appliance/throttle"
)

// Phone verification of self-service bookings, and the limits that keep a
// stranger from flooding hosts (docs/decisions.md).
//
// Whoever types a mobile number on the booking page need not hold that
// phone, so a whitelisted number alone proved nothing. When an SMS channel
// is configured, a booking is accepted only after the visitor types the
// one-time code sent to the number: CodeDigits digits, valid CodeTTL,
// CodeTries tries, a new code at most every ResendAfter. Without an SMS
// channel nothing can prove it, and a whitelisted self-service booking
// goes to the host like any other, marked as whitelisted.
//
// Pending bookings wait in memory (a restart asks the visitor to start
// again), at most maxPending of them; the code is kept only as a hash.

// CodeSender sends one-time codes by text message.
type CodeSender interface {
	SMSReady() bool
	SendCode(ctx context.Context, mobile, lang, code string) error // lang: the booking page's
}

// Phone-check and booking-flood limits.
const (
	CodeDigits  = 6
	CodeTTL     = 5 * time.Minute
	CodeTries   = 3
	ResendAfter = time.Minute
	MaxResends  = 3

	// A mobile number books at most MobileBurst times, then one more every
	// MobileEvery; a host has at most MaxPendingPerHost unanswered
	// self-service requests.
	MobileBurst       = 5
	MobileEvery       = 12 * time.Minute
	MaxPendingPerHost = 20

	maxPending = 2000
)

// Booking errors.
var (
	ErrTooManyBookings = errors.New("visit: too many bookings for this mobile number")
	ErrHostBusy        = errors.New("visit: the host has too many unanswered requests")
	ErrBusy            = errors.New("visit: too many bookings waiting for their code")
)

type pendingBooking struct {
	q       Request
	code    [32]byte
	expires time.Time
	tries   int
	sent    time.Time
	resends int
}

// bookingGate holds the pending bookings and the per-mobile limit.
type bookingGate struct {
	mu      sync.Mutex
	pending map[string]*pendingBooking
	mobiles *throttle.Limiter
}

func newBookingGate() *bookingGate {
	return &bookingGate{pending: map[string]*pendingBooking{}, mobiles: throttle.New(MobileEvery, MobileBurst, 20000)}
}

// WithCodeSender gives the service the SMS channel for phone checks.
func (s *Service) WithCodeSender(cs CodeSender) *Service {
	s.codes = cs
	return s
}

// PhoneCheckNeeded reports whether a self-service booking must prove its
// phone now: an SMS channel is there to send the code.
func (s *Service) PhoneCheckNeeded() bool { return s.codes != nil && s.codes.SMSReady() }

func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return fmt.Sprintf("%0*d", CodeDigits, n.Int64())
}

func codeHash(ticket, code string) [32]byte { return sha256.Sum256([]byte(ticket + ":" + code)) }

// checkFlood refuses a booking past the per-mobile or per-host limit. It
// takes a token of the mobile's bucket only when take is set.
func (s *Service) checkFlood(q Request, take bool) error {
	now := s.clock.Now()
	key := s.keys.Blind("mobile", q.Mobile)
	if take && !s.gate.mobiles.Allow(key, now) || !take && !s.gate.mobiles.Peek(key, now) {
		return ErrTooManyBookings
	}
	n := 0
	err := s.db.View(func(r *store.Reader) error {
		vs, err := ForHost(r, q.HostID, 200)
		for _, v := range vs {
			if v.State == Requested {
				n++
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if n >= MaxPendingPerHost {
		return ErrHostBusy
	}
	return nil
}

// StartBooking checks a booking and, instead of recording it, sends a code
// to its mobile number; ConfirmBooking with the ticket and the code records
// it. Use it when PhoneCheckNeeded.
func (s *Service) StartBooking(ctx context.Context, q Request) (ticket string, err error) {
	if es := CheckRequest(&q, s.clock.Now(), true); len(es) > 0 {
		return "", es
	}
	if err := s.checkFlood(q, false); err != nil {
		return "", err
	}
	now := s.clock.Now()
	ticket = newLinkToken()
	code := newCode()
	s.gate.mu.Lock()
	for t, p := range s.gate.pending {
		if !now.Before(p.expires) {
			delete(s.gate.pending, t)
		}
	}
	if len(s.gate.pending) >= maxPending {
		s.gate.mu.Unlock()
		return "", ErrBusy
	}
	s.gate.pending[ticket] = &pendingBooking{q: q, code: codeHash(ticket, code), expires: now.Add(CodeTTL), sent: now}
	s.gate.mu.Unlock()
	if err := s.codes.SendCode(ctx, q.Mobile, q.Lang, code); err != nil {
		s.gate.mu.Lock()
		delete(s.gate.pending, ticket)
		s.gate.mu.Unlock()
		// Not the visitor's field to fix: the outbox refused our text.
		return "", fmt.Errorf("visit: sending the phone code: %v", err)
	}
	return ticket, nil
}

// ResendCode sends a new code for a pending booking, at most every
// ResendAfter and MaxResends times; the new code has its own tries and time.
func (s *Service) ResendCode(ctx context.Context, ticket string) error {
	now := s.clock.Now()
	code := newCode()
	s.gate.mu.Lock()
	p := s.gate.pending[ticket]
	switch {
	case p == nil:
		s.gate.mu.Unlock()
		return field.Errors{{Field: "code", Code: "code_expired"}}
	case now.Sub(p.sent) < ResendAfter:
		s.gate.mu.Unlock()
		return field.Errors{{Field: "code", Code: "code_resend_wait", Arg: strconv.Itoa(int((ResendAfter - now.Sub(p.sent) + time.Second - 1) / time.Second))}}
	case p.resends >= MaxResends:
		s.gate.mu.Unlock()
		return field.Errors{{Field: "code", Code: "code_no_more"}}
	}
	p.code, p.expires, p.tries, p.sent = codeHash(ticket, code), now.Add(CodeTTL), 0, now
	p.resends++
	mobile, lang := p.q.Mobile, p.q.Lang
	s.gate.mu.Unlock()
	if err := s.codes.SendCode(ctx, mobile, lang, code); err != nil {
		return fmt.Errorf("visit: sending the phone code: %v", err)
	}
	return nil
}

// PendingMobile is the masked number a pending booking's code went to.
func (s *Service) PendingMobile(ticket string) (string, bool) {
	s.gate.mu.Lock()
	defer s.gate.mu.Unlock()
	p := s.gate.pending[ticket]
	if p == nil {
		return "", false
	}
	return MaskMobile(p.q.Mobile), true
}

// ConfirmBooking records the pending booking of ticket when code is the
// one sent: the phone is proven, so a whitelisted number is approved.
// A wrong code is a field error on "code"; the third wrong one, or a code
// past its time, ends the booking.
func (s *Service) ConfirmBooking(ctx context.Context, ticket, code string) (Visit, string, error) {
	now := s.clock.Now()
	s.gate.mu.Lock()
	p := s.gate.pending[ticket]
	if p == nil || !now.Before(p.expires) {
		delete(s.gate.pending, ticket)
		s.gate.mu.Unlock()
		return Visit{}, "", field.Errors{{Field: "code", Code: "code_expired"}}
	}
	want := codeHash(ticket, code)
	if subtle.ConstantTimeCompare(want[:], p.code[:]) != 1 {
		p.tries++
		left := CodeTries - p.tries
		if left <= 0 {
			delete(s.gate.pending, ticket)
			s.gate.mu.Unlock()
			return Visit{}, "", field.Errors{{Field: "code", Code: "code_expired"}}
		}
		s.gate.mu.Unlock()
		return Visit{}, "", field.Errors{{Field: "code", Code: "code_wrong", Arg: strconv.Itoa(left)}}
	}
	delete(s.gate.pending, ticket)
	q := p.q
	s.gate.mu.Unlock()
	q.PhoneVerified = true
	return s.Book(ctx, q)
}
