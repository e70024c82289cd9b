package demo

// The gates: employees' cards and quick passes, and what makes a guard look up.

import (
	"context"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/visit"
)

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

// workerIn: the card at the card reader (at Gate B as often the OSDP
// reader), or for some the quick pass at the entry scanner; one day in
// five at the other gate.
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

// workerOut: the quick pass at the usual gate's exit scanner (the card
// readers are entry readers).
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
				if !in.After(h.opened) {
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
			out = h.around(h.clockAt(day, 20, 45), 75*time.Minute) // working late
		}
		if !in.After(h.opened) {
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

// acknowledge: the guard acknowledges every open alarm.
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
