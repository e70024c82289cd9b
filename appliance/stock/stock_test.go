package stock

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

var loc = time.FixedZone("CST", 8*3600)

var (
	office = Person{ID: "0000000000000001", Name: "Office Zhang", Role: "manager"}
	guard  = Person{ID: "0000000000000002", Name: "Guard Li", Role: "reception"}
	guard2 = Person{ID: "0000000000000003", Name: "Guard Wu", Role: "reception"}
)

type fakeBlocker map[string]string

func (b fakeBlocker) BlockLostCard(_ context.Context, _, number, _ string) (string, error) {
	return b[number], nil
}

func newService(t *testing.T) (*Service, *clock.Fake, *store.Store) {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	Register(st)
	clk := clock.NewFake(time.Date(2026, 11, 23, 8, 0, 0, 0, loc))
	return New(st, clk, loc), clk, st
}

func code(err error) string {
	es, _ := field.As(err)
	if len(es) == 0 {
		return ""
	}
	return es[0].Code
}

func nums(t *testing.T, s string) []string {
	t.Helper()
	ns, es := ParseNumbers(s)
	if es != nil {
		t.Fatal(es)
	}
	return ns
}

func TestParseNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		code string
	}{
		{"B001..B003, c9", []string{"B001", "B002", "B003", "C9"}, ""},
		{"v08~v10\nv10", []string{"V08", "V09", "V10"}, ""},
		{"12:34-5", []string{"12:34-5"}, ""},
		{"B1..C2", nil, "stock_range_invalid"},
		{"B10..B01", nil, "stock_range_invalid"},
		{"B0001..B9999", nil, "stock_range_invalid"},
		{"<x>", nil, "stock_number_invalid"},
		{"  ", nil, "required"},
	} {
		got, es := ParseNumbers(tc.in)
		if code(es.Err()) != tc.code || (tc.code == "" && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%q = %v %v", tc.in, got, es)
		}
	}
}

