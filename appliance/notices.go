package appliance

import (
	"context"
	"fmt"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
)

// StatusPath is where a visitor's status page lives: StatusPath and the
// visit's token. A link under it opens the visitor's pass, so it is a
// credential: the outbox refuses it on pages and webhooks
// (notify.Options.PrivatePaths), and it travels only to the visitor.
const StatusPath = "/v/"

// notices turns visit events and alerts into notifications. The texts are
// in Chinese and English together: the appliance does not know the
// reader's language, and a bilingual line is what lobby systems send.
// Failures are logged (without names or numbers) and never stop a visit.
type notices struct{ a *App }

func (n notices) accountsOf(personID string) []string {
	as, err := n.a.Auth.Accounts()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range as {
		if a.PersonID == personID && !a.Disabled && personID != "" {
			out = append(out, a.ID)
		}
	}
	return out
}

func (n notices) desk() []string {
	as, err := n.a.Auth.Accounts()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range as {
		if a.Role == auth.Reception && !a.Disabled {
			out = append(out, a.ID)
		}
	}
	return out
}

func (n notices) when(v visit.Visit) string {
	from, until := v.Window()
	loc := n.a.Config.Location
	return from.In(loc).Format("01-02 15:04") + "–" + until.In(loc).Format("15:04")
}

// visitor is where the news of a visit's own decision goes: the
// visitor's phone, with their status link.
func (n notices) visitor(v visit.Visit) notify.Recipient {
	var r notify.Recipient
	r.Phone, _ = n.a.Visits.Mobile(v)
	if link, err := n.a.Visits.StatusLink(v); err == nil && link != "" {
		r.Link = StatusPath + link
	}
	return r
}

// send tells the accounts and the visitor (when it has a phone) the note,
// and the webhooks that want its kind. The visitor's own status link goes
// in their Recipient, never in the note: everyone else reads the note.
func (n notices) send(ctx context.Context, accounts []string, note notify.Note, visitor notify.Recipient) {
	for _, id := range accounts {
		if err := n.a.Notify.Tell(ctx, "system", notify.Recipient{AccountID: id}, note); err != nil {
			n.a.Log.Warn("notification not queued", "kind", note.Kind, "err", err)
		}
	}
	if visitor.Phone != "" {
		if err := n.a.Notify.Tell(ctx, "system", visitor, note); err != nil {
			n.a.Log.Warn("notification not queued", "kind", note.Kind, "err", err)
		}
	}
	if err := n.a.Notify.Broadcast(ctx, "system", note); err != nil {
		n.a.Log.Warn("webhook notification not queued", "kind", note.Kind, "err", err)
	}
}

// hook is the visit service's listener.
func (n notices) hook(ctx context.Context, kind string, v visit.Visit) {
	name := v.Visitor.Name
	var note notify.Note
	var to []string
	var visitor notify.Recipient
	switch kind {
	case visit.HookRequested:
		if !n.a.digest.admit(v.HostID, n.a.Clock.Now()) {
			return // counted for the host's digest
		}
		note = notify.Note{Kind: notify.KindVisitRequested, Subject: "访客申请 Visit request: " + name,
			Body: fmt.Sprintf("%s 申请来访（%s），事由：%s。\n%s asks to visit (%s): %s.", name, n.when(v), v.Reason, name, n.when(v), v.Reason),
			Link: "/host/visits"}
		to = n.accountsOf(v.HostID)
	case visit.HookApproved, visit.HookInvited:
		note = n.passNote(v)
		visitor = n.visitor(v)
	case visit.HookRejected:
		note = notify.Note{Kind: notify.KindVisitRejected, Subject: "访问未获批准 Visit declined",
			Body: fmt.Sprintf("%s，您的访问申请未获批准：%s\n%s, your visit was declined: %s", name, v.RejectReason, name, v.RejectReason)}
		visitor = n.visitor(v)
	case visit.HookArrived:
		note = notify.Note{Kind: notify.KindVisitArrived, Subject: "访客已到达 Visitor arrived: " + name,
			Body: fmt.Sprintf("您的访客 %s 已进入大楼。\nYour visitor %s has arrived.", name, name), Link: "/host/visits"}
		to = n.accountsOf(v.HostID)
	default:
		return
	}
	n.send(ctx, to, note, visitor)
}

