package modem

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gatehouse/appliance/notify"
)

// Channel makes a Sender the notification outbox's SMS channel. A message
// becomes its subject, its body and its link on separate lines; the link
// is made absolute with Base (the appliance's public address) when it is a
// path.
type Channel struct {
	Sender *Sender
	Base   string // e.g. "https://lobby.example.com"; "" leaves paths as they are
}

// Send implements notify.Channel.
func (c Channel) Send(ctx context.Context, m notify.Message) error {
	parts := []string{}
	if m.Subject != "" {
		parts = append(parts, m.Subject)
	}
	if m.Body != "" {
		parts = append(parts, m.Body)
	}
	if m.Link != "" {
		link := m.Link
		if strings.HasPrefix(link, "/") && c.Base != "" {
			link = strings.TrimRight(c.Base, "/") + link
		}
		parts = append(parts, link)
	}
	if err := c.Sender.Send(ctx, m.To, strings.Join(parts, "\n")); err != nil {
		return &notify.SendError{Reason: "sms: " + reasonOf(err), Err: err}
	}
	return nil
}

// reasonOf names a failure without the number or the text.
func reasonOf(err error) string {
	var ce CMSError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("+CMS ERROR %d", int(ce))
	case errors.Is(err, ErrUnconfirmed):
		return "unconfirmed"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "modem error"
}
