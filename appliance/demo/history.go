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
	"gatehouse/appliance/keys"
	"gatehouse/appliance/notice"
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

// HistoryStats counts what SeedWithHistory wrote, and how long the
// building and its history took.
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

// worker is an employee at the gates: a card, a quick pass, a usual lane.
type worker struct {
	employee  directory.Person
	card      string
	quickID   string
	quickRaw  []byte
	home      string // lane ID usually used
	homeName  string
	enterByQR bool
}

// guest is a visitor who may come more than once.
type guest struct {
	name, title, mobile, id18, company string
}

// visitState carries a visit from the step that makes it to those that use it.
type visitState struct {
	v     visit.Visit
	token string
}

// historian plans the story and tells it.
type historian struct {
	a        *appliance.App
	clk      settable
	rnd      *rand.Rand // the story's only source of chance
	loc      *time.Location
	begin    time.Time // local midnight, Days days before End's day
	opened   time.Time // 07:30 that day: the building is set up, the story starts
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
// story begins at 07:30 local time o.Days days before o.End's day, so the
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
	h.clk.Set(h.opened)
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
	begin := dayStart(o.End, loc).AddDate(0, 0, -o.Days)
	return &historian{a: a, clk: clk, rnd: rand.New(rand.NewPCG(o.Seed, 0x6761746568)), loc: loc,
		begin: begin, opened: begin.Add(7*time.Hour + 30*time.Minute), end: o.End, stats: HistoryStats{Days: o.Days}}, nil
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
	if !t.After(h.opened) || !t.Before(h.end) {
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
	g, err := gates(ctx, a, "")
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
	h.at(h.opened.Add(95*time.Minute), h.returnKey(nil, "K-1201", h.guard)) // Seed's checkout
	h.at(h.opened.Add(3*time.Hour), h.announce("电梯维保 Lift maintenance", notice.Everyone,
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

func dayStart(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
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
