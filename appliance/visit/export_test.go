package visit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/pass"
	"gatehouse/appliance/store"
)

// needTools skips a test whose command-line tools are missing, except in
// CI, where .ci/run installs them and a missing tool is a failure.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (Debian packages poppler-utils, zbar-tools)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	for _, font := range []string{DefaultFont, DefaultLatinFont} {
		if _, err := os.Stat(font); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing (Debian packages fonts-droid-fallback, fonts-dejavu-core)", font)
			}
			t.Skipf("%s is not installed", font)
		}
	}
}

func TestPassSheetScansAndNamesEveryAttendee(t *testing.T) {
	needTools(t, "pdftoppm", "pdftotext", "zbarimg")
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	list := "name,mobile,company,title\n" +
		"张伟,13800000001,北京某某科技有限公司,先生\n" +
		"欧阳娜娜,13800000002,,女士\n" +
		"Zhao Wei,13800000003,Acme Ltd,Mr\n" +
		"Maximiliana Rosalind Featherstonehaugh-Cholmondeley,13800000004,Very Long Company Name Holdings International,Dr\n" +
		"李雷,13800000005,,\n韩梅梅,13800000006,,\n王芳,13800000007,,\n刘洋,13800000008,,\n" +
		"陈静,13800000009,,\n" // nine: the second page holds one card
	if _, err := f.confs.Register(ctx, "account:desk", m.ID, []byte(list)); err != nil {
		t.Fatal(err)
	}
	vs, _ := f.confs.Attendees(m.ID)
	// A cancelled attendee gets no card.
	if err := f.visits.Move(ctx, "account:desk", vs[8].ID, EvCancel, ""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pdfPath := filepath.Join(dir, "passes.pdf")
	var buf bytes.Buffer
	if err := f.confs.PassSheet(&buf, m.ID, SheetOptions{Location: time.UTC, Footer: "请在闸机处出示通行码"}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pdfPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", pdfPath, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"张伟 先生", "欧阳娜娜 女士", "Zhao Wei Mr", "Featherstonehaugh-Chol…", "北京某某科技有限公司", "李雷", "刘洋", "2026-11-23 09:00 – 17:00", "Hall A", "请在闸机处出示通行码"} {
		if !strings.Contains(text, want) {
			t.Errorf("sheet text lacks %q", want)
		}
	}
	if strings.Contains(text, "陈静") {
		t.Error("the cancelled attendee has a card")
	}
	if strings.Count(text, "\f") != 1 { // pages are separated by form feeds
		t.Errorf("%d pages, want 1 (8 cards)", strings.Count(text, "\f"))
	}
	// Render at a modest 150 dpi, as a cheap printer would, and at 300; zbarimg
	// reading eight codes off a whole page now and then misses one, so the
	// two readings are unioned.
	seen := map[string]bool{}
	var got []string
	for _, dpi := range []string{"150", "300"} {
		prefix := filepath.Join(dir, "page"+dpi)
		if out, err := exec.Command("pdftoppm", "-r", dpi, "-png", pdfPath, prefix).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
		pages, _ := filepath.Glob(prefix + "*.png")
		if len(pages) != 1 {
			t.Fatalf("%d pages rendered", len(pages))
		}
		out, err := exec.Command("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", pages[0]).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		for _, tok := range strings.Fields(string(out)) {
			c, err := pass.Verify(f.keys.Verifier(), tok, time.Unix(0, m.From).Add(time.Minute))
			if err != nil {
				t.Fatalf("decoded token %q does not verify: %v", tok, err)
			}
			if !seen[c.VisitID] {
				seen[c.VisitID] = true
				got = append(got, c.VisitID)
			}
		}
	}
	var want []string
	for _, v := range vs[:8] {
		want = append(want, v.ID)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("decoded passes of %v, want %v", got, want)
	}
}

func TestPassSheetSurvivesAnyText(t *testing.T) {
	needTools(t)
	m := Meeting{ID: store.NewID(confStart), Name: "😀 𠀀 \u202e\x00 " + strings.Repeat("很长的会议名称", 30),
		Place: "\uFFFF\uFFFE", From: confStart.UnixNano(), Until: confStart.Add(30 * time.Hour).UnixNano()}
	var names []string
	for r := rune(0x20); r < 0x10000; r += 97 {
		names = append(names, strings.Repeat(string(r), 5))
	}
	names = append(names, "", "😀😀😀", "\U00020000", string([]byte{0xff}), strings.Repeat("W", 200))
	var vs []Visit
	for _, n := range names {
		vs = append(vs, Visit{ID: store.NewID(confStart), PassID: store.NewID(confStart), State: Approved, From: m.From, Until: m.Until,
			Visitor: Visitor{Name: n, Company: n, Title: "Dr"}})
	}
	var buf bytes.Buffer
	err := WritePassSheet(&buf, m, vs, func(v Visit) (string, error) { return "GH1.x" + v.ID, nil }, SheetOptions{})
	if err != nil || !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("sheet: %v", err)
	}
	// No attendees: one page with the footer, not an error.
	buf.Reset()
	if err := WritePassSheet(&buf, m, nil, nil, SheetOptions{}); err != nil || buf.Len() == 0 {
		t.Fatalf("empty sheet: %v", err)
	}
}