func TestHandoverNeedsTheReceiver(t *testing.T) {
	s, _, st := newService(t)
	ctx := context.Background()
	if err := s.Receive(ctx, office, "Office", Badge, nums(t, "V001..V020"), "from supplier"); err != nil {
		t.Fatal(err)
	}
	// Only the holder can hand cards over.
	if _, err := s.StartHandover(ctx, guard, guard2, "Lobby A", nums(t, "V001"), ""); code(err) != "stock_not_yours" {
		t.Fatalf("handover of someone else's cards: %v", err)
	}
	h, err := s.StartHandover(ctx, office, guard, "Lobby A", nums(t, "V001..V020"), "")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.Ledger(time.Time{}, time.Time{})
	// Unconfirmed: nothing moved.
	it, _ := s.Item("V005")
	if it.Lobby != "Office" || it.Holder.ID != office.ID || it.State != Received {
		t.Fatalf("moved before confirmation: %+v", it)
	}
	// The giver cannot confirm for the receiver, nor a third person.
	for _, p := range []Person{office, guard2} {
		if err := s.Confirm(ctx, p, h.ID); code(err) != "stock_handover_not_receiver" {
			t.Fatalf("%s confirmed: %v", p.Name, err)
		}
	}
	if after, _ := s.Ledger(time.Time{}, time.Time{}); len(after) != len(before) {
		t.Fatal("refused confirmation wrote the ledger")
	}
	if err := s.Confirm(ctx, guard, h.ID); err != nil {
		t.Fatal(err)
	}
	it, _ = s.Item("V005")
	if it.Lobby != "Lobby A" || it.Holder.ID != guard.ID || it.State != Issued {
		t.Fatalf("after confirmation: %+v", it)
	}
	if err := s.Confirm(ctx, guard, h.ID); code(err) != "stock_handover_done" {
		t.Fatalf("confirmed twice: %v", err)
	}
	// A cancelled handover changes nothing either.
	h2, err := s.StartHandover(ctx, guard, guard2, "Lobby B", nums(t, "V001..V005"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, guard, h2.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Confirm(ctx, guard2, h2.ID); code(err) != "stock_handover_done" {
		t.Fatalf("cancelled handover confirmed: %v", err)
	}
	if it, _ := s.Item("V001"); it.Holder.ID != guard.ID {
		t.Fatal("cancelled handover moved cards")
	}
	if err := st.View(func(r *store.Reader) error { _, err := store.VerifyAudit(r); return err }); err != nil {
		t.Fatal(err)
	}
}

func TestReconciliation(t *testing.T) {
	s, clk, _ := newService(t)
	ctx := context.Background()
	// Yesterday: 10 badges into Lobby A.
	clk.Set(time.Date(2026, 11, 22, 9, 0, 0, 0, loc))
	if err := s.Receive(ctx, guard, "Lobby A", Badge, nums(t, "V01..V10"), ""); err != nil {
		t.Fatal(err)
	}
	// Today: 5 more received, 4 issued, 2 returned, 1 damaged in stock, one lost in use.
	clk.Set(time.Date(2026, 11, 23, 9, 0, 0, 0, loc))
	steps := []func() error{
		func() error { return s.Receive(ctx, guard, "lobby a", Badge, nums(t, "V11..V15"), "") },
		func() error { return s.Issue(ctx, guard, nums(t, "V01..V04"), "visitors", "") },
		func() error { return s.Return(ctx, guard, "", nums(t, "V01 V02"), "") },
		func() error { _, err := s.WriteOff(ctx, guard, OpDamaged, nums(t, "V10"), "cracked"); return err },
		func() error {
			_, err := s.WriteOff(ctx, guard, OpLost, nums(t, "V03"), "visitor left with it")
			return err
		},
	}
	for i, f := range steps {
		if err := f(); err != nil {
			t.Fatal(i, err)
		}
	}
	clk.Set(time.Date(2026, 11, 23, 20, 0, 0, 0, loc))
	// On hand: V01 V02 V05..V09 V11..V15 = 12.
	if _, n, _ := s.Items(ItemFilter{Lobby: "Lobby A", OnHand: true}); n != 12 {
		t.Fatalf("on hand %d", n)
	}
	rc, err := s.Reconcile(ctx, guard, "Lobby A", "2026-11-23", 12, "")
	if err != nil {
		t.Fatal(err)
	}
	want := Recon{Opening: 10, Received: 5, Issued: 4, Returned: 2, WrittenOff: 1, Expected: 12, Counted: 12}
	if rc.Opening != want.Opening || rc.Received != want.Received || rc.Issued != want.Issued || rc.Returned != want.Returned ||
		rc.WrittenOff != want.WrittenOff || rc.Expected != 12 || rc.Difference != 0 || rc.Flagged {
		t.Fatalf("recon %+v", rc)
	}
	// Counted one short, unexplained: flagged.
	rc, err = s.Reconcile(ctx, guard, "Lobby A", "2026-11-23", 11, "")
	if err != nil || !rc.Flagged || rc.Difference != -1 {
		t.Fatalf("unexplained difference: %+v %v", rc, err)
	}
	// Explained by a new entry; the old ones stay.
	rc, err = s.Reconcile(ctx, guard, "Lobby A", "2026-11-23", 11, "V07 found broken in the drawer, written off tomorrow")
	if err != nil || rc.Flagged || rc.Difference != -1 {
		t.Fatalf("explained difference: %+v %v", rc, err)
	}
	if rs, _ := s.Recons("Lobby A", "2026-11-23"); len(rs) != 3 || rs[0].Seq != rc.Seq || !rs[1].Flagged {
		t.Fatalf("recons %+v", rs)
	}
	// Yesterday balances on its own.
	if rc, err := s.Reconcile(ctx, guard, "Lobby A", "2026-11-22", 10, ""); err != nil || rc.Opening != 0 || rc.Expected != 10 || rc.Flagged {
		t.Fatalf("yesterday %+v %v", rc, err)
	}
	// The ledger report over all time and today.
	rows, err := s.Report(time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Type == Badge && (r.In() != 17 || r.Out() != 5 || r.Closing() != 12) {
			t.Fatalf("badges %+v in %d out %d", r, r.In(), r.Out())
		}
	}
	from, until, _ := s.Day("2026-11-23")
	rows, _ = s.Report(from, until)
	for _, r := range rows {
		if r.Type == Badge && (r.Opening != 10 || r.Closing() != 12) {
			t.Fatalf("today %+v", r)
		}
	}
}

func TestLostCardBlockedAtTheGate(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	s.WithBlocker(fakeBlocker{"F100": "00000000000000c1"})
	if err := s.Receive(ctx, guard, "Lobby A", Fob, nums(t, "F100 F101"), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Issue(ctx, guard, nums(t, "F100 F101"), "tenant", ""); err != nil {
		t.Fatal(err)
	}
	bl, err := s.WriteOff(ctx, guard, OpLost, nums(t, "F100 F101"), "reported by the tenant")
	if err != nil {
		t.Fatal(err)
	}
	if len(bl) != 1 || bl[0].Credential != "00000000000000c1" {
		t.Fatalf("blocked %+v", bl)
	}
	it, _ := s.Item("f100")
	if it.State != LostCard || it.Credential != "00000000000000c1" {
		t.Fatalf("item %+v", it)
	}
	if _, err := s.WriteOff(ctx, guard, OpLost, nums(t, "F100"), "again"); code(err) != "stock_written_off" {
		t.Fatalf("lost twice: %v", err)
	}
	if err := s.Issue(ctx, guard, nums(t, "F101"), "x", ""); code(err) != "stock_not_on_hand" {
		t.Fatalf("lost card issued: %v", err)
	}
	h, _ := s.History("F100")
	if len(h) != 4 || h[3].Op != OpBlocked {
		t.Fatalf("history %+v", h)
	}
}

// FuzzParseNumbers: whatever is typed, the numbers that come out are valid
// card numbers, distinct, at most MaxBatch; or there is an error.
func FuzzParseNumbers(f *testing.F) {
	for _, s := range []string{"B001..B020", "v1~v9, x", "A:B-C", "1..999999999999", "Z0000..Z1000", "，；\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns, es := ParseNumbers(s)
		if es != nil {
			if len(ns) != 0 {
				t.Fatal("numbers with an error")
			}
			return
		}
		if len(ns) == 0 || len(ns) > MaxBatch {
			t.Fatalf("%d numbers", len(ns))
		}
		seen := map[string]bool{}
		for _, n := range ns {
			if !numberRE.MatchString(n) || seen[n] {
				t.Fatalf("bad or repeated number %q", n)
			}
			seen[n] = true
		}
	})
}

// TestParseNumbersBoundsWork: text that repeats a range, or is simply
// huge, is refused instead of being written out number by number.
func TestParseNumbersBoundsWork(t *testing.T) {
	for name, in := range map[string]string{
		"repeated range": strings.Repeat("V001..V999,", 3000),
		"huge input":     strings.Repeat("A,", 100_000),
	} {
		t.Run(name, func(t *testing.T) {
			ns, es := ParseNumbers(in)
			if es == nil || len(ns) != 0 {
				t.Fatalf("%d numbers, no error", len(ns))
			}
		})
	}
	// A range typed twice by mistake still reads.
	if ns, es := ParseNumbers("B001..B500 B001..B500"); es != nil || len(ns) != 500 {
		t.Fatalf("%d numbers, %v", len(ns), es)
	}
}

// TestReconcileDayOutOfRange: a day nanoseconds since 1970 cannot hold is
// refused, not reconciled over whatever period the overflow lands on.
func TestReconcileDayOutOfRange(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	Register(st)
	s := New(st, clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, loc)), loc)
	ctx := context.Background()
	if err := s.Receive(ctx, guard, "Lobby", Badge, []string{"V1"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, day := range []string{"9999-12-31", "0001-01-01", "1600-06-01", "5000-01-01"} {
		if _, err := s.Reconcile(ctx, guard, "Lobby", day, 1, ""); code(err) == "" {
			t.Errorf("day %s: %v", day, err)
		}
		if _, _, err := s.Day(day); err == nil {
			t.Errorf("Day(%s) accepted", day)
		}
	}
}

// TestLedgerReadEntryByEntry: the page's latest entries, the report and a
// card's history come from reading the ledger one entry at a time, and
// agree with the figures over the whole ledger.
func TestLedgerReadEntryByEntry(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	Register(st)
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, loc))
	s := New(st, clk, loc)
	ctx := context.Background()
	for i := range 30 {
		clk.Advance(time.Minute)
		if err := s.Receive(ctx, guard, "Lobby", Badge, []string{"V" + strconv.Itoa(i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Minute)
	if err := s.Issue(ctx, guard, []string{"V3"}, "visitor", ""); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Ledger(time.Time{}, time.Time{})
	last, err := s.Latest(time.Time{}, time.Time{}, 10)
	if err != nil || len(last) != 10 || !reflect.DeepEqual(last, all[len(all)-10:]) {
		t.Fatalf("latest %d entries, %v", len(last), err)
	}
	from := time.Unix(0, all[5].At)
	until := time.Unix(0, all[20].At)
	rows, _ := s.Report(from, until)
	for _, r := range rows {
		if want := Compute(all, "", r.Type, from.UnixNano(), until.UnixNano()); r.Figures != want {
			t.Fatalf("%s: %+v, want %+v", r.Type, r.Figures, want)
		}
	}
	if inRange, _ := s.Latest(from, until, 100); len(inRange) != 15 || inRange[0].Seq != all[5].Seq {
		t.Fatalf("%d entries in range", len(inRange))
	}
	if h, _ := s.History("V3"); len(h) != 2 || h[1].Op != OpIssue {
		t.Fatalf("history %+v", h)
	}
}

// TestConcurrentConfirmsOfOneHandover: the receiver presses confirm twice
// (two tabs) at once; custody moves once and the ledger has one entry.
func TestConcurrentConfirmsOfOneHandover(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	Register(st)
	s := New(st, clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, loc)), loc)
	ctx := context.Background()
	if err := s.Receive(ctx, office, "Office", Badge, []string{"V1", "V2"}, ""); err != nil {
		t.Fatal(err)
	}
	h, err := s.StartHandover(ctx, office, guard, "Lobby", []string{"V1", "V2"}, "")
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	errs := make(chan error, n)
	for range n {
		go func() { errs <- s.Confirm(ctx, guard, h.ID) }()
	}
	ok := 0
	for range n {
		if err := <-errs; err == nil {
			ok++
		} else if code(err) != "stock_handover_done" {
			t.Errorf("confirm: %v", err)
		}
	}
	es, _ := s.Ledger(time.Time{}, time.Time{})
	if ok != 1 || len(es) != 2 || es[1].Op != OpHandover {
		t.Fatalf("%d confirms succeeded, ledger %+v", ok, es)
	}
}

// TestCardHistoryByIndex: a card's history comes from its own index — the
// same entries a search of the whole ledger finds, and not those of a
// card whose number it begins (V1, V10) — also when the first stored
// record is a reconciliation rather than a ledger entry.
func TestCardHistoryByIndex(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	Register(st)
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, loc))
	s := New(st, clk, loc)
	ctx := context.Background()
	if _, err := s.Reconcile(ctx, guard, "Lobby", s.Today(), 0, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Receive(ctx, guard, "Lobby", Badge, []string{"V1", "V10", "V2"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Issue(ctx, guard, []string{"V10"}, "x", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Issue(ctx, guard, []string{"V1"}, "y", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Return(ctx, guard, "", []string{"V1"}, ""); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Ledger(time.Time{}, time.Time{})
	for _, n := range []string{"V1", "V10", "V2", "v1", "V3"} {
		var want []Entry
		for _, e := range all {
			if slices.ContainsFunc(e.Items, func(r Ref) bool { return r.Number == NormalizeNumber(n) }) {
				want = append(want, e)
			}
		}
		got, err := s.History(n)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %d entries, want %d (%v)", n, len(got), len(want), err)
		}
	}
	if h, _ := s.History("V1"); len(h) != 3 {
		t.Fatalf("V1: %d entries", len(h))
	}
}

// failingBlocker stands for the access service failing (or the appliance
// stopping) between the write-off and the block.
type failingBlocker struct{}

func (failingBlocker) BlockLostCard(context.Context, string, string, string) (string, error) {
	return "", errors.New("access store unavailable")
}

// A card written off as lost whose block did not happen is blocked when the
// appliance next starts; a card no credential carries is left alone.
func TestBlockPendingFinishesAnInterruptedWriteOff(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	if err := s.Receive(ctx, guard, "Lobby A", Fob, nums(t, "F200 F201"), ""); err != nil {
		t.Fatal(err)
	}
	s.WithBlocker(failingBlocker{})
	if _, err := s.WriteOff(ctx, guard, OpLost, nums(t, "F200 F201"), "lost"); err == nil {
		t.Fatal("the failed block was not reported")
	}
	if it, _ := s.Item("F200"); it.State != LostCard || it.Credential != "" {
		t.Fatalf("item %+v", it)
	}
	s.WithBlocker(fakeBlocker{"F200": "00000000000000c2"})
	if n, err := s.BlockPending(ctx); err != nil || n != 1 {
		t.Fatalf("BlockPending = %d, %v", n, err)
	}
	if it, _ := s.Item("F200"); it.Credential != "00000000000000c2" {
		t.Fatalf("item %+v", it)
	}
	if n, err := s.BlockPending(ctx); err != nil || n != 0 {
		t.Fatalf("second BlockPending = %d, %v", n, err)
	}
}
