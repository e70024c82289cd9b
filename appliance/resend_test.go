package appliance

import (
	"context"
	"errors"
	"testing"
	"time"

	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
)

// TestResendPassTellsOnlyTheVisitor: the desk's "resend the pass" sends
// the approval's text with the status link to the visitor's phone again,
// attributed to the desk; without a modem, or for a visit with no pass,
// it says so and sends nothing.
func TestResendPassTellsOnlyTheVisitor(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	host, _ := testHost(t, a)
	v, link, err := a.Visits.Invite(ctx, "host1", visit.Request{Name: "Guest", Mobile: "13700137001", HostID: host.ID,
		Reason: "Interview", From: clk.Now().Add(time.Hour), Until: clk.Now().Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ResendPass(ctx, "account:desk", v.ID); !errors.Is(err, notify.ErrNoChannel) {
		t.Fatalf("resend without a modem = %v, want ErrNoChannel", err)
	}
	a.Notify.EnableSMS(true)
	if err := a.ResendPass(ctx, "account:desk", v.ID); err != nil {
		t.Fatalf("resend: %v", err)
	}
	phone := &smsRecorder{}
	if _, err := notify.NewWorker(a.Notify, notify.WorkerOptions{Channels: map[notify.ChannelName]notify.Channel{notify.SMS: phone}}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(phone.sent) != 1 {
		t.Fatalf("resend sent %d texts, want 1: %+v", len(phone.sent), phone.sent)
	}
	if m := phone.sent[0]; m.To != "13700137001" || m.Link != StatusPath+link || m.Kind != notify.KindVisitApproved {
		t.Fatalf("resent text to %s, link %q, kind %s; want the visitor's pass link", m.To, m.Link, m.Kind)
	}
	if err := a.Visits.Move(ctx, "t", v.ID, visit.EvCancel, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.ResendPass(ctx, "account:desk", v.ID); !errors.Is(err, visit.ErrTransition) {
		t.Fatalf("resend for a cancelled visit = %v, want ErrTransition", err)
	}
	if err := a.ResendPass(ctx, "account:desk", "0000000000000000"); !errors.Is(err, visit.ErrNotFound) {
		t.Fatalf("resend for no visit = %v, want ErrNotFound", err)
	}
}
