package appliance

import (
	"fmt"
	"strings"

	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
)

// The words of the messages about a visit, in each language. A message
// goes to its reader in their language alone (notify.Note.Langs): the
// visitor's is the visit's (the booking page's, or the desk's choice), a
// page's is its reader's. Only webhooks, read by a group of unknown
// language, still get both together (Note.Subject, Note.Body).
//
// The SMS wording is what a text message says before its link, kept short
// enough for one part where the language allows: 160 GSM-7 characters in
// English, but only 70 UCS-2 units in Chinese — fewer than an absolute
// status link (about 71 characters) alone, so a Chinese message that
// carries a link takes two parts whatever it says. Times use a plain
// hyphen: an en dash is not GSM-7 and would make an English text UCS-2.
// The parts each kind takes are measured by TestSMSWording (ui).

// lang is the language of v's visitor: the visit's, else the site's.
func (a *App) lang(v visit.Visit) string {
	if v.Lang != "" {
		return v.Lang
	}
	return a.Settings().Language
}

// window is v's expected window, short: "12-08 09:00-11:00".
func (n notices) window(v visit.Visit) string {
	from, until := v.Window()
	loc := n.a.Config.Location
	return from.In(loc).Format("01-02 15:04") + "-" + until.In(loc).Format("15:04")
}

// both is the two languages' texts together, for webhooks.
func both(zh, en notify.Text) (subject, body string) {
	return zh.Subject + " " + en.Subject, zh.Body + "\n" + en.Body
}

// noteOf makes a note of kind with its words in each language.
func noteOf(kind, link string, zh, en notify.Text) notify.Note {
	s, b := both(zh, en)
	return notify.Note{Kind: kind, Subject: s, Body: b, Link: link, Langs: map[string]notify.Text{"zh": zh, "en": en}}
}

// requestNote tells the host that a visitor applied; its link opens the
// request (through sign-in).
func (n notices) requestNote(v visit.Visit) notify.Note {
	name, when := v.Visitor.Name, n.window(v)
	return noteOf(notify.KindVisitRequested, RequestPath+v.ID,
		notify.Text{Subject: "访客申请：" + name, Body: fmt.Sprintf("%s 申请来访（%s），事由：%s。", name, when, v.Reason),
			SMS: fmt.Sprintf("%s申请来访（%s，%s），请审批：", name, when, v.Reason)},
		notify.Text{Subject: "Visit request: " + name, Body: fmt.Sprintf("%s asks to visit (%s): %s.", name, when, v.Reason),
			SMS: fmt.Sprintf("Visit request: %s, %s, %s. Answer:", name, when, v.Reason)})
}

// arrivedNote tells the host that their visitor is in.
func (n notices) arrivedNote(v visit.Visit) notify.Note {
	name := v.Visitor.Name
	return noteOf(notify.KindVisitArrived, "/",
		notify.Text{Subject: "访客已到达：" + name, Body: fmt.Sprintf("您的访客 %s 已进入大楼。", name), SMS: fmt.Sprintf("您的访客%s已到达。", name)},
		notify.Text{Subject: "Visitor arrived: " + name, Body: fmt.Sprintf("Your visitor %s has arrived.", name), SMS: fmt.Sprintf("Your visitor %s has arrived.", name)})
}

// passNote is the message that brings a visitor their pass: sent on
// approval and invitation, and again when the desk resends it. The
// visitor's status link goes in their Recipient.
//
// The host's invitation message and the site's directions go in the
// e-mail only (and on the page the link opens): either can be a few
// hundred characters, which would take the SMS from one or two parts to
// five or more (docs/decisions.md).
func (n notices) passNote(v visit.Visit) notify.Note {
	name, when := v.Visitor.Name, n.window(v)
	zh := fmt.Sprintf("%s，您的访问（%s）已确认，请凭通行码入场。", name, when)
	en := fmt.Sprintf("%s, your visit (%s) is confirmed; show your pass at the gate.", name, when)
	if m := strings.TrimSpace(v.Message); m != "" {
		zh += "\n\n被访人留言：" + m
		en += "\n\nA message from your host: " + m
	}
	if d := strings.TrimSpace(n.a.Settings().MapDirections); d != "" {
		zh += "\n\n到访指引：" + d
		en += "\n\nFinding your way: " + d
	}
	return noteOf(notify.KindVisitApproved, "",
		notify.Text{Subject: "访问已确认", Body: zh, SMS: fmt.Sprintf("%s，您的访问（%s）已确认，通行码：", name, when)},
		notify.Text{Subject: "Visit confirmed", Body: en, SMS: fmt.Sprintf("%s, your visit %s is confirmed. Pass:", name, when)})
}

// walkInNote brings a visitor registered at the desk their pass.
func (n notices) walkInNote(v visit.Visit) notify.Note {
	name, when := v.Visitor.Name, n.window(v)
	return noteOf(notify.KindVisitApproved, "",
		notify.Text{Subject: "欢迎来访", Body: fmt.Sprintf("%s，欢迎来访（%s），请凭通行码进出。", name, when),
			SMS: fmt.Sprintf("%s，欢迎来访！今日通行码：", name)},
		notify.Text{Subject: "Welcome", Body: fmt.Sprintf("%s, welcome (%s); show your pass at the gates.", name, when),
			SMS: fmt.Sprintf("%s, welcome! Your pass for today:", name)})
}

// rejectedNote tells the visitor the host declined, and why.
func (n notices) rejectedNote(v visit.Visit) notify.Note {
	name := v.Visitor.Name
	return noteOf(notify.KindVisitRejected, "",
		notify.Text{Subject: "访问未获批准", Body: fmt.Sprintf("%s，您的访问申请未获批准：%s", name, v.RejectReason),
			SMS: fmt.Sprintf("%s，您的访问申请未获批准：%s。详情：", name, v.RejectReason)},
		notify.Text{Subject: "Visit declined", Body: fmt.Sprintf("%s, your visit was declined: %s", name, v.RejectReason),
			SMS: fmt.Sprintf("%s, your visit request was declined: %s. More:", name, v.RejectReason)})
}

// codeNote is the booking page's one-time code: no link, one part.
func codeNote(code string) notify.Note {
	return noteOf(KindPhoneCode, "",
		notify.Text{Subject: "访客预约验证码", Body: code + "（5 分钟内有效，请勿告诉他人）", SMS: "访客预约验证码：" + code + "，5分钟内有效，请勿告诉他人。"},
		notify.Text{Subject: "Visit booking code", Body: code + " (valid for 5 minutes; do not share it)", SMS: "Your visit booking code: " + code + ". Valid for 5 minutes; do not share it."})
}

// signupCodeNote is an employee's sign-up code: no link, one part.
func signupCodeNote(code string) notify.Note {
	return noteOf(KindSignupCode, "",
		notify.Text{Subject: "员工账号验证码", Body: code + "（5 分钟内有效，请勿告诉他人）", SMS: "员工账号开通验证码：" + code + "，5分钟内有效，请勿告诉他人。"},
		notify.Text{Subject: "Staff account code", Body: code + " (valid for 5 minutes; do not share it)", SMS: "Your staff account code: " + code + ". Valid for 5 minutes; do not share it."})
}
