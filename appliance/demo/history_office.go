package demo

// The office: keys, card stock and notices.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/stock"
	"gatehouse/appliance/visit"
)

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
