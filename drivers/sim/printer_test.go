package sim_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"gatehouse/appliance/pass"
	"gatehouse/drivers/escpos"
	"gatehouse/drivers/sim"
)

func plugPrinter(t *testing.T) (*sim.Printer, *escpos.Printer) {
	t.Helper()
	dev, err := sim.NewPrinter(filepath.Join(t.TempDir(), "ttyPRN"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	p, err := escpos.Open(context.Background(), escpos.Config{Line: fastLine(dev.Path()), StatusTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	eventually(t, "printer online", func() bool { return p.Health().Online })
	return dev, p
}

func TestPrinterPrintsAVisitorSlipWithItsPass(t *testing.T) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	from := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	claims := pass.Claims{PassID: "01jd3k5v7x9z2b4c", VisitID: "01jd3k5v7x9z2b4d", NotBefore: from, NotAfter: from.Add(2 * time.Hour)}
	token, err := pass.Sign(key, claims)
	if err != nil {
		t.Fatal(err)
	}
	dev, p := plugPrinter(t)
	slip := escpos.Slip{Site: "Gatehouse HQ", Visitor: "Ann Lee", Host: "Bo Chen", Floor: "12", From: from, Until: claims.NotAfter, Pass: token}
	if err := p.PrintSlip(context.Background(), slip); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the slip", func() bool { return len(dev.Jobs()) == 1 })
	job := dev.Jobs()[0]

	wantText := "Gatehouse HQ\nAnn Lee\nHost: Bo Chen\nFloor: 12\nValid: 2026-11-23 09:00 - 11:00\n"
	if job.Text() != wantText {
		t.Fatalf("text %q, want %q", job.Text(), wantText)
	}
	if l := job.Lines[0]; l.Align != escpos.Center || !l.Bold {
		t.Errorf("site line %+v", l)
	}
	if l := job.Lines[1]; l.Height != 2 || l.Width != 1 || l.Bold {
		t.Errorf("name line %+v", l)
	}
	if l := job.Lines[2]; l.Align != escpos.Left || l.Height != 1 {
		t.Errorf("host line %+v", l)
	}
	want := []sim.QRCode{{Data: token, Model: escpos.QRModel2, Module: 6, Level: escpos.QRLevelM}}
	if !reflect.DeepEqual(job.QR, want) {
		t.Fatalf("QR %+v, want %+v", job.QR, want)
	}
	// What the printer would draw is a pass the lobby accepts.
	got, err := pass.Verify(key.Public().(ed25519.PublicKey), job.QR[0].Data, from.Add(time.Minute))
	if err != nil || got != claims {
		t.Fatalf("printed pass: %+v %v", got, err)
	}
	if dev.Unknown() != 0 || dev.StatusRequests() != 3 {
		t.Fatalf("unknown %d, status requests %d", dev.Unknown(), dev.StatusRequests())
	}
}

func TestPrinterPrintsAChineseBadge(t *testing.T) {
	dev, p := plugPrinter(t)
	from := time.Date(2026, 11, 23, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	slip := escpos.Slip{Site: "北京总部", Visitor: "张三", Host: "李四", Floor: "5", From: from, Until: from.Add(26 * time.Hour), Pass: "GH1.test", Badge: true, Labels: escpos.LabelsFor("zh")}
	if err := p.PrintSlip(context.Background(), slip); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the badge", func() bool { return len(dev.Jobs()) == 1 })
	job := dev.Jobs()[0]
	wantText := "北京总部\n访客\n张三\n被访人：李四\n楼层：5\n有效期：2026-11-23 09:00 - 2026-11-24 11:00\n"
	if job.Text() != wantText {
		t.Fatalf("text %q, want %q", job.Text(), wantText)
	}
	if l := job.Lines[2]; l.Width != 2 || l.Height != 2 {
		t.Errorf("name line %+v", l)
	}
	if len(job.QR) != 1 || job.QR[0].Data != "GH1.test" {
		t.Fatalf("QR %+v", job.QR)
	}
}

func TestPrinterJobsAreSeparatedByCuts(t *testing.T) {
	dev, p := plugPrinter(t)
	for _, name := range []string{"One", "Two"} {
		if err := p.PrintSlip(context.Background(), escpos.Slip{Visitor: name, Pass: name}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "two jobs", func() bool { return len(dev.Jobs()) == 2 })
	for i, name := range []string{"One", "Two"} {
		j := dev.Jobs()[i]
		if j.Text() != name+"\n" || len(j.QR) != 1 || j.QR[0].Data != name || !j.Cut {
			t.Fatalf("job %d: %q %+v", i, j.Text(), j.QR)
		}
	}
	if len(dev.Pending().Lines) != 0 {
		t.Fatalf("pending %+v", dev.Pending())
	}
}

func TestPrinterReconnectsAfterUnplug(t *testing.T) {
	dev, p := plugPrinter(t)
	dev.Unplug()
	eventually(t, "offline", func() bool { return !p.Health().Online })
	dev.Replug()
	eventually(t, "online again", func() bool { return p.Health().Online })
	if err := p.PrintSlip(context.Background(), escpos.Slip{Visitor: "Ann", Pass: "P"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the slip", func() bool { return len(dev.Jobs()) == 1 })
	if h := p.Health(); h.Reconnects != 1 {
		t.Fatalf("reconnects %d", h.Reconnects)
	}
}
