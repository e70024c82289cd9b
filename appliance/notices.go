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

// RequestPath is where a host answers one visit request: RequestPath and
// the visit's ID. The host's notifications link there; it asks them to
// sign in first when they have not.
const RequestPath = "/host/visits/"

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
// visitor's phone, with their status link, in their language.
func (n notices) visitor(v visit.Visit) notify.Recipient {
	r := notify.Recipient{Lang: n.a.lang(v)}
	r.Phone, _ = n.a.Visits.Mobile(v)
	if link, err := n.a.Visits.StatusLink(v); err == nil && link != "" {
		r.Link = StatusPath + link
	}
	return r
}

// host is whom news for host personID reaches: their accounts in the
// page, and their phone and mailbox as they chose (directory.Person.Notify),
// once, in the site's language.
func (n notices) host(personID string) []notify.Recipient {
	var out []notify.Recipient
	for _, id := range n.accountsOf(personID) {
		out = append(out, notify.Recipient{AccountID: id})
	}
	p, err := n.a.Directory.Person(personID)
	if err != nil || !p.Active {
		return out
	}
	var r notify.Recipient
	if p.WantsSMS() {
		if r.Phone, err = n.a.Directory.Mobile(p); err != nil {
			n.a.Log.Warn("host's mobile not opened", "err", err)
		}
	}
	if p.WantsEmail() {
		if r.Email, err = n.a.Directory.Email(p); err != nil {
			n.a.Log.Warn("host's email not opened", "err", err)
		}
	}
	if r.Phone == "" && r.Email == "" {
		return out
	}
	r.Lang = n.a.Settings().Language
	if len(out) > 0 {
		r.AccountID = out[0].AccountID
		out[0] = r
		return out
	}
	return []notify.Recipient{r}
}

// tell tells each recipient the note, and the visitor (when they have a
// phone), and the webhooks that want its kind.
func (n notices) tell(ctx context.Context, to []notify.Recipient, note notify.Note, visitor notify.Recipient) {
	for _, r := range to {
		if err := n.a.Notify.Tell(ctx, "system", r, note); err != nil {
			n.a.Log.Warn("notification not queued", "kind", note.Kind, "err", err)
		}
	}
	n.send(ctx, nil, note, visitor)
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
	var note notify.Note
	var to []notify.Recipient
	var visitor notify.Recipient
	switch kind {
	case visit.HookRequested:
		if !n.a.digest.admit(v.HostID, n.a.Clock.Now()) {
			return // counted for the host's digest
		}
		note, to = n.requestNote(v), n.host(v.HostID)
	case visit.HookApproved, visit.HookInvited:
		note, visitor = n.passNote(v), n.visitor(v)
	case visit.HookWalkedIn:
		// The host agreed on the phone and the webhooks need not hear it:
		// only the visitor, who gets their pass.
		if to := n.visitor(v); to.Phone != "" && to.Link != "" {
			if err := n.a.Notify.Tell(ctx, "system", to, n.walkInNote(v)); err != nil {
				n.a.Log.Warn("notification not queued", "kind", "visit.walked_in", "err", err)
			}
		}
		return
	case visit.HookRejected:
		note, visitor = n.rejectedNote(v), n.visitor(v)
	case visit.HookArrived:
		note, to = n.arrivedNote(v), n.host(v.HostID)
	default:
		return
	}
	n.tell(ctx, to, note, visitor)
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
		// To the host alone, in their language, by their channels.
		when := n.window(v)
		n.tell(ctx, n.host(v.HostID), noteOf(kind, RequestPath+v.ID,
			notify.Text{Subject: "请审批访客：" + name, Body: fmt.Sprintf("%s 的来访申请（%s）仍在等待您的答复。", name, when),
				SMS: fmt.Sprintf("%s的来访申请（%s）仍待您审批：", name, when)},
			notify.Text{Subject: "Please answer: " + name, Body: fmt.Sprintf("%s's visit request (%s) is waiting for your answer.", name, when),
				SMS: fmt.Sprintf("%s's visit request (%s) awaits your answer:", name, when)}), notify.Recipient{})
		return
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

func (c codes) SendCode(ctx context.Context, mobile, lang, code string) error {
	if lang != "zh" && lang != "en" {
		lang = c.a.Settings().Language
	}
	return c.a.Notify.Tell(ctx, "visitor", notify.Recipient{Phone: mobile, Lang: lang}, codeNote(code))
}
