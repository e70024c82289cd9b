package runner

import (
	"context"
	"errors"
	"slices"
	"time"

	"gatehouse/appliance/device"
	"gatehouse/appliance/notify"
	"gatehouse/drivers/escpos"
	"gatehouse/drivers/modem"
)

// testSlip is what `devices test PRINTER` prints: a slip with every part
// a visitor slip has, the QR code included.
func testSlip(now time.Time) escpos.Slip {
	return escpos.Slip{Site: "Gatehouse", Visitor: "Test slip 测试", Host: "Printer test", Floor: "-",
		From: now, Until: now.Add(time.Hour), Pass: "GATEHOUSE-PRINTER-TEST"}
}

// firstGroup returns the running group, of the devices with role, that
// comes first by device name; nil when none runs.
func (r *Runner) firstGroup(role device.Role, ok func(*group) bool) *group {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	byName := map[string]*group{}
	for _, g := range r.groups {
		for _, d := range g.devs {
			if d.Role == role && ok(g) {
				names = append(names, d.Name)
				byName[d.Name] = g
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return byName[names[0]]
}

// HasPrinter implements device.SlipPrinter.
func (r *Runner) HasPrinter() bool {
	return r.firstGroup(device.Printer, func(g *group) bool { return g.print != nil }) != nil
}

// PrintSlip implements device.SlipPrinter: the slip goes to the first
// running printer (by name). A printer out of paper or with its cover open
// fails with the escpos status error, and the slip is not sent.
func (r *Runner) PrintSlip(ctx context.Context, s device.Slip) error {
	g := r.firstGroup(device.Printer, func(g *group) bool { return g.print != nil })
	if g == nil {
		return device.ErrNoPrinter
	}
	return g.print.PrintSlip(ctx, escpos.Slip{Site: s.Site, Visitor: s.Visitor, Host: s.Host, Floor: s.Floor,
		From: s.From, Until: s.Until, Pass: s.Pass, Labels: escpos.LabelsFor(s.Lang)})
}

// ErrNoModem: an SMS with no modem running.
var ErrNoModem = errors.New("runner: no GSM modem running")

// SMS is the notification worker's SMS channel (notify.WorkerOptions.SMS):
// each message goes to the modem running when it is sent, so a modem
// configured, replaced or restarted after serve started is used.
func (r *Runner) SMS() notify.Channel { return smsChannel{r} }

// HasModem reports whether a GSM modem is configured and its driver runs.
func (r *Runner) HasModem() bool {
	return r.firstGroup(device.ModemRole, func(g *group) bool { return g.modem != nil }) != nil
}

type smsChannel struct{ r *Runner }

func (c smsChannel) Send(ctx context.Context, m notify.Message) error {
	g := c.r.firstGroup(device.ModemRole, func(g *group) bool { return g.modem != nil })
	if g == nil {
		return &notify.SendError{Reason: "sms: no modem", Err: ErrNoModem}
	}
	return modem.Channel{Sender: g.modem, Base: c.r.cfg.Base}.Send(ctx, m)
}