func TestPassSheetWithoutFontSaysWhatToInstall(t *testing.T) {
	m := Meeting{ID: store.NewID(confStart), Name: "M", From: confStart.UnixNano(), Until: confStart.Add(time.Hour).UnixNano()}
	for _, path := range []string{filepath.Join(t.TempDir(), "none.ttf"), "/etc/hostname"} {
		for _, o := range []SheetOptions{{FontPath: path}, {LatinPath: path, FontPath: "/etc/hostname"}, {LatinPath: path}} {
			err := WritePassSheet(&bytes.Buffer{}, m, nil, nil, o)
			if !errors.Is(err, ErrNoFont) || !strings.Contains(err.Error(), "fonts-droid-fallback") {
				t.Errorf("fonts %+v: %v", o, err)
			}
		}
	}
}

func TestWindowText(t *testing.T) {
	sh, _ := time.LoadLocation("Asia/Shanghai")
	m := Meeting{From: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC).UnixNano(), Until: time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC).UnixNano()}
	if got := WindowText(m, sh); got != "2026-11-23 09:00 – 17:30" {
		t.Errorf("one day: %q", got)
	}
	m.Until = time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC).UnixNano()
	if got := WindowText(m, sh); got != "2026-11-23 09:00 – 2026-11-24 17:30" {
		t.Errorf("two days: %q", got)
	}
}

func TestExportRowsResolveNames(t *testing.T) {
	f := newConfFixture(t, clock.NewFake(confStart))
	ctx := context.Background()
	m := f.meeting(t)
	if _, err := f.confs.Register(ctx, "account:desk", m.ID, []byte("张三,13800138000,来访公司,先生\n")); err != nil {
		t.Fatal(err)
	}
	vs, _ := f.confs.Attendees(m.ID)
	f.clk.Set(confStart.Add(2 * time.Hour))
	if err := f.visits.Move(ctx, "device:lane1", vs[0].ID, EvEnter, ""); err != nil {
		t.Fatal(err)
	}
	vs, _ = f.confs.Attendees(m.ID)
	vs = append(vs, Visit{ID: store.NewID(confStart), HostID: "0000000000000000", Mode: Booked, State: Requested}) // a host since deleted
	rows, err := f.visits.ExportRows(vs)
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %v %v", rows, err)
	}
	r := rows[0]
	if r.Visitor != "张三" || r.Title != "先生" || r.Mobile != "138****8000" || r.VisitorCompany != "来访公司" || r.Company != "Acme" ||
		r.Floor != "3F" || r.Host != "Organiser" || r.Mode != Conference || r.State != In || !r.In.Equal(f.clk.Now()) || !r.Out.IsZero() ||
		r.From.UnixNano() != m.From {
		t.Fatalf("row = %+v", r)
	}
	if rows[1].Host != "" || !rows[1].From.IsZero() {
		t.Fatalf("unknown host row = %+v", rows[1])
	}
}
