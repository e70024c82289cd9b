package demo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"gatehouse/appliance"
	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/stock"
	"gatehouse/appliance/store"
	"gatehouse/appliance/visit"
)

// HistoryOptions say which story SeedWithHistory tells: the demo
// building's last weeks, so that a newcomer's people-flow page, reports,
// key room and stock have something true to show on first start —
// employees' cards and quick passes at the gates with the morning and
// evening peaks and a lunchtime bump, visits of all four ways in (invited,
// booked and decided by the host, walk-ins at the desk with a badge, two
// conferences), a few refusals and alarms, key checkouts and returns (the
// last one overdue), stock received, handed over, issued, returned,
// written off and reconciled, announcements and messages.
//
// Everything goes through the services the pages and the gates use, so
// every record has its audit entry and every figure is computed the usual
// way. The app's clock must be one the story can set (clock.Fake,
// clock.Held): it stands at each step's time in turn, oldest first, so
// IDs, audit entries and hourly counters carry the times of the story.
//
// The same seed tells the same story — the same people at the same gates
// at the same times; what the services draw themselves (sealed bytes,
// pass secrets, IDs' random bits) differs from run to run. Notifications
// the story queues (a host told of an arrival) wait in the outbox for the
// worker, as after a night with the appliance off.
type HistoryOptions struct {
	Seed uint64    // the story
	Days int       // how far back it begins; 0: 28
	End  time.Time // when it ends: now
}

// HistoryStats counts what History wrote.
type HistoryStats struct {
	Days      int
	Visits    int // of every way in
	Passages  int // gate presentations, granted or not
	Denied    int
	Keys      int // checkouts
	StockMove int
	Commands  uint64 // audit entries
	Took      time.Duration
}

// ErrClockFixed means the app's clock cannot be set, so no history can be
// written at the times it tells of.
var ErrClockFixed = errors.New("demo: the history needs a clock it can set (clock.Fake or clock.Held)")

type settable interface{ Set(time.Time) }

// step is one thing that happens, at its time.
type step struct {
	at  time.Time
	seq int // insertion order breaks ties
	do  func(ctx context.Context) error
}

type worker struct {
	employee  directory.Person
	card      string
	quickID   string
	quickRaw  []byte
	home      string // lane ID usually used
	homeName  string
	enterByQR bool
}

type guest struct {
	name, title, mobile, id18, company string
}

// visitState carries a visit from the step that makes it to those that use it.
type visitState struct {
	v     visit.Visit
	token string
}

type historian struct {
	a        *appliance.App
	clk      settable
	rnd      *rand.Rand // the story's only source of chance
	loc      *time.Location
	begin    time.Time
	end      time.Time
	steps    []step
	stats    HistoryStats
	g        gateSetup
	workers  []*worker
	hosts    []directory.Person // who receive visitors, the demo host first
	guests   []guest
	admin    auth.Account
	manager  auth.Account
	guard    auth.Account
	host     auth.Account // the host employee's account
	empGroup access.Group // "Employees": the tenants' cards
}

// SeedWithHistory seeds the demo building (Seed) at the story's beginning
// and writes its history up to o.End; see HistoryOptions. Like Seed it
// does nothing (nil logins) when the building has accounts already. The
// story begins at local midnight o.Days days before o.End's day, so the
// dashboard's same-weekday averages have all their weeks; the clock must
// not stand later than that when it is called.
func SeedWithHistory(ctx context.Context, a *appliance.App, o HistoryOptions) ([]Login, HistoryStats, error) {
	started := time.Now()
	h, err := newHistorian(a, o)
	if err != nil {
		return nil, HistoryStats{}, err
	}
	if has, err := a.Auth.HasAccounts(); err != nil || has {
		return nil, HistoryStats{}, err
	}
	seq0, err := auditSeq(a)
	if err != nil {
		return nil, h.stats, err
	}
	h.clk.Set(h.begin)
	logins, err := Seed(ctx, a)
	if err != nil {
		return nil, h.stats, err
	}
	if err := h.cast(ctx); err != nil {
		return logins, h.stats, err
	}
	h.plan()
	if err := h.run(ctx); err != nil {
		return logins, h.stats, err
	}
	seq1, err := auditSeq(a)
	h.stats.Commands, h.stats.Took = seq1-seq0, time.Since(started)
	return logins, h.stats, err
}

func newHistorian(a *appliance.App, o HistoryOptions) (*historian, error) {
	clk, ok := a.Clock.(settable)
	if !ok {
		return nil, ErrClockFixed
	}
	if o.Days <= 0 {
		o.Days = 28
	}
	if o.End.IsZero() {
		o.End = a.Clock.Now()
	}
	loc := a.Config.Location
	return &historian{a: a, clk: clk, rnd: rand.New(rand.NewPCG(o.Seed, 0x6761746568)), loc: loc,
		begin: dayStart(o.End, loc).AddDate(0, 0, -o.Days), end: o.End, stats: HistoryStats{Days: o.Days}}, nil
}

