package notice

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/field"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// people is a fixed audience: two staff accounts, one employee, one visitor.
type people map[Audience][]notify.Recipient

func (p people) Audience(_ context.Context, a Audience) ([]notify.Recipient, error) {
	if a == Everyone {
		var all []notify.Recipient
		for _, x := range []Audience{Visitors, Employees, Staff} {
			all = append(all, p[x]...)
		}
		return all, nil
	}
	return p[a], nil
}

type fixture struct {
	st     *store.Store
	svc    *Service
	clk    *clock.Fake
	outbox *notify.Service
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st, err := store.Open(store.Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	Register(st)
	notify.Register(st)
	keys, err := secret.FromMaster(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// 23 Nov 2026, 09:00 in Shanghai.
	clk := clock.NewFake(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC))
	ob := notify.New(st, clk, keys, notify.Options{Log: quiet})
	ppl := people{
		Staff:     {{AccountID: "0000000000000001"}, {AccountID: "0000000000000002"}},
		Employees: {{AccountID: "0000000000000003"}},
		Visitors:  {{AccountID: "0000000000000004"}}, // stands in for a phone: no modem in tests
	}
	svc := New(st, Options{Location: shanghai, PerMonth: DefaultPerMonth, Outbox: ob, People: ppl, Clock: clk, Keys: keys, SiteName: "Tower"})
	return &fixture{st: st, svc: svc, clk: clk, outbox: ob}
}

var ctx = context.Background()

func (f *fixture) publish(t testing.TB, title string, aud Audience) Announcement {
	t.Helper()
	a, err := f.svc.Save(ctx, "m", Announcement{Title: title, Audience: aud, Content: "<p>hello</p>"}, true)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBroadcastCapPerCalendarMonth(t *testing.T) {
	f := newFixture(t)
	send := func() error {
		_, err := f.svc.Send(ctx, "m", Send{Urgent: true, Audience: Staff, Text: "Water off at 14:00"})
		return err
	}
	for i := range DefaultPerMonth {
		if err := send(); err != nil {
			t.Fatalf("broadcast %d: %v", i+1, err)
		}
		used, allowed, _ := f.svc.Allowance()
		if used != i+1 || allowed != DefaultPerMonth {
			t.Fatalf("after %d: allowance %d of %d", i+1, used, allowed)
		}
	}
	if err := send(); !errors.Is(err, ErrCapReached) {
		t.Fatalf("fifth broadcast in a month: %v, want ErrCapReached", err)
	}
	// Normal messages are not counted.
	if _, err := f.svc.Send(ctx, "m", Send{To: []notify.Recipient{{AccountID: "0000000000000003"}}, ToLabel: "Wang", Text: "hi"}); err != nil {
		t.Fatalf("normal message after the cap: %v", err)
	}
	// 30 Nov 23:59 Shanghai is still November...
	f.clk.Set(time.Date(2026, 11, 30, 15, 59, 0, 0, time.UTC))
	if err := send(); !errors.Is(err, ErrCapReached) {
		t.Fatalf("last minute of the month: %v", err)
	}
	// ...and 1 Dec 00:00 Shanghai (still 30 Nov in UTC) is a new month.
	f.clk.Set(time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC))
	if used, _, _ := f.svc.Allowance(); used != 0 {
		t.Fatalf("new month starts with %d used", used)
	}
	if err := send(); err != nil {
		t.Fatalf("first broadcast of the new month: %v", err)
	}
	// Every refused send wrote nothing: 4 + 1 urgent, 1 normal.
	h, err := f.svc.History(100)
	if err != nil || len(h) != 6 {
		t.Fatalf("history: %d messages, %v", len(h), err)
	}
}

// The cap is checked inside the command: senders that all passed the
// service's early check still cannot exceed it.
func TestBroadcastCapHoldsUnderConcurrentSends(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			_, err := f.svc.Send(ctx, "m", Send{Urgent: true, Audience: Employees, Text: "Fire drill"})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrCapReached):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if used, _, _ := f.svc.Allowance(); ok != DefaultPerMonth || used != DefaultPerMonth {
		t.Fatalf("%d sends succeeded, %d counted; want %d", ok, used, DefaultPerMonth)
	}
	// A command that claims a stale check is refused by the handler too.
	cmd := sendPayload{Message: Message{ID: store.NewID(f.clk.Now()), Urgent: true, Audience: Staff, Subject: "x", Month: "2026-11"}, Cap: DefaultPerMonth}
	if _, err := store.Issue(ctx, f.st, CmdSend, "m", f.clk.Now(), cmd); !errors.Is(err, ErrCapReached) {
		t.Fatalf("direct command past the cap: %v", err)
	}
}

