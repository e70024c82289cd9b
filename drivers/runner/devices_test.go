package runner_test

import (
	"context"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/device"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/store"
	"gatehouse/drivers/modem"
	"gatehouse/drivers/osdp"
	osdpsim "gatehouse/drivers/osdp/sim"
)

// osdpFeedback checks the latest LED and beep a reader got: green and a
// short beep for a grant, red and a long beep for a deny.
func osdpFeedback(t *testing.T, pd *osdpsim.PD, fb gate.Feedback) {
	t.Helper()
	leds, buzz := pd.LEDs(), pd.Buzzers()
	if len(leds) == 0 || len(buzz) == 0 {
		t.Fatalf("no feedback on the reader (%d LED, %d buzzer commands)", len(leds), len(buzz))
	}
	l, b := leds[len(leds)-1].Temporary, buzz[len(buzz)-1]
	color, beep := byte(osdp.ColorGreen), byte(2) // 200 ms
	if fb == gate.Deny {
		color, beep = osdp.ColorRed, 10 // 1 s
	}
	if l.Code != osdp.LEDTempSet || l.OnColor != color || b.OnTime != beep || b.Count != 1 {
		t.Fatalf("%s feedback: LED %+v, buzzer %+v", fb, l, b)
	}
}

func TestOSDPReaderFromConfigurationKeysItselfAndGrants(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	d := r.dev["osdp"]
	pd := r.bench.OSDPReader(d)
	if pd == nil {
		t.Fatal("no simulated reader behind the OSDP device")
	}

	// Installed on SCBK-D, the reader was given a fresh key of its own,
	// stored sealed under its device ID before it was sent.
	eventually(t, "reader on its own key", func() bool {
		h, _ := r.run.Health(d.ID)
		return h.Online && h.Secure && !h.DefaultKey
	})
	if _, onDefault := pd.Secure(); onDefault || pd.InstallMode() || pd.Key().IsZero() {
		t.Fatalf("reader: on SCBK-D %v, install mode %v", onDefault, pd.InstallMode())
	}
	keys := device.NewReaderKeys(r.app.Store, r.app.Clock, r.app.Keys)
	k, err := keys.LoadKey(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := pd.Key().Bytes(); !reflect.DeepEqual(k, want) {
		t.Fatal("the stored key is not the reader's")
	}
	var raw []byte
	_ = r.app.Store.View(func(rd *store.Reader) error {
		raw, err = rd.Get(store.Key(store.KindDeviceKey, d.ID))
		return err
	})
	if err != nil || !strings.HasPrefix(string(raw), "s1:") || strings.Contains(strings.ToLower(string(raw)), hex.EncodeToString(k)) {
		t.Fatalf("stored key is not sealed: %v", err)
	}
	if _, err := keys.LoadKey(ctx, r.dev["osdp2"].ID); err == nil {
		t.Fatal("a reader without the secure channel has a key")
	}

	// A card enrolled for the lane: granted, green and a short beep, the
	// lane's relay pulsed.
	if _, err := r.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "04A23B1C", HolderKind: access.HolderEmployee,
		HolderID: r.host.ID, HolderName: "Host", GroupIDs: []string{r.group.ID}}); err != nil {
		t.Fatal(err)
	}
	r.present(t, "osdp", "04A23B1C")
	if h := r.decided(t, "osdp", 0); !h.Open || h.Reason != string(access.Granted) {
		t.Fatalf("enrolled card: %+v", h)
	}
	eventually(t, "coil on then off", func() bool { return len(r.coils()) == 2 })
	if got := r.coils(); !reflect.DeepEqual(got, pulse(0)) {
		t.Fatalf("coil writes %v", got)
	}
	eventually(t, "grant feedback", func() bool { return len(pd.Buzzers()) == 1 })
	osdpFeedback(t, pd, gate.Grant)
	if rd, _ := r.run.LastRead(d.ID); rd.Kind != gate.Card || rd.Value != "04A23B1C" {
		t.Fatalf("read %+v", rd)
	}

	// An unknown card: denied, red and a long beep, the relay still.
	first, _ := r.run.LastRead(d.ID)
	r.present(t, "osdp", "DEADBEEF")
	if h := r.decided(t, "osdp", first.Seq); h.Open || h.Reason != string(access.Unknown) {
		t.Fatalf("unknown card: %+v", h)
	}
	eventually(t, "deny feedback", func() bool { return len(pd.Buzzers()) == 2 })
	osdpFeedback(t, pd, gate.Deny)
	if n := len(r.coils()); n != 2 {
		t.Fatalf("a deny moved the relay: %d writes", n)
	}

	// A QR scan at the lane's entry scanner shows on the lane's entry
	// card reader.
	r.present(t, "entry", "GH1.not-a-pass")
	eventually(t, "the scan's deny on the card reader", func() bool { return len(pd.Buzzers()) == 3 })
	osdpFeedback(t, pd, gate.Deny)

	// The desk reader on the same bus enrols: its reads are noted, never
	// decided, and it shows nothing.
	pd2 := r.bench.OSDPReader(r.dev["osdp2"])
	got := make(chan device.Read, 1)
	go func() {
		rd, err := r.app.Devices.Live().WaitRead(ctxT(t), "", 0)
		if err != nil {
			t.Error(err)
		}
		got <- rd
	}()
	r.present(t, "osdp2", "04A23B1C")
	if rd := <-got; rd.Device != r.dev["osdp2"].ID || rd.Value != "04A23B1C" {
		t.Fatalf("enrolment read %+v", rd)
	}
	if h, _ := r.run.Health(r.dev["osdp2"].ID); !h.Decided.IsZero() || len(pd2.Buzzers()) != 0 {
		t.Fatalf("enrolment read decided or signalled: %+v", h)
	}

	// `devices test` on a reader: it shows green and beeps, then waits
	// for a card.
	tested := make(chan device.TestResult, 1)
	go func() {
		res, err := r.run.Test(ctxT(t), r.dev["osdp2"].ID)
		if err != nil {
			t.Error(err)
		}
		tested <- res
	}()
	eventually(t, "test beep", func() bool { return len(pd2.Buzzers()) == 1 })
	osdpFeedback(t, pd2, gate.Grant)
	var res device.TestResult
	eventually(t, "test read", func() bool {
		r.present(t, "osdp2", "0A0B0C0D")
		select {
		case res = <-tested:
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	})
	if !res.Beeped || res.Did != "read" || res.Read.Value != "0A0B0C0D" {
		t.Fatalf("reader test %+v", res)
	}

	// Unplugged, the readers go offline; plugged back in, the secure one
	// comes back on the key it holds.
	if err := r.bench.Unplug(d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reader offline", func() bool { h, _ := r.run.Health(d.ID); return h.Running && !h.Online })
	if err := r.bench.Replug(d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reader back", func() bool { h, _ := r.run.Health(d.ID); return h.Online && h.Secure && !h.DefaultKey })
	if k2, _ := keys.LoadKey(ctx, d.ID); !reflect.DeepEqual(k, k2) {
		t.Fatal("the key changed on a reconnect")
	}

	// Given an output of its own, the reader drives the lock (osdp_OUT,
	// the lane's 100-ms pulse) and the lane's relay is left alone. The
	// port restarts; the reader keeps its key and is not put back into
	// install mode.
	out := 2
	d.Options.Output = &out
	if _, err := r.app.Devices.Save(ctx, "t", d); err != nil {
		t.Fatal(err)
	}
	eventually(t, "port restarted", func() bool {
		h, _ := r.run.Health(d.ID)
		return h.Running && h.Opens == 1 && h.Online && h.Secure && !h.DefaultKey
	})
	before, _ := r.run.LastRead(d.ID)
	r.present(t, "osdp", "04A23B1C")
	if h := r.decided(t, "osdp", before.Seq); !h.Open {
		t.Fatalf("enrolled card at the reader with an output: %+v", h)
	}
	eventually(t, "osdp_OUT", func() bool { return len(pd.Outputs()) == 1 })
	if o := pd.Outputs()[0]; o.Output != 2 || o.Code != osdp.OutTempOn || o.Timer != 1 {
		t.Fatalf("osdp_OUT %+v", o)
	}
	time.Sleep(50 * time.Millisecond) // a pulse would have started by now
	if n := len(r.coils()); n != 2 {
		t.Fatalf("the lane relay moved for a reader with its own output: %d writes", n)
	}
	if k2, _ := keys.LoadKey(ctx, d.ID); !reflect.DeepEqual(k, k2) {
		t.Fatal("the key changed on a restart")
	}
}

func TestPrinterTestSlipAndVisitorSlip(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	sp := r.bench.Printer(r.dev["print"])
	res, err := r.app.Devices.Live().Test(ctx, r.dev["print"].ID)
	if err != nil || res.Did != "printed" {
		t.Fatalf("printer test: %+v %v", res, err)
	}
	eventually(t, "test slip printed", func() bool { return len(sp.Jobs()) == 1 })
	job := sp.Jobs()[0]
	if len(job.QR) != 1 || job.QR[0].Data != "GATEHOUSE-PRINTER-TEST" || !job.Cut || !strings.Contains(job.Text(), "Test slip") {
		t.Fatalf("test slip: %q QR %+v", job.Text(), job.QR)
	}

	p := r.app.Devices.Printer()
	if p == nil {
		t.Fatal("no printer offered")
	}
	now := r.app.Clock.Now()
	if err := p.PrintSlip(ctx, device.Slip{Site: "Tower", Visitor: "张三", Host: "Host", Floor: "1F", From: now, Until: now.Add(2 * time.Hour),
		Pass: "GH1.pass-token", Lang: "zh-Hans"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "visitor slip printed", func() bool { return len(sp.Jobs()) == 2 })
	job = sp.Jobs()[1]
	if len(job.QR) != 1 || job.QR[0].Data != "GH1.pass-token" || !strings.Contains(job.Text(), "张三") || !strings.Contains(job.Text(), "被访人：Host") {
		t.Fatalf("visitor slip: %q QR %+v", job.Text(), job.QR)
	}
}

func TestModemSendsNotificationsAndAnswersItsTest(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	res, err := r.app.Devices.Live().Test(ctx, r.dev["modem"].ID)
	if err != nil || res.Did != "signal" {
		t.Fatalf("modem test: %+v %v", res, err)
	}
	if !r.run.HasModem() {
		t.Fatal("no modem")
	}
	w := notify.NewWorker(r.app.Notify, notify.WorkerOptions{SMS: r.run.SMS()})
	if _, err := r.app.Notify.Enqueue(ctx, "t", notify.Message{Channel: notify.SMS, To: "13800138000", Kind: "visit.arrived",
		Subject: "访客已到达", Body: "张三在大堂等您"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	sm := r.bench.Modem(r.dev["modem"])
	eventually(t, "SMS at the modem", func() bool { return len(sm.Messages()) == 1 })
	m := sm.Messages()[0]
	if m.Text != "访客已到达\n张三在大堂等您" || m.Coding != modem.UCS2 || !strings.HasSuffix(m.Number, "13800138000") {
		t.Fatalf("SMS %+v", m)
	}
}