// run does the planned steps, oldest first, each at its time, and leaves
// the clock at the end.
func (h *historian) run(ctx context.Context) error {
	slices.SortStableFunc(h.steps, func(x, y step) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.seq - y.seq
	})
	for _, s := range h.steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		h.clk.Set(s.at)
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("demo history at %s: %w", s.at.In(h.loc).Format("2006-01-02 15:04:05"), err)
		}
	}
	h.clk.Set(h.end)
	return nil
}

func auditSeq(a *appliance.App) (seq uint64, err error) {
	err = a.Store.View(func(r *store.Reader) error {
		seq, _, err = store.AuditHead(r)
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return err
	})
	return seq, err
}

// at adds a step, if it falls inside the story.
func (h *historian) at(t time.Time, do func(ctx context.Context) error) {
	if !t.After(h.begin) || !t.Before(h.end) {
		return
	}
	h.steps = append(h.steps, step{at: t, seq: len(h.steps), do: do})
}

// clockAt is the local time hh:mm on day, with a few seconds of jitter.
func (h *historian) clockAt(day time.Time, hh, mm int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, hh, mm, 0, 0, h.loc).Add(time.Duration(h.rnd.IntN(60)) * time.Second)
}

// around is t moved by up to spread either way, most often little.
func (h *historian) around(t time.Time, spread time.Duration) time.Time {
	f := h.rnd.Float64() + h.rnd.Float64() + h.rnd.Float64() - 1.5 // -1.5..1.5, bell-shaped
	return t.Add(time.Duration(f / 1.5 * float64(spread)))
}

func (h *historian) pick(n int) int { return h.rnd.IntN(n) }

func (h *historian) chance(p float64) bool { return h.rnd.Float64() < p }

// cast finds the people and places of the story and gives every employee a
// card and a quick pass. It runs at the story's beginning.
func (h *historian) cast(ctx context.Context) error {
	a := h.a
	g, err := gates(ctx, a)
	if err != nil {
		return err
	}
	h.g = g
	accounts, err := a.Auth.Accounts()
	if err != nil {
		return err
	}
	for _, acc := range accounts {
		switch acc.Username {
		case "admin":
			h.admin = acc
		case "manager":
			h.manager = acc
		case "guard":
			h.guard = acc
		case "host":
			h.host = acc
		}
	}
	if h.admin.ID == "" || h.manager.ID == "" || h.guard.ID == "" || h.host.ID == "" {
		return errors.New("demo history: the demo accounts are missing (Seed first)")
	}
	pg, err := a.Directory.Search(directory.Query{Kind: directory.Employee, Limit: directory.MaxPageSize})
	if err != nil {
		return err
	}
	h.empGroup, err = findOrSave(a.Access.Groups, func(g access.Group) string { return g.Name }, "Employees", func() (access.Group, error) {
		return a.Access.SaveGroup(ctx, h.actor(h.admin), access.Group{Name: "Employees", ZoneIDs: []string{g.zone.ID}})
	})
	if err != nil {
		return err
	}
	lanes := []access.Lane{g.lanes[LaneA], g.lanes[LaneB]}
	people := pg.People
	slices.SortFunc(people, func(x, y directory.Person) int { return strings.Compare(x.EmployeeNo, y.EmployeeNo) })
	for i, p := range people {
		if !p.Active {
			continue
		}
		if p.CanHost {
			if p.ID == h.host.PersonID {
				h.hosts = append([]directory.Person{p}, h.hosts...)
			} else {
				h.hosts = append(h.hosts, p)
			}
		}
		w := &worker{employee: p, card: fmt.Sprintf("0E%06X", 0x100000+i), home: lanes[i%2].ID, homeName: lanes[i%2].Name,
			enterByQR: i%4 == 3}
		cred, err := a.Access.Enrol(ctx, h.actor(h.admin), access.Credential{Kind: access.Card, Number: w.card,
			HolderKind: access.HolderEmployee, HolderID: p.ID, HolderName: p.Name, GroupIDs: []string{h.empGroup.ID}})
		if err != nil {
			return fmt.Errorf("card of %s: %w", p.EmployeeNo, err)
		}
		q, err := a.Access.IssueQuickPass(ctx, h.actor(h.admin), a.Keys, cred)
		if err != nil {
			return err
		}
		if w.quickRaw, err = access.QuickSecret(a.Keys, q); err != nil {
			return err
		}
		w.quickID = q.ID
		h.workers = append(h.workers, w)
	}
	if len(h.workers) == 0 || len(h.hosts) == 0 {
		return errors.New("demo history: no employees (Seed first)")
	}
	given := []string{"建国", "晓明", "丽华", "志强", "秀英", "海涛", "雪梅", "俊杰", "玉兰", "子轩", "欣怡", "浩然"}
	family := []string{"孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许"}
	firms := []string{"华信咨询", "中远物流", "恒通电子", "立达会计师事务所", "", "新世纪广告", "", "东方建设"}
	for i := range 90 {
		n := family[i%len(family)] + given[(i*5+i/len(family))%len(given)]
		title := []string{"先生", "女士"}[i%2]
		h.guests = append(h.guests, guest{name: n, title: title, mobile: fmt.Sprintf("1365550%04d", i),
			id18: fmt.Sprintf("3101041985%02d%02d%03d%d", 1+i%12, 1+i%28, 100+i, i%10), company: firms[i%len(firms)]})
	}
	return nil
}