func TestNothingQueuedGivesTheAllowanceBack(t *testing.T) {
	f := newFixture(t)
	f.svc.o.People = people{} // nobody in any audience and no webhooks
	if _, err := f.svc.Send(ctx, "m", Send{Urgent: true, Audience: Visitors, Text: "x"}); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("broadcast to nobody: %v", err)
	}
	if used, _, _ := f.svc.Allowance(); used != 0 {
		t.Fatalf("a broadcast that reached nobody used the allowance (%d)", used)
	}
}

func TestSanitizeStripsScripts(t *testing.T) {
	tests := []struct{ name, in, keep string }{
		{"script tag", `<p>hi</p><script>alert(1)</script>`, "<p>hi</p>"},
		{"onerror", `<img src="/notices/images/0123456789abcdef" onerror="alert(1)">`, `<img src="/notices/images/0123456789abcdef">`},
		{"javascript link", `<a href="javascript:alert(1)">x</a>`, "x"},
		{"javascript link in capitals and entities", `<a href="JaVaScRiPt&#58;alert(1)">x</a>`, "x"},
		{"data link", `<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`, "x"},
		{"image from elsewhere", `<img src="https://evil.example/t.gif">`, ""},
		{"style attribute", `<p style="background:url(javascript:alert(1))">x</p>`, "<p>x</p>"},
		{"iframe", `<iframe src="https://evil.example"></iframe>ok`, "ok"},
		{"svg onload", `<svg onload="alert(1)"><circle/></svg>ok`, "ok"},
		{"formatting kept", `<p><b>b</b> <i>i</i> <u>u</u></p><ul><li>x</li></ul><table><tbody><tr><td>1</td></tr></tbody></table>`,
			`<p><b>b</b> <i>i</i> <u>u</u></p><ul><li>x</li></ul><table><tbody><tr><td>1</td></tr></tbody></table>`},
		{"colour class kept", `<span class="fg-red">r</span><span class="evil">e</span>`, `<span class="fg-red">r</span><span>e</span>`},
		{"safe link kept", `<a href="https://example.com/a">a</a>`, `<a href="https://example.com/a" rel="noreferrer noopener" target="_blank">a</a>`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Sanitize(tc.in)
			if got != tc.keep {
				t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.keep)
			}
			checkSafe(t, got)
		})
	}
}

func checkSafe(t *testing.T, out string) {
	t.Helper()
	low := strings.ToLower(out)
	for _, bad := range []string{"<script", "<iframe", "<svg", "style="} {
		if strings.Contains(low, bad) {
			t.Errorf("%q survived in %q", bad, out)
		}
	}
	if onAttr.MatchString(low) || jsURL.MatchString(low) {
		t.Errorf("event handler attribute survived in %q", out)
	}
}

func TestSavedContentIsSanitised(t *testing.T) {
	f := newFixture(t)
	a, err := f.svc.Save(ctx, "m", Announcement{Title: "Lift", Audience: Everyone,
		Content: `<p onclick="x()">Lift 2 <script>steal()</script>closed</p><a href="javascript:alert(1)">more</a>`}, false)
	if err != nil {
		t.Fatal(err)
	}
	if a.Content != "<p>Lift 2 closed</p>more" || a.State != Draft {
		t.Fatalf("stored %q (%s)", a.Content, a.State)
	}
	// A command that skips the service is sanitised by the handler.
	raw := savePayload{Announcement: Announcement{ID: a.ID, Title: "Lift", Audience: Everyone, Content: `<img src=x onerror=alert(1)>ok`}}
	if _, err := store.Issue(ctx, f.st, CmdSave, "m", f.clk.Now(), raw); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Get(a.ID); got.Content != "ok" {
		t.Fatalf("handler stored %q", got.Content)
	}
}