// passNote is the message that brings a visitor their pass: sent on
// approval, and again when the desk resends it.
func (n notices) passNote(v visit.Visit) notify.Note {
	name := v.Visitor.Name
	return notify.Note{Kind: notify.KindVisitApproved, Subject: "访问已确认 Visit confirmed",
		Body: fmt.Sprintf("%s，您的访问（%s）已确认，请凭通行码入场。\n%s, your visit (%s) is confirmed; show your pass at the gate.", name, n.when(v), name, n.when(v))}
}

// ResendPass sends visitor id the message an approval sends — the link to
// their pass — once more, by text message, for a visitor at the desk who
// cannot find it. Only the visitor hears it: the host and the webhooks
// heard of the approval already. It says notify.ErrNoChannel when no text
// can reach the visitor (no modem, or the number purged), and
// visit.ErrTransition when the visit has no pass that opens a gate.
func (a *App) ResendPass(ctx context.Context, actor, id string) error {
	v, err := a.Visits.Get(id)
	if err != nil {
		return err
	}
	if !v.State.PassValid() {
		return fmt.Errorf("%w: no pass to send for a %s visit", visit.ErrTransition, v.State)
	}
	n := notices{a}
	to := n.visitor(v)
	if to.Phone == "" || to.Link == "" || !a.Notify.SMSEnabled() {
		return notify.ErrNoChannel
	}
	return a.Notify.Tell(ctx, actor, to, n.passNote(v))
}

// VisitAlert implements visit.Alerter for the timed rules.
func (n notices) VisitAlert(ctx context.Context, kind string, v visit.Visit) {
	name := v.Visitor.Name
	var note notify.Note
	var to []string
	switch kind {
	case visit.AlertOverstay:
		note = notify.Note{Kind: kind, Subject: "访客超时 Visitor past their time: " + name,
			Body: fmt.Sprintf("%s 仍在楼内，预约时间 %s 已过。\n%s is still inside after %s.", name, n.when(v), name, n.when(v)), Link: "/desk/today"}
		to = n.desk()
	case visit.AlertNoExit:
		note = notify.Note{Kind: kind, Subject: "未记录离开 No exit recorded: " + name,
			Body: fmt.Sprintf("%s 的访问已在日终关闭，未记录离开。\n%s's visit was closed at day end with no exit recorded.", name, name), Link: "/desk/records"}
		to = n.desk()
	case visit.AlertRemindHost:
		note = notify.Note{Kind: kind, Subject: "请审批访客 Please answer: " + name,
			Body: fmt.Sprintf("%s 的来访申请（%s）仍在等待您的答复。\n%s's visit request (%s) is waiting for your answer.", name, n.when(v), name, n.when(v)), Link: "/host/visits"}
		to = n.accountsOf(v.HostID)
	case visit.AlertEscalatedDesk:
		note = notify.Note{Kind: kind, Subject: "被访人未答复 Host has not answered: " + name,
			Body: fmt.Sprintf("%s 的来访申请（%s）被访人尚未答复，请联系被访人。\nThe host has not answered %s's request (%s); please call them.", name, n.when(v), name, n.when(v)), Link: "/desk/today"}
		to = n.desk()
	default:
		return
	}
	n.send(ctx, to, note, notify.Recipient{})
}

// KindPhoneCode is the text message with a booking's one-time code.
const KindPhoneCode = "visit.code"

// codes sends the booking page's one-time codes through the outbox's SMS
// channel (the outbox seals the text at rest).
type codes struct{ a *App }

func (c codes) SMSReady() bool { return c.a.Notify.SMSEnabled() }

func (c codes) SendCode(ctx context.Context, mobile, code string) error {
	return c.a.Notify.Tell(ctx, "visitor", notify.Recipient{Phone: mobile}, notify.Note{Kind: KindPhoneCode,
		Subject: "访客预约验证码 Visit booking code",
		Body:    code + "（5 分钟内有效，请勿告诉他人）\nValid for 5 minutes. Do not share it."})
}