func (h *historian) actor(acc auth.Account) string { return "account:" + acc.ID }

// plan lays out every day of the story.
func (h *historian) plan() {
	first := dayStart(h.begin, h.loc)
	last := dayStart(h.end, h.loc)
	h.at(h.begin.Add(95*time.Minute), h.returnKey(nil, "K-1201", h.guard)) // Seed's checkout
	h.at(h.begin.Add(3*time.Hour), h.announce("电梯维保 Lift maintenance", notice.Everyone,
		"本周六 9:00–12:00 2 号电梯停运维保。Lift 2 is out of service on Saturday 9:00–12:00.", true))
	conferences := 0
	n := 0
	for day := first; !day.After(last); day = day.AddDate(0, 0, 1) {
		wd := day.Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		n++
		h.employees(day, weekend, n)
		h.visits(day, weekend)
		if !weekend && (wd == time.Tuesday || wd == time.Thursday) && conferences < 2 && n > 7 && (conferences == 0 || n > 17) {
			conferences++
			h.conference(day, conferences)
		}
		if !weekend {
			h.keyDay(day)
			h.reconcile(day)
		}
		h.oddities(day, n, weekend, day.Equal(last))
		// The day's end: the same sweeps serve runs every minute.
		sweepAt := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, h.loc).Add(h.a.Config.DayEndDur).Add(30 * time.Second)
		h.at(sweepAt, h.sweep)
	}
	h.stockStory(first)
	// The last key out is not back when due: overdue now.
	var late keys.Checkout
	out := h.lateKeyAt()
	h.at(out, h.checkout(&late, "K-0302", h.guard, "maintenance", out.Add(2*time.Hour)))
}

// lateKeyAt is when the key now overdue went out: the last afternoon whose
// due time has passed.
func (h *historian) lateKeyAt() time.Time {
	y, m, d := h.end.In(h.loc).Date()
	t := time.Date(y, m, d, 15, 0, 0, 0, h.loc)
	if !t.Add(2 * time.Hour).Before(h.end) {
		t = t.AddDate(0, 0, -1)
	}
	return t
}