func TestFieldRules(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.Save(ctx, "m", Announcement{Title: "", Audience: "nobody", Description: strings.Repeat("长", 51)}, false)
	es, ok := field.As(err)
	if !ok || es.For("title").Code != "required" || es.For("audience").Code != "required" || es.For("description").Code != "too_long" {
		t.Fatalf("errors %v", err)
	}
	// 50 Chinese characters are allowed; a long title only warns.
	a, err := f.svc.Save(ctx, "m", Announcement{Title: "一个超过二十个字的很长很长很长很长很长的公告标题", Audience: Staff, Description: strings.Repeat("长", 50)}, false)
	if err != nil || !LongTitle(a.Title) || LongTitle("短标题") {
		t.Fatalf("50-character description or long title refused: %v", err)
	}
}

func TestAudienceRules(t *testing.T) {
	f := newFixture(t)
	staffOnly := f.publish(t, "Staff meeting", Staff)
	all := f.publish(t, "Lift service", Everyone)
	f.clk.Advance(time.Minute)
	visitors := f.publish(t, "Visitor parking", Visitors)
	emp := f.publish(t, "Tenant fair", Employees)
	draft, err := f.svc.Save(ctx, "m", Announcement{Title: "Draft", Audience: Everyone}, false)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(as []Announcement) []string {
		var out []string
		for _, a := range as {
			out = append(out, a.Title)
		}
		return out
	}
	seen := func(who Audience) []Announcement {
		as, err := f.svc.Visible(who, 10)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}
	for _, a := range seen(Employees) {
		if a.ID == staffOnly.ID || a.ID == visitors.ID || a.ID == draft.ID {
			t.Fatalf("an employee sees %q: %v", a.Title, ids(seen(Employees)))
		}
	}
	if got := ids(seen(Employees)); len(got) != 2 || got[0] != emp.Title {
		t.Fatalf("employees see %v", got)
	}
	if got := ids(seen(Visitors)); len(got) != 2 || got[0] != visitors.Title || got[1] != all.Title {
		t.Fatalf("visitors see %v", got)
	}
	// Pinned first; unpublished gone.
	if err := f.svc.Change(ctx, "m", CmdPin, all.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(seen(Staff)); len(got) != 2 || got[0] != all.Title || got[1] != staffOnly.Title {
		t.Fatalf("staff see %v", got)
	}
	if err := f.svc.Change(ctx, "m", CmdUnpublish, all.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(seen(Visitors)); len(got) != 1 {
		t.Fatalf("after unpublishing, visitors see %v", got)
	}
	if a, _ := f.svc.Get(all.ID); a.Pinned || a.State != Unpublished {
		t.Fatalf("unpublished announcement %+v", a)
	}
	if err := f.svc.Change(ctx, "m", CmdPin, draft.ID); !errors.Is(err, ErrState) {
		t.Fatalf("pinning a draft: %v", err)
	}
	if err := f.svc.Change(ctx, "m", CmdDelete, emp.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(emp.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted announcement: %v", err)
	}
	if !Everyone.Includes(Visitors) || Staff.Includes(Employees) || Employees.Includes(Staff) || Visitors.Includes(Everyone) {
		t.Fatal("Includes")
	}
}

func TestListSearch(t *testing.T) {
	f := newFixture(t)
	f.publish(t, "Lift service", Everyone)
	f.clk.Advance(48 * time.Hour)
	f.publish(t, "Lift inspection", Staff)
	if _, err := f.svc.Save(ctx, "m", Announcement{Title: "Lift draft", Audience: Staff}, false); err != nil {
		t.Fatal(err)
	}
	count := func(q Query) int {
		as, err := f.svc.List(q)
		if err != nil {
			t.Fatal(err)
		}
		return len(as)
	}
	day := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for name, tc := range map[string]struct {
		q    Query
		want int
	}{
		"all":           {Query{}, 3},
		"title":         {Query{Title: "LIFT S"}, 1},
		"audience":      {Query{Audience: Staff}, 2},
		"published2day": {Query{From: day, To: day.Add(24 * time.Hour)}, 1},
		"before":        {Query{To: day}, 1},
	} {
		if got := count(tc.q); got != tc.want {
			t.Errorf("%s: %d, want %d", name, got, tc.want)
		}
	}
}

func TestMessagesDeliveryStateAndHide(t *testing.T) {
	f := newFixture(t)
	a := f.publish(t, "Water off", Everyone)
	m, err := f.svc.Send(ctx, "m", Send{Urgent: true, Audience: Everyone, Announcement: a.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Outbox) != 4 {
		t.Fatalf("outbox %v", m.Outbox)
	}
	rec, err := f.outbox.Get(m.Outbox[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.outbox.Open(rec)
	if err != nil || got.Subject != "Water off" || !strings.Contains(got.Body, "hello") || got.Kind != notify.KindUrgent {
		t.Fatalf("queued %+v %v", got, err)
	}
	if _, err := f.svc.Send(ctx, "m", Send{To: []notify.Recipient{{Phone: "13800138000"}}, ToLabel: "x", Text: "hi"}); !errors.Is(err, ErrNoRecipient) {
		t.Fatalf("phone without a modem: %v", err)
	}
	h, err := f.svc.History(10)
	if err != nil || len(h) != 1 || h[0].Pending != 4 || h[0].State() != "pending" || h[0].Subject != "Water off" {
		t.Fatalf("history %+v %v", h, err)
	}
	// Recorded, then the appliance stopped before queueing: unknown.
	subj, _ := f.svc.o.Keys.Seal("x")
	cut := Message{ID: store.NewID(f.clk.Now()), Subject: subj, ToSealed: subj}
	if _, err := store.Issue(ctx, f.st, CmdSend, "m", f.clk.Now(), sendPayload{Message: cut}); err != nil {
		t.Fatal(err)
	}
	h, _ = f.svc.History(10)
	for _, s := range h {
		if s.ID == cut.ID && s.State() != "unconfirmed" {
			t.Fatalf("interrupted send shows as %q", s.State())
		}
	}
	if len(h) != 2 {
		t.Fatalf("history has %d", len(h))
	}
	if err := f.svc.Hide(ctx, "m", cut.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Hide(ctx, "m", m.ID); err != nil {
		t.Fatal(err)
	}
	if h, _ := f.svc.History(10); len(h) != 0 {
		t.Fatalf("hidden message listed: %+v", h)
	}
	_, err = f.svc.Send(ctx, "m", Send{To: []notify.Recipient{{AccountID: "0000000000000003"}}, Text: strings.Repeat("x", MaxText+1)})
	if es, ok := field.As(err); !ok || es.For("text").Code != "too_long" {
		t.Fatalf("long text: %v", err)
	}
}

func TestPrepareImage(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2400, 600))
	for x := range 2400 {
		img.Set(x, x%600, color.RGBA{200, 0, 0, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	out, err := PrepareImage(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(out))
	if err != nil || format != "jpeg" || cfg.Width != MaxWidth || cfg.Height != 300 {
		t.Fatalf("prepared %s %dx%d %v", format, cfg.Width, cfg.Height, err)
	}
	for _, bad := range [][]byte{nil, []byte("<script>alert(1)</script>"), append([]byte("GIF89a"), 0xff, 0xff, 0xff, 0xff)} {
		if _, err := PrepareImage(bad); !errors.Is(err, ErrImage) {
			t.Errorf("PrepareImage(%q) = %v", bad, err)
		}
	}
	f := newFixture(t)
	id, err := f.svc.AddImage(ctx, "m", b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.Image(id); err != nil || !bytes.Equal(got, out) {
		t.Fatalf("stored picture differs: %v", err)
	}
	if _, err := f.svc.Save(ctx, "m", Announcement{Title: "x", Audience: Staff, CoverID: "0000000000000000"}, false); err == nil {
		t.Fatal("cover that does not exist accepted")
	}
	if _, err := f.svc.Save(ctx, "m", Announcement{Title: "x", Audience: Staff, CoverID: id}, false); err != nil {
		t.Fatal(err)
	}
}

// TestEditOfDeletedAnnouncementRefused: an edit that reaches the store
// after the announcement was deleted (the editor's check passed just
// before) is refused inside the command, not saved as a new draft.
func TestEditOfDeletedAnnouncementRefused(t *testing.T) {
	f := newFixture(t)
	a := f.publish(t, "Lift closed", Everyone)
	if err := f.svc.Change(ctx, "m", CmdDelete, a.ID); err != nil {
		t.Fatal(err)
	}
	// What Save issues once its own check has passed.
	payload := map[string]any{"announcement": Announcement{ID: a.ID, Title: "Lift closed (edited)", Audience: Everyone}, "edit": true}
	if _, err := store.Issue(ctx, f.st, CmdSave, "m", f.clk.Now(), payload); !errors.Is(err, ErrNotFound) {
		t.Fatalf("edit after delete: %v, want ErrNotFound", err)
	}
	if _, err := f.svc.Get(a.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted announcement came back: %v", err)
	}
}

// TestHugeContentRefusedBeforeSanitising: content far past the limit is
// refused as it arrives, without parsing it (twice) first — 20 MB of
// markup that sanitises to nothing took seconds and was then accepted.
func TestHugeContentRefusedBeforeSanitising(t *testing.T) {
	a := Announcement{Title: "t", Audience: Everyone, Content: strings.Repeat("<script>x</script>", MaxRawContent/18+1)}
	if es := Check(&a); es.For("content").Code != "too_long" {
		t.Fatalf("errors %v", es)
	}
	// Within the raw limit, what the sanitiser removes does not count.
	a = Announcement{Title: "t", Audience: Everyone, Content: strings.Repeat("<script>x</script>", MaxContent/18+1) + "<p>ok</p>"}
	if es := Check(&a); len(es) != 0 || a.Content != "<p>ok</p>" {
		t.Fatalf("errors %v, content %q", es, a.Content)
	}
}

// pngHeader is a PNG that claims w×h pixels of 16-bit colour with alpha
// and holds no picture data: what DecodeConfig reads of a crafted file.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	chunk("IHDR", append(ihdr, 16, 6, 0, 0, 0)) // 16-bit, RGBA
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

// TestPictureDecodeMemoryBounded: a file that claims 36 megapixels of
// 16-bit colour (under the pixel limit) is refused from its header, not
// given the 288 MB its decoding allocates.
func TestPictureDecodeMemoryBounded(t *testing.T) {
	raw := pngHeader(6000, 6000)
	if cfg, err := png.DecodeConfig(bytes.NewReader(raw)); err != nil || cfg.Width != 6000 {
		t.Fatalf("crafted header: %v", err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := PrepareImage(raw)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrImage) {
		t.Fatalf("PrepareImage = %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Fatalf("refusing the picture allocated %d MB", n>>20)
	}
}

// failAfter is an outbox that stops queueing after its first batch.
type failAfter struct {
	Outbox
	batches int
}

func (o *failAfter) Enqueue(ctx context.Context, actor string, ms ...notify.Message) ([]string, error) {
	if o.batches++; o.batches > 1 {
		return nil, errors.New("outbox full")
	}
	return o.Outbox.Enqueue(ctx, actor, ms...)
}

// A broadcast that queued only some of its recipients is not reported as
// sent: the sender hears how many were queued.
func TestPartlyQueuedBroadcastIsAnError(t *testing.T) {
	f := newFixture(t)
	var many []notify.Recipient
	for i := 0; i < notify.MaxBatch+5; i++ {
		many = append(many, notify.Recipient{AccountID: fmt.Sprintf("%016d", i+1)})
	}
	f.svc.o.People = people{Staff: many}
	f.svc.o.Outbox = &failAfter{Outbox: f.outbox}
	_, err := f.svc.Send(ctx, "m", Send{Urgent: true, Audience: Staff, Text: "fire drill"})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("queued %d of", notify.MaxBatch)) {
		t.Fatalf("partly queued broadcast: %v", err)
	}
}
