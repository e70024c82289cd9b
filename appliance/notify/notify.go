// Package notify tells people what happened: a host that a visitor asks to
// come, a visitor that the visit was approved, a guard's group chat that
// someone arrived. It is a durable outbox: a message is first written to the
// store (notify.enqueue) and then delivered by a Worker over its channel —
// live in the page (server-sent events through a Hub), by email over SMTP,
// by webhook (generic JSON, or the robot formats of WeCom, DingTalk and
// Feishu), and later by SMS through the GSM modem — and every attempt is
// recorded (notify.delivered, notify.failed with the next try computed by
// exponential backoff, notify.dead after the last one). Enqueueing never
// sends, so a failing channel never holds up a visit; failures are listed
// for the administrator.
//
// What a message says may name a visitor, and its link may be a visitor's
// status page (a bearer link), so subject, body, link and email or phone
// recipients are sealed with the site key before they go into a command;
// the outbox pages show only the kind, the channel and a masked recipient.
// A bearer link goes only to its owner's email and phone (Recipient.Link),
// never into a page or to a webhook (Options.PrivatePaths).
// See DESIGN.md for the keys and the worker's shape.
package notify

import (
	"context"
	"errors"
	"time"
)

// Errors.
var (
	// ErrNotFound means no such message.
	ErrNotFound = errors.New("notify: message not found")
	// ErrState means the message is not in a state that allows the change
	// (a delivered message cannot fail; only a dead one can be retried).
	ErrState = errors.New("notify: not allowed in this state")
	// ErrNoChannel means nothing can deliver the message's channel (no SMTP
	// server set, no webhook of that name, no modem).
	ErrNoChannel = errors.New("notify: channel not configured")
	// ErrPrivateLink means a message to a page or a webhook, which others
	// read, carries a link that is a credential (Options.PrivatePaths).
	// Such a link travels only as Recipient.Link, to the person's own
	// email and phone.
	ErrPrivateLink = errors.New("notify: a private link on a channel others read")
)

// ChannelName is how a message travels.
type ChannelName string

// Channels. The recipient (Message.To) depends on the channel.
const (
	InPage  ChannelName = "inpage"  // To: account ID; live in the page
	Email   ChannelName = "email"   // To: address, optionally "Name <address>"
	Webhook ChannelName = "webhook" // To: the webhook's name in the settings
	SMS     ChannelName = "sms"     // To: mobile number
)

// Channels lists the channels in display order.
var Channels = []ChannelName{InPage, Email, Webhook, SMS}

// Message kinds the appliance sends. Kind is free text to the outbox
// (lower-case words and dots); these are the ones webhooks subscribe to.
const (
	KindVisitRequested = "visit.requested" // to the host: a visitor applied
	KindVisitApproved  = "visit.approved"  // to the visitor
	KindVisitRejected  = "visit.rejected"  // to the visitor
	KindVisitArrived   = "visit.arrived"   // to the host: the visitor is in
	KindTest           = "notify.test"     // the administrator's test message
	KindMessage        = "message"         // the message centre: to one person
	KindUrgent         = "message.urgent"  // the message centre: an urgent broadcast

	KindBackupFailed    = "backup.failed"    // to the administrators: a backup failed or none ran
	KindBackupRecovered = "backup.recovered" // to the administrators: backups work again
)

// Kinds lists the kinds a webhook may subscribe to.
var Kinds = []string{KindVisitRequested, KindVisitApproved, KindVisitRejected, KindVisitArrived, KindUrgent,
	KindBackupFailed, KindBackupRecovered}

// Message is one notification to one recipient over one channel.
type Message struct {
	ID      string      `json:"id"` // set by Enqueue
	Channel ChannelName `json:"channel"`
	To      string      `json:"to"`
	Kind    string      `json:"kind"`
	Subject string      `json:"subject"`
	Body    string      `json:"body,omitempty"`
	// Link is a path on this appliance ("/host/visits") or an absolute URL;
	// email and robots get it made absolute with Settings.BaseURL.
	Link    string    `json:"link,omitempty"`
	Created time.Time `json:"created"` // set by Enqueue
	// Group names what the message belongs to (a store ID, e.g. the
	// message centre's message): the outbox keeps the group's totals per
	// state (Totals) in step with every change of state.
	Group string `json:"group,omitempty"`
	// Langs is the message in each language ("zh", "en"), for an in-page
	// message: the page shows its reader's language only. Email and SMS
	// are addressed in their reader's language (Recipient.Lang) and carry
	// none.
	Langs map[string]Text `json:"langs,omitempty"`
}

// Text is what a note says in one language.
type Text struct {
	Subject string `json:"subject"`
	Body    string `json:"body,omitempty"`
	// SMS is the whole text message before the link, worded to fit one
	// part where the words allow; "" sends Subject and Body.
	SMS string `json:"sms,omitempty"`
}

// In returns m's subject and body in lang, or as queued when m has no
// text in lang.
func (m Message) In(lang string) (subject, body string) {
	if t, ok := m.Langs[lang]; ok && t.Subject != "" {
		return t.Subject, t.Body
	}
	return m.Subject, m.Body
}

// Channel delivers messages of one kind of channel. Send must return when
// ctx ends; a failure should be a *SendError whose Reason is safe to keep.
type Channel interface {
	Send(ctx context.Context, m Message) error
}

// SendError is a delivery failure with a reason fit for the outbox and the
// administrator's page: an SMTP reply code, an HTTP status, "timeout" —
// never an address, a token-bearing URL or the message text.
type SendError struct {
	Reason    string
	Permanent bool // retrying cannot help (a malformed recipient)
	Err       error
}

func (e *SendError) Error() string { return e.Reason }
func (e *SendError) Unwrap() error { return e.Err }

// Recipient is whom Tell reaches, over every channel it has an address for.
type Recipient struct {
	AccountID string // in-page, when the person has an account
	Email     string
	Phone     string // SMS, once a modem is attached
	// Link is this person's own link, which may be a credential (a
	// visitor's status page opens their pass). It replaces the note's
	// link on email and SMS, which reach only them, and goes nowhere else:
	// not in the page, and never to a webhook.
	Link string
	// Lang is the language this person reads ("zh", "en"): email and SMS
	// go in it alone when the note has it (Note.Langs).
	Lang string
}

// Note is what Tell and Broadcast say. Its Link is for anyone who reads
// the note — staff in their pages, a group chat — so it must never be a
// credential: a person's own link goes in Recipient.Link.
type Note struct {
	Kind    string
	Subject string // both languages, for webhooks and readers of no known language
	Body    string
	Link    string
	// Langs is the note in each language: a page shows its reader's,
	// email and SMS go in the recipient's (Recipient.Lang).
	Langs map[string]Text
}

// Notifier is what the domain services (visits, keys, alarms) use to tell
// people things. *Service implements it; Nop discards.
type Notifier interface {
	// Tell queues the note to one person on each channel they can be
	// reached by.
	Tell(ctx context.Context, actor string, to Recipient, n Note) error
	// Broadcast queues the note to every webhook subscribed to its kind.
	Broadcast(ctx context.Context, actor string, n Note) error
}

// Nop is a Notifier that tells no one, for tests and appliances without
// notifications.
type Nop struct{}

// Tell does nothing.
func (Nop) Tell(context.Context, string, Recipient, Note) error { return nil }

// Broadcast does nothing.
func (Nop) Broadcast(context.Context, string, Note) error { return nil }
