package visit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"gatehouse/appliance/field"
	"gatehouse/appliance/screen"
)

// sms records the codes the service sends.
type sms struct {
	mu    sync.Mutex
	ready bool
	sent  map[string][]string // mobile → codes
}

func (s *sms) SMSReady() bool { return s.ready }

func (s *sms) SendCode(_ context.Context, mobile, _, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == nil {
		s.sent = map[string][]string{}
	}
	s.sent[mobile] = append(s.sent[mobile], code)
	return nil
}

func (s *sms) last(mobile string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.sent[mobile]
	if len(cs) == 0 {
		return ""
	}
	return cs[len(cs)-1]
}

func codeErr(err error) string {
	var es field.Errors
	if errors.As(err, &es) {
		return es.For("code").Code
	}
	return fmt.Sprint(err)
}

// TestWhitelistedBookingNeedsThePhoneCode: with an SMS channel, a booking
// for a whitelisted number gets a pass only once the code sent to that
// number is typed back. Before, the number alone approved it.
func TestWhitelistedBookingNeedsThePhoneCode(t *testing.T) {
	f := newFixture(t)
	screen.Register(f.st)
	sc := screen.New(f.st, f.clk, f.keys)
	f.svc.WithScreener(sc)
	phone := &sms{ready: true}
	f.svc.WithCodeSender(phone)
	ctx := context.Background()
	if _, err := sc.Add(ctx, "account:mgr", screen.Input{List: screen.White, Mobile: "13812340000", Reason: "VIP"}); err != nil {
		t.Fatal(err)
	}
	if !f.svc.PhoneCheckNeeded() {
		t.Fatal("an SMS channel is there, yet no phone check")
	}
	q := f.request()
	q.Mobile = "13812340000"
	ticket, err := f.svc.StartBooking(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	code := phone.last("13812340000")
	if len(code) != CodeDigits {
		t.Fatalf("code %q sent, want %d digits", code, CodeDigits)
	}
	if vs, _ := f.svc.ForHost(f.host.ID, 10); len(vs) != 0 {
		t.Fatal("a booking was recorded before its code was typed")
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, _, err := f.svc.ConfirmBooking(ctx, ticket, wrong); codeErr(err) != "code_wrong" {
		t.Fatalf("wrong code: %v", err)
	}
	v, _, err := f.svc.ConfirmBooking(ctx, ticket, code)
	if err != nil || v.State != Approved || v.PassID == "" {
		t.Fatalf("right code: %+v %v", v, err)
	}
	if _, _, err := f.svc.ConfirmBooking(ctx, ticket, code); codeErr(err) != "code_expired" {
		t.Fatalf("a ticket used twice: %v", err)
	}
}

// TestPhoneCodeRules: three tries, five minutes, a resend once a minute and
// at most three times, each resend a new code.
func TestPhoneCodeRules(t *testing.T) {
	f := newFixture(t)
	phone := &sms{ready: true}
	f.svc.WithCodeSender(phone)
	ctx := context.Background()
	start := func() (string, string) {
		t.Helper()
		q := f.request()
		ticket, err := f.svc.StartBooking(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return ticket, phone.last(q.Mobile)
	}
	m := NormalizeMobile(f.request().Mobile)
	other := func(code string) string {
		if code == "123456" {
			return "654321"
		}
		return "123456"
	}

	ticket, code := start()
	for i, want := range []string{"code_wrong", "code_wrong", "code_expired"} {
		if _, _, err := f.svc.ConfirmBooking(ctx, ticket, other(code)); codeErr(err) != want {
			t.Fatalf("wrong code %d: %v, want %s", i+1, err, want)
		}
	}
	if _, _, err := f.svc.ConfirmBooking(ctx, ticket, code); codeErr(err) != "code_expired" {
		t.Fatalf("the right code after three wrong ones: %v", err)
	}

	ticket, code = start()
	f.clk.Advance(CodeTTL)
	if _, _, err := f.svc.ConfirmBooking(ctx, ticket, code); codeErr(err) != "code_expired" {
		t.Fatalf("a code after 5 minutes: %v", err)
	}

	ticket, first := start()
	if err := f.svc.ResendCode(ctx, ticket); codeErr(err) != "code_resend_wait" {
		t.Fatalf("a resend at once: %v", err)
	}
	for i := range MaxResends {
		f.clk.Advance(ResendAfter)
		if err := f.svc.ResendCode(ctx, ticket); err != nil {
			t.Fatalf("resend %d: %v", i+1, err)
		}
	}
	f.clk.Advance(ResendAfter)
	if err := f.svc.ResendCode(ctx, ticket); codeErr(err) != "code_no_more" {
		t.Fatalf("a fourth resend: %v", err)
	}
	if n := len(phone.sent[m]); n != 4+2 {
		t.Fatalf("%d texts to the number, want 6", n)
	}
	latest := phone.last(m)
	if latest != first {
		if _, _, err := f.svc.ConfirmBooking(ctx, ticket, first); codeErr(err) != "code_wrong" {
			t.Fatalf("the replaced code: %v", err)
		}
	}
	if _, _, err := f.svc.ConfirmBooking(ctx, ticket, latest); err != nil {
		t.Fatalf("the latest code: %v", err)
	}
}

// TestBookingFloodLimits: one mobile books at most MobileBurst times in a
// row, and a host has at most MaxPendingPerHost unanswered requests.
// Before, 200 bookings in 1.2 s were all accepted.
func TestBookingFloodLimits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range MobileBurst {
		if _, _, err := f.svc.Book(ctx, f.request()); err != nil {
			t.Fatalf("booking %d: %v", i+1, err)
		}
	}
	if _, _, err := f.svc.Book(ctx, f.request()); !errors.Is(err, ErrTooManyBookings) {
		t.Fatalf("booking %d of one mobile: %v", MobileBurst+1, err)
	}
	f.clk.Advance(MobileEvery)
	if _, _, err := f.svc.Book(ctx, f.request()); err != nil {
		t.Fatalf("after %s: %v", MobileEvery, err)
	}
	for i := MobileBurst + 1; i < MaxPendingPerHost; i++ {
		q := f.request()
		q.Mobile = fmt.Sprintf("1390000%04d", i)
		if _, _, err := f.svc.Book(ctx, q); err != nil {
			t.Fatalf("booking %d for the host: %v", i+1, err)
		}
	}
	q := f.request()
	q.Mobile = "13999999999"
	if _, _, err := f.svc.Book(ctx, q); !errors.Is(err, ErrHostBusy) {
		t.Fatalf("request %d waiting for one host: %v", MaxPendingPerHost+1, err)
	}
	if _, err := f.svc.StartBooking(ctx, q); !errors.Is(err, ErrHostBusy) {
		t.Fatalf("a phone check for a busy host: %v", err)
	}
}
