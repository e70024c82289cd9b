package appliance

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/screen"
	"gatehouse/appliance/visit"
)

// TestVisitEventsBecomeNotifications: the host hears of an application and
// of the arrival, in the page; the desk hears of an unanswered request.
func TestVisitEventsBecomeNotifications(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	host, ha := testHost(t, a)
	desk, _ := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "desk1", Name: "Desk", Role: auth.Reception, Password: "desk-password"})
	v, _, err := a.Visits.Book(ctx, visit.Request{Name: "访客 Zhao", Mobile: "13700137000", IDLast6: "123456", HostID: host.ID,
		Reason: "Interview", From: clk.Now().Add(2 * time.Hour), Until: clk.Now().Add(3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	to := func(account, kind string) bool {
		o, err := a.Notify.Outbox(50)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range o.Recent {
			if r.Channel == notify.InPage && r.To == account && r.Kind == kind {
				return true
			}
		}
		return false
	}
	if !to(ha.ID, notify.KindVisitRequested) {
		t.Fatal("the host was not told of the application")
	}
	// Unanswered for an hour: the desk is told.
	clk.Advance(61 * time.Minute)
	res, err := a.Visits.Sweep(ctx, visit.SweepRules{Location: time.UTC, DayEnd: 23*time.Hour + 59*time.Minute, EscalateAfter: 30 * time.Minute}, notices{a})
	if err != nil || res.Escalations != 1 {
		t.Fatalf("sweep = %+v %v", res, err)
	}
	if !to(desk.ID, visit.AlertEscalatedDesk) {
		t.Fatal("the desk was not told of the unanswered request")
	}
	v, _ = a.Visits.Decide(ctx, "t", v.ID, host.ID, true, "")
	clk.Advance(time.Hour)
	if err := a.Visits.Move(ctx, "gate", v.ID, visit.EvEnter, ""); err != nil {
		t.Fatal(err)
	}
	if !to(ha.ID, notify.KindVisitArrived) {
		t.Fatal("the host was not told of the arrival")
	}
}

func TestUnreturnedBadgesAlarmAtDayEnd(t *testing.T) {
	cfg, _ := config.Load("", []string{"GATEHOUSE_TIME_ZONE=UTC"})
	clk := clock.NewFake(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	ctx := context.Background()
	a, err := Open(ctx, t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f, _ := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "2F", Level: 2})
	co, _ := a.Directory.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	host, _ := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13800138000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "H1", CanHost: true})
	if _, _, err := a.Visits.WalkIn(ctx, "desk", visit.Request{Name: "W", Mobile: "13700137000", HostID: host.ID, Reason: "x",
		From: clk.Now(), Until: clk.Now().Add(time.Hour), Badge: "T-1"}); err != nil {
		t.Fatal(err)
	}
	done := a.badgeAlarm(ctx, "2026-11-22") // yesterday already dealt with
	if as, _ := a.Access.Alarms(true, 10); len(as) != 0 || done != "2026-11-22" {
		t.Fatalf("alarm before the day's end: %+v %s", as, done)
	}
	clk.Set(time.Date(2026, 11, 23, 23, 59, 30, 0, time.UTC))
	done = a.badgeAlarm(ctx, done)
	done = a.badgeAlarm(ctx, done) // once only
	as, _ := a.Access.Alarms(true, 10)
	if len(as) != 1 || as[0].Kind != "unreturned_badges" || done != "2026-11-23" {
		t.Fatalf("alarms at day end: %+v %s", as, done)
	}
}

// hookRecorder is a webhook receiver for every format: it keeps the
// bodies by path and answers as the robots do.
type hookRecorder struct {
	mu     sync.Mutex
	bodies map[string][]string
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies[r.URL.Path] = append(h.bodies[r.URL.Path], string(b))
	h.mu.Unlock()
	io.WriteString(w, `{"errcode":0,"code":0}`)
}

type smsRecorder struct {
	mu   sync.Mutex
	sent []notify.Message
}

func (s *smsRecorder) Send(_ context.Context, m notify.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m)
	return nil
}

