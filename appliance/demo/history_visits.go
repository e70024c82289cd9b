package demo

// The visits: invitations, bookings, walk-ins and conferences.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gatehouse/appliance/directory"
	"gatehouse/appliance/gate"
	"gatehouse/appliance/stock"
	"gatehouse/appliance/visit"
)

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

// hostFor picks the host of a visit.
func (h *historian) hostFor() directory.Person {
	if h.chance(0.3) {
		return h.hosts[0] // the demo's host account sees a busy week
	}
	return h.hosts[h.pick(len(h.hosts))]
}

// guest picks a visitor; many come back.
func (h *historian) guest() guest { return h.guests[h.pick(len(h.guests))] }

var visitReasons = []string{"商务洽谈 Business meeting", "面试 Interview", "送货 Delivery", "设备维修 Equipment repair",
	"项目评审 Project review", "合同签署 Contract signing", "审计 Audit", "培训 Training"}

// request is g's visit to host from from, for three hours.
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
func (h *historian) come(st *visitState, from time.Time, stay time.Duration) {
	if h.chance(0.08) {
		return // a no-show: the day's sweep marks it
	}
	lane := h.g.lanes[[]string{LaneA, LaneB}[h.pick(2)]]
	in := from.Add(time.Duration(10+h.pick(25*60)) * time.Second)
	out := in.Add(stay)
	token := func() string { return st.token }
	h.at(in, h.present(lane.ID, lane.Name+" entry scanner", gate.In, gate.QR, token))
	h.at(out, h.present(lane.ID, lane.Name+" exit scanner", gate.Out, gate.QR, token))
}

// slot is a visit's start on day: on the hour or the half hour.
func (h *historian) slot(day time.Time) time.Time {
	hh := []int{9, 10, 10, 11, 14, 14, 15, 16}[h.pick(8)]
	return h.clockAt(day, hh, []int{0, 30}[h.pick(2)])
}

func (h *historian) invite(day time.Time) {
	host, g := h.hostFor(), h.guest()
	from := h.slot(day)
	made := h.around(from.Add(-time.Duration(4+h.pick(40))*time.Hour), 30*time.Minute)
	if made.Before(h.opened) {
		made = h.opened.Add(time.Duration(h.pick(3600)) * time.Second)
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
	if booked.Before(h.opened) || !decided.Before(from) {
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