func dayStart(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// present decides a presentation at a lane, as a reader would hand it in.
func (h *historian) present(laneID, device string, dir gate.Direction, kind gate.CredentialKind, value func() string) func(context.Context) error {
	return func(ctx context.Context) error {
		v := value()
		if v == "" {
			return nil // the visit this was for never got a pass
		}
		act, err := h.a.Access.Decide(ctx, gate.Presentation{Lane: laneID, Direction: dir, Kind: kind, Value: v, Device: device,
			At: h.a.Clock.Now()})
		if err != nil {
			return err
		}
		h.stats.Passages++
		if !act.Open {
			h.stats.Denied++
		}
		return nil
	}
}

// badge in and quick pass out, or quick pass both ways.
func (h *historian) workerIn(w *worker, t time.Time) {
	lane, name := w.home, w.homeName
	if h.chance(0.2) { // the other gate today
		name = map[string]string{LaneA: LaneB, LaneB: LaneA}[name]
		lane = h.g.lanes[name].ID
	}
	if w.enterByQR {
		h.at(t, h.present(lane, name+" entry scanner", gate.In, gate.QR, h.quick(w)))
		return
	}
	device := name + " card reader"
	if name == LaneB && h.chance(0.5) {
		device = LaneB + " OSDP reader"
	}
	h.at(t, h.present(lane, device, gate.In, gate.Card, func() string { return w.card }))
}

func (h *historian) workerOut(w *worker, t time.Time) {
	h.at(t, h.present(w.home, w.homeName+" exit scanner", gate.Out, gate.QR, h.quick(w)))
}

// quick is the employee's rotating QR as the phone shows it at that moment.
func (h *historian) quick(w *worker) func() string {
	return func() string { return access.QuickText(w.quickID, w.quickRaw, h.a.Clock.Now()) }
}

// employees: most come in between 8 and 10 (a peak before 9), some go out
// for lunch, most leave between 17 and 19; a few come in on Saturday.
func (h *historian) employees(day time.Time, weekend bool, n int) {
	for i, w := range h.workers {
		if weekend {
			if day.Weekday() == time.Saturday && h.chance(0.1) {
				in := h.around(h.clockAt(day, 10, 30), 90*time.Minute)
				if !in.After(h.begin) {
					continue
				}
				h.workerIn(w, in)
				h.workerOut(w, in.Add(2*time.Hour+time.Duration(h.pick(180))*time.Minute))
			}
			continue
		}
		if h.chance(0.08) {
			continue // away today
		}
		in := h.around(h.clockAt(day, 8, 45), 70*time.Minute)
		if h.chance(0.1) {
			in = h.around(h.clockAt(day, 10, 0), 60*time.Minute) // a late start
		}
		out := h.around(h.clockAt(day, 18, 5), 65*time.Minute)
		if h.chance(0.1) {
			out = h.around(h.clockAt(day, 20, 0), 60*time.Minute) // working late
		}
		if !in.After(h.begin) {
			continue // came in before the story began
		}
		h.workerIn(w, in)
		if h.chance(0.3) {
			lunch := h.around(h.clockAt(day, 12, 10), 25*time.Minute)
			h.workerOut(w, lunch)
			h.workerIn(w, lunch.Add(time.Duration(30+h.pick(40))*time.Minute))
		}
		// Twice in the story someone follows a colleague out without
		// scanning, and the next morning's scan is a passback breach.
		if (n == 9 && i == 5) || (n == 16 && i == 22) {
			continue
		}
		h.workerOut(w, out)
	}
}

// visits: invitations, bookings the host decides, walk-ins.
func (h *historian) visits(day time.Time, weekend bool) {
	invites, bookings, walkins := 3+h.pick(3), 2+h.pick(2), 2+h.pick(3)
	if weekend {
		invites, bookings, walkins = h.pick(2), 0, h.pick(2)
	}
	for range invites {
		h.invite(day)
	}
	for range bookings {
		h.booking(day)
	}
	for range walkins {
		h.walkIn(day)
	}
}

func (h *historian) hostFor() directory.Person {
	if h.chance(0.3) {
		return h.hosts[0] // the demo's host account sees a busy week
	}
	return h.hosts[h.pick(len(h.hosts))]
}

func (h *historian) guest() guest { return h.guests[h.pick(len(h.guests))] }

var visitReasons = []string{"商务洽谈 Business meeting", "面试 Interview", "送货 Delivery", "设备维修 Equipment repair",
	"项目评审 Project review", "合同签署 Contract signing", "审计 Audit", "培训 Training"}

func (h *historian) request(g guest, host directory.Person, from time.Time) visit.Request {
	return visit.Request{Name: g.name, Title: g.title, Mobile: g.mobile, Company: g.company, HostID: host.ID,
		Reason: visitReasons[h.pick(len(visitReasons))], From: from, Until: from.Add(3 * time.Hour), PartySize: 1 + h.pick(3)/2}
}

// hostActor is who acts for a host: the host's own account for the demo
// host, reception on the phone for the others (they have no account).
func (h *historian) hostActor(host directory.Person) (actor, asHost string) {
	if host.ID == h.host.PersonID {
		return h.actor(h.host), host.ID
	}
	return h.actor(h.guard), ""
}

// come plans the visitor's entry and exit with the pass, most of the time.
func (h *historian) come(st *visitState, from time.Time, stay time.Duration) time.Time {
	if h.chance(0.08) {
		return time.Time{} // a no-show: the day's sweep marks it
	}
	lane := h.g.lanes[[]string{LaneA, LaneB}[h.pick(2)]]
	in := from.Add(time.Duration(10+h.pick(25*60)) * time.Second)
	out := in.Add(stay)
	token := func() string { return st.token }
	h.at(in, h.present(lane.ID, lane.Name+" entry scanner", gate.In, gate.QR, token))
	h.at(out, h.present(lane.ID, lane.Name+" exit scanner", gate.Out, gate.QR, token))
	return out
}

func (h *historian) slot(day time.Time) time.Time {
	hh := []int{9, 10, 10, 11, 14, 14, 15, 16}[h.pick(8)]
	return h.clockAt(day, hh, []int{0, 30}[h.pick(2)])
}

func (h *historian) invite(day time.Time) {
	host, g := h.hostFor(), h.guest()
	from := h.slot(day)
	made := h.around(from.Add(-time.Duration(4+h.pick(40))*time.Hour), 30*time.Minute)
	if made.Before(h.begin) {
		made = h.begin.Add(time.Duration(h.pick(3600)) * time.Second)
	}
	if !made.Before(from) {
		return
	}
	st := &visitState{}
	actor, _ := h.hostActor(host)
	q := h.request(g, host, from)
	q.Message = "欢迎来访，请凭通行码入场。Welcome; please show your pass at the gate."
	h.at(made, func(ctx context.Context) error {
		v, _, err := h.a.Visits.Invite(ctx, actor, q)
		if err != nil {
			return fmt.Errorf("invite: %w", err)
		}
		h.stats.Visits++
		st.v = v
		st.token, err = h.a.Visits.Token(v)
		return err
	})
	h.come(st, from, time.Duration(30+h.pick(120))*time.Minute)
}

func (h *historian) booking(day time.Time) {
	host, g := h.hostFor(), h.guest()
	from := h.slot(day)
	booked := h.around(h.clockAt(day.AddDate(0, 0, -1), 20, 0), 3*time.Hour)
	decided := h.around(h.clockAt(day, 8, 40), 30*time.Minute)
	if booked.Before(h.begin) || !decided.Before(from) {
		return
	}
	st := &visitState{}
	q := h.request(g, host, from)
	q.IDLast6 = g.id18[len(g.id18)-6:]
	h.at(booked, func(ctx context.Context) error {
		v, _, err := h.a.Visits.Book(ctx, q)
		if err != nil {
			return fmt.Errorf("booking: %w", err)
		}
		h.stats.Visits++
		st.v = v
		return nil
	})
	outcome := h.rnd.Float64()
	if outcome < 0.06 {
		return // never answered: cancelled at the window's end
	}
	approve := outcome >= 0.16
	actor, asHost := h.hostActor(host)
	h.at(decided, func(ctx context.Context) error {
		if st.v.ID == "" {
			return nil
		}
		reason := ""
		if !approve {
			reason = "本周行程已满，请改约。Fully booked this week; please pick another day."
		}
		v, err := h.a.Visits.Decide(ctx, actor, st.v.ID, asHost, approve, reason)
		if err != nil {
			return fmt.Errorf("decide booking: %w", err)
		}
		if approve {
			st.token, err = h.a.Visits.Token(v)
		}
		return err
	})
	if approve {
		h.come(st, from, time.Duration(30+h.pick(100))*time.Minute)
	}
}

// walkIn: reception registers the visitor after calling the host, reads
// the ID card, hands out a badge; the badge comes back at the exit.
func (h *historian) walkIn(day time.Time) {
	host, g := h.hostFor(), h.guest()
	at := h.clockAt(day, 9+h.pick(8), h.pick(60))
	badge := fmt.Sprintf("V%03d", 4+h.pick(26)) // V001–V003 are out since the seed
	st := &visitState{}
	q := h.request(g, host, at.Add(-time.Minute))
	q.IDNumber = g.id18
	q.Badge = badge
	desk := stock.PersonOf(h.guard)
	h.at(at, func(ctx context.Context) error {
		if it, err := h.a.Stock.Item(badge); err != nil || it.State == stock.InUse || it.State == stock.LostCard {
			q.Badge = "" // that badge is out: none today
		}
		v, _, err := h.a.Visits.WalkIn(ctx, h.actor(h.guard), q)
		if err != nil {
			return fmt.Errorf("walk-in: %w", err)
		}
		h.stats.Visits++
		st.v = v
		if st.token, err = h.a.Visits.Token(v); err != nil {
			return err
		}
		if v.Badge == "" {
			return nil
		}
		h.stats.StockMove++
		return h.a.Stock.Issue(ctx, desk, []string{badge}, "访客 visitors", "")
	})
	lane := h.g.lanes[LaneA]
	token := func() string { return st.token }
	in := at.Add(time.Duration(60+h.pick(180)) * time.Second)
	out := in.Add(time.Duration(20+h.pick(90)) * time.Minute)
	h.at(in, h.present(lane.ID, lane.Name+" entry scanner", gate.In, gate.QR, token))
	h.at(out, h.present(lane.ID, lane.Name+" exit scanner", gate.Out, gate.QR, token))
	h.at(out.Add(40*time.Second), func(ctx context.Context) error {
		if st.v.Badge == "" {
			return nil
		}
		if err := h.a.Visits.ReturnBadge(ctx, h.actor(h.guard), st.v.ID); err != nil {
			return err
		}
		h.stats.StockMove++
		return h.a.Stock.Return(ctx, desk, "", []string{st.v.Badge}, "")
	})
}

// conference: reception creates it three days ahead, registers the
// organiser's list two days ahead; attendees come in the morning and
// leave in the afternoon.
func (h *historian) conference(day time.Time, n int) {
	host := h.hosts[1+h.pick(len(h.hosts)-1)]
	from, until := h.clockAt(day, 9, 0).Truncate(time.Minute), h.clockAt(day, 17, 30).Truncate(time.Minute)
	size := []int{36, 48}[n-1]
	name := []string{"年度合作伙伴大会 Annual partner conference", "产品发布会 Product launch"}[n-1]
	var list strings.Builder
	list.WriteString("name,mobile,company,title\n")
	for i := range size {
		fmt.Fprintf(&list, "%s%s,1395550%02d%02d,%s,%s\n", []string{"陈", "林", "周", "吴", "徐", "孙"}[i%6],
			[]string{"一鸣", "嘉欣", "文博", "思远", "静怡", "天宇", "若曦", "梓涵"}[(i/6+n)%8], n, i,
			[]string{"华信咨询", "中远物流", "恒通电子", "新世纪广告"}[i%4], []string{"先生", "女士"}[i%2])
	}
	var meeting visit.Meeting
	tokens := make([]string, size)
	h.at(h.clockAt(day.AddDate(0, 0, -3), 15, 0), func(ctx context.Context) error {
		var err error
		meeting, err = h.a.Conferences.Create(ctx, h.actor(h.guard), visit.MeetingInput{Name: name, Place: "3F 多功能厅 Hall", HostID: host.ID,
			From: from, Until: until})
		return err
	})
	h.at(h.clockAt(day.AddDate(0, 0, -2), 10, 0), func(ctx context.Context) error {
		if meeting.ID == "" {
			return nil
		}
		if _, err := h.a.Conferences.Register(ctx, h.actor(h.guard), meeting.ID, []byte(list.String())); err != nil {
			return fmt.Errorf("conference list: %w", err)
		}
		vs, err := h.a.Conferences.Attendees(meeting.ID)
		if err != nil {
			return err
		}
		h.stats.Visits += len(vs)
		for i, v := range vs {
			if i < len(tokens) {
				if tokens[i], err = h.a.Visits.Token(v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	for i := range size {
		if h.chance(0.12) {
			continue // registered, never came
		}
		lane := h.g.lanes[[]string{LaneA, LaneB}[i%2]]
		in := h.around(from.Add(-10*time.Minute), 25*time.Minute)
		if in.Before(from) {
			in = from.Add(time.Duration(h.pick(600)) * time.Second)
		}
		out := h.around(until.Add(-50*time.Minute), 35*time.Minute)
		token := func() string { return tokens[i] }
		h.at(in, h.present(lane.ID, lane.Name+" entry scanner", gate.In, gate.QR, token))
		if h.chance(0.3) { // lunch outside
			lunch := h.around(h.clockAt(day, 12, 15), 15*time.Minute)
			h.at(lunch, h.present(lane.ID, lane.Name+" exit scanner", gate.Out, gate.QR, token))
			h.at(lunch.Add(time.Duration(35+h.pick(30))*time.Minute), h.present(lane.ID, lane.Name+" entry scanner", gate.In, gate.QR, token))
		}
		h.at(out, h.present(lane.ID, lane.Name+" exit scanner", gate.Out, gate.QR, token))
	}
}

// keyDay: one or two customers' keys go out with the guard or the manager
// for a few hours and come back. On the story's last day the key that goes
// out in the afternoon is not back when due: overdue now.
func (h *historian) keyDay(day time.Time) {
	late := dayStart(h.lateKeyAt(), h.loc)
	for range 1 + h.pick(2) {
		tag := []string{"K-1201", "K-0302", "K-1201-S"}[h.pick(3)]
		if !day.Before(late) && tag == "K-0302" {
			tag = "K-1201" // K-0302 goes out late that day and stays out
		}
		who := []auth.Account{h.guard, h.manager}[h.pick(2)]
		out := h.clockAt(day, 9+h.pick(7), h.pick(60))
		back := out.Add(time.Duration(40+h.pick(200)) * time.Minute)
		reason := keys.Reasons[h.pick(4)]
		var c keys.Checkout
		h.at(out, h.checkout(&c, tag, who, reason, back.Add(30*time.Minute)))
		h.at(back, h.returnKey(&c, tag, who))
	}
}

// checkout takes the key out, if it is in, and keeps the checkout in c.
func (h *historian) checkout(c *keys.Checkout, tag string, who auth.Account, reason string, due time.Time) func(context.Context) error {
	return func(ctx context.Context) error {
		k, err := h.a.KeyRoom.ByTag(tag)
		if err != nil {
			return err
		}
		if k.State != keys.In {
			return nil // someone has it: another day
		}
		note := map[string]string{"maintenance": "空调检修 air-con service", "cleaning": "保洁 cleaning", "inspection": "消防检查 fire inspection",
			"customer": "客户借用 customer's visit"}[reason]
		if *c, err = h.a.KeyRoom.Checkout(ctx, keys.PersonOf(who), keys.CheckoutInput{KeyID: k.ID, Reason: reason, Note: note, Due: due}); err != nil {
			return fmt.Errorf("key %s out: %w", tag, err)
		}
		h.stats.Keys++
		return nil
	}
}

// returnKey brings the key back from checkout c (nil: whichever is open).
func (h *historian) returnKey(c *keys.Checkout, tag string, who auth.Account) func(context.Context) error {
	return func(ctx context.Context) error {
		k, err := h.a.KeyRoom.ByTag(tag)
		if err != nil {
			return err
		}
		if k.State != keys.Out || (c != nil && k.Checkout != c.ID) {
			return nil
		}
		return h.a.KeyRoom.Return(ctx, keys.PersonOf(who), keys.ReturnInput{KeyID: k.ID})
	}
}

// reconcile: the guard counts the lobby's stock before the night shift.
func (h *historian) reconcile(day time.Time) {
	h.at(h.clockAt(day, 21, 30), func(ctx context.Context) error {
		date := h.a.Clock.Now().In(h.loc).Format("2006-01-02")
		f, err := h.a.Stock.Preview(lobby, date)
		if err != nil {
			return err
		}
		_, err = h.a.Stock.Reconcile(ctx, stock.PersonOf(h.guard), lobby, date, f.Closing(), "")
		return err
	})
}

const (
	lobby  = "大堂 Lobby"
	office = "物业办公室 Office"
)

// stockStory: key-fob cards arrive at the office, ten go to the lobby by
// handover, some are issued to a tenant; a blank is damaged; a badge a
// walk-in kept is written off as lost.
func (h *historian) stockStory(first time.Time) {
	mgr, grd := stock.PersonOf(h.manager), stock.PersonOf(h.guard)
	fobs, _ := stock.ParseNumbers("F001..F040")
	move := func(t time.Time, f func(ctx context.Context) error) {
		h.at(t, func(ctx context.Context) error { h.stats.StockMove++; return f(ctx) })
	}
	move(h.clockAt(first.AddDate(0, 0, 2), 10, 15), func(ctx context.Context) error {
		return h.a.Stock.Receive(ctx, mgr, office, stock.Fob, fobs, "供应商批次 supplier batch 2026-11")
	})
	var hand stock.Handover
	move(h.clockAt(first.AddDate(0, 0, 3), 9, 20), func(ctx context.Context) (err error) {
		hand, err = h.a.Stock.StartHandover(ctx, mgr, grd, lobby, fobs[:10], "大堂备用 for the lobby")
		return err
	})
	move(h.clockAt(first.AddDate(0, 0, 3), 9, 45), func(ctx context.Context) error {
		return h.a.Stock.Confirm(ctx, grd, hand.ID)
	})
	for i, d := range []int{6, 13, 20} {
		move(h.clockAt(first.AddDate(0, 0, d), 14, 0), func(ctx context.Context) error {
			return h.a.Stock.Issue(ctx, grd, fobs[i*2:i*2+2], "云帆物流 Yunfan Logistics", "新员工 new starters")
		})
	}
	blanks, _ := stock.ParseNumbers("C001..C020")
	move(h.clockAt(first.AddDate(0, 0, 9), 11, 0), func(ctx context.Context) error {
		_, err := h.a.Stock.WriteOff(ctx, mgr, stock.OpDamaged, blanks[19:], "写卡失败 failed to encode")
		return err
	})
	// V030 leaves with a walk-in and is not seen again.
	var kept visit.Visit
	move(h.clockAt(first.AddDate(0, 0, 11), 15, 10), func(ctx context.Context) error {
		if it, err := h.a.Stock.Item("V030"); err != nil || it.State == stock.InUse {
			return err
		}
		g, host := h.guests[7], h.hosts[2%len(h.hosts)]
		q := h.request(g, host, h.a.Clock.Now().Add(-time.Minute))
		q.IDNumber, q.Badge = g.id18, "V030"
		v, _, err := h.a.Visits.WalkIn(ctx, h.actor(h.guard), q)
		if err != nil {
			return err
		}
		h.stats.Visits++
		kept = v
		return h.a.Stock.Issue(ctx, grd, []string{"V030"}, "访客 visitors", "")
	})
	token := func() string {
		if kept.ID == "" {
			return ""
		}
		t, _ := h.a.Visits.Token(kept)
		return t
	}
	in := h.clockAt(first.AddDate(0, 0, 11), 15, 13)
	h.at(in, h.present(h.g.lanes[LaneA].ID, LaneA+" entry scanner", gate.In, gate.QR, token))
	h.at(in.Add(70*time.Minute), h.present(h.g.lanes[LaneA].ID, LaneA+" exit scanner", gate.Out, gate.QR, token))
	move(h.clockAt(first.AddDate(0, 0, 12), 9, 30), func(ctx context.Context) error {
		_, err := h.a.Stock.WriteOff(ctx, grd, stock.OpLost, []string{"V030"}, "访客未归还 not returned by a visitor")
		return err
	})
}

// oddities: what makes a guard look up — a suspended card, a card nobody
// knows, a working-hours card on Saturday, yesterday's pass, a door forced
// at night — then the guard acknowledges; and the office's notices.
func (h *historian) oddities(day time.Time, n int, weekend, last bool) {
	la, lb := h.g.lanes[LaneA], h.g.lanes[LaneB]
	card := func(c string) func() string { return func() string { return c } }
	switch n % 7 {
	case 2:
		h.at(h.clockAt(day, 8, 41), h.present(la.ID, LaneA+" card reader", gate.In, gate.Card, card(Cards[2].Number)))
	case 4:
		h.at(h.clockAt(day, 13, 7), h.present(lb.ID, LaneB+" card reader", gate.In, gate.Card, card("04FF00AA11")))
	}
	if day.Weekday() == time.Saturday {
		h.at(h.clockAt(day, 10, 12), h.present(la.ID, LaneA+" card reader", gate.In, gate.Card, card(Cards[1].Number)))
	}
	if n == 10 || n == 19 || last { // yesterday's walk-in comes back with the old pass
		var old string
		h.at(h.clockAt(day, 8, 0), func(context.Context) error {
			vs, err := h.a.Visits.Day(h.a.Clock.Now().AddDate(0, 0, -1), h.loc)
			for _, v := range vs {
				if v.Mode == visit.WalkIn && v.PassID != "" {
					old, err = h.a.Visits.Token(v)
					break
				}
			}
			return err
		})
		h.at(h.clockAt(day, 9, 20), h.present(la.ID, LaneA+" entry scanner", gate.In, gate.QR, func() string { return old }))
	}
	if n == 12 {
		at := h.clockAt(day, 2, 13)
		h.at(at, func(ctx context.Context) error {
			h.a.Access.DoorChanged(ctx, gate.DoorState{Lane: lb.ID, Open: true, Device: LaneB + " door", At: at})
			return nil
		})
		h.at(at.Add(25*time.Second), func(ctx context.Context) error {
			h.a.Access.DoorChanged(ctx, gate.DoorState{Lane: lb.ID, Open: false, Device: LaneB + " door", At: at.Add(25 * time.Second)})
			return nil
		})
	}
	if !weekend {
		// The guard goes through the open alarms at noon and before the
		// night shift; the last day's stay open on the guard station.
		for _, hh := range []int{12, 19} {
			t := h.clockAt(day, hh, 5)
			if t.Add(24 * time.Hour).After(h.end) {
				continue
			}
			h.at(t, h.acknowledge)
		}
	}
	switch n {
	case 5:
		h.at(h.clockAt(day, 10, 0), h.message("快递已到前台，请下班前领取。Your parcel is at the desk; please collect it before you leave."))
	case 10:
		h.at(h.clockAt(day, 9, 30), h.announce("消防演练 Fire drill", notice.Employees,
			"周四 15:00 全楼消防演练，听到警报请走楼梯疏散。Fire drill on Thursday 15:00: leave by the stairs when the alarm sounds.", false))
	case 18:
		h.at(h.clockAt(day, 16, 0), h.message("明早 9 点空调检修，会议室暂停使用。Air-con service tomorrow 9:00; the meeting rooms are closed."))
	case 21:
		h.at(h.clockAt(day, 11, 0), h.announce("访客须知 Visitor guide", notice.Visitors,
			"请凭通行码或临时卡通行，离开时归还临时卡。Show your pass or badge at the gate and return the badge when you leave.", false))
	}
}

func (h *historian) acknowledge(ctx context.Context) error {
	open, err := h.a.Access.Alarms(true, 50)
	if err != nil {
		return err
	}
	for _, al := range open {
		if err := h.a.Access.Acknowledge(ctx, h.actor(h.guard), al.Key, "已核实 checked"); err != nil {
			return err
		}
	}
	return nil
}

func (h *historian) announce(title string, who notice.Audience, text string, pin bool) func(context.Context) error {
	return func(ctx context.Context) error {
		desc, _, _ := strings.Cut(text, "。")
		a, err := h.a.Notices.Save(ctx, h.actor(h.manager), notice.Announcement{Title: title, Audience: who,
			Description: desc, Content: "<p>" + text + "</p>"}, true)
		if err != nil {
			return fmt.Errorf("announcement: %w", err)
		}
		if pin {
			return h.a.Notices.Change(ctx, h.actor(h.manager), notice.CmdPin, a.ID)
		}
		return nil
	}
}

func (h *historian) message(text string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := h.a.Notices.Send(ctx, h.actor(h.manager), notice.Send{To: []notify.Recipient{{AccountID: h.host.ID}},
			ToLabel: h.host.Name + " (host)", Text: text})
		return err
	}
}

func (h *historian) sweep(ctx context.Context) error {
	rules := visit.SweepRules{Location: h.loc, DayEnd: h.a.Config.DayEndDur,
		EscalateAfter: time.Duration(h.a.Config.EscalateMin) * time.Minute}
	if _, err := h.a.Visits.Sweep(ctx, rules, nil); err != nil {
		return err
	}
	_, err := h.a.Conferences.CloseEnded(ctx, h.a.Clock.Now())
	return err
}