// TestPassLinkGoesOnlyToTheVisitor: the status link of a visit opens its
// pass, so it is the visitor's alone. When a visit is confirmed or
// declined the visitor's SMS carries it; the webhooks and robots that hear
// of the same event, and the staff's pages, get the news without it.
func TestPassLinkGoesOnlyToTheVisitor(t *testing.T) {
	cfg, _ := config.Load("", nil)
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	ctx := context.Background()
	a, err := Open(ctx, t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Notify.EnableSMS(true)
	hooks := &hookRecorder{bodies: map[string][]string{}}
	ts := httptest.NewServer(hooks)
	defer ts.Close()
	set := notify.Settings{BaseURL: "https://lobby.example.com"}
	for _, k := range notify.HookKinds {
		set.Webhooks = append(set.Webhooks, notify.Hook{Name: string(k), Kind: k, URL: ts.URL + "/" + string(k)})
	}
	if err := a.Notify.SaveSettings(ctx, "admin", set); err != nil {
		t.Fatal(err)
	}
	f, _ := a.Directory.SaveFloor(ctx, "t", directory.Floor{Name: "2F", Level: 2})
	co, _ := a.Directory.SaveCompany(ctx, "t", directory.Company{Name: "Acme", FloorIDs: []string{f.ID}})
	host, _ := a.Directory.SavePerson(ctx, "t", directory.Person{Kind: directory.Employee, Name: "Host", Mobile: "13800138000",
		CompanyID: co.ID, FloorID: f.ID, EmployeeNo: "H1", CanHost: true})
	if _, err := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "host1", Name: "Host", Role: auth.Host, PersonID: host.ID, Password: "host-password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Screen.Add(ctx, "t", screen.Input{List: screen.White, Mobile: "13500135000", Reason: "regular contractor"}); err != nil {
		t.Fatal(err)
	}
	request := func(name, mobile string) visit.Request {
		return visit.Request{Name: name, Mobile: mobile, IDLast6: "123456", HostID: host.ID, Reason: "Interview",
			From: clk.Now().Add(2 * time.Hour), Until: clk.Now().Add(3 * time.Hour)}
	}
	tokens := map[string]string{} // mobile: status token
	// Whitelisted, the phone proven: approved at booking.
	wl := request("Contractor", "13500135000")
	wl.PhoneVerified = true
	if v, tok, err := a.Visits.Book(ctx, wl); err != nil || v.State != visit.Approved {
		t.Fatalf("whitelisted booking: %+v %v", v, err)
	} else {
		tokens["13500135000"] = tok
	}
	// Invited by the host.
	if _, tok, err := a.Visits.Invite(ctx, "host1", request("Guest", "13700137001")); err != nil {
		t.Fatal(err)
	} else {
		tokens["13700137001"] = tok
	}
	// Booked, then approved by the host; booked, then declined.
	for mobile, approve := range map[string]bool{"13700137002": true, "13700137003": false} {
		v, tok, err := a.Visits.Book(ctx, request("Applicant", mobile))
		if err != nil {
			t.Fatal(err)
		}
		tokens[mobile] = tok
		if _, err := a.Visits.Decide(ctx, "host1", v.ID, host.ID, approve, "no room"); err != nil {
			t.Fatal(err)
		}
	}
	phone := &smsRecorder{}
	if _, err := notify.NewWorker(a.Notify, notify.WorkerOptions{Channels: map[notify.ChannelName]notify.Channel{notify.SMS: phone}}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}

	for mobile, tok := range tokens {
		var told bool
		for _, m := range phone.sent {
			if m.To == mobile && (m.Kind == notify.KindVisitApproved || m.Kind == notify.KindVisitRejected) {
				told = true
				if m.Link != "/v/"+tok {
					t.Errorf("SMS to the visitor %s: link %q, want their status link", mobile, m.Link)
				}
			}
		}
		if !told {
			t.Errorf("visitor %s was not told by SMS", mobile)
		}
	}
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	for _, k := range notify.HookKinds {
		bodies := hooks.bodies["/"+string(k)]
		if len(bodies) < len(tokens) {
			t.Errorf("%s got %d posts, want one for each confirmation and refusal at least", k, len(bodies))
		}
		for _, b := range bodies {
			leak := strings.Contains(b, "/v/")
			for _, tok := range tokens {
				leak = leak || strings.Contains(b, tok)
			}
			if leak {
				t.Errorf("%s was sent a visitor's status link: %s", k, b)
			}
		}
	}
	// Nothing but the visitor's own SMS carries a status link: not the
	// pages of staff, not email, not webhooks.
	ob, err := a.Notify.Outbox(100)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range ob.Recent {
		m, err := a.Notify.Open(rec)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.Link, "/v/") && m.Channel != notify.SMS {
			t.Errorf("%s message %s carries a status link", m.Channel, m.Kind)
		}
	}
}
