package modem_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gatehouse/appliance/notify"
	"gatehouse/drivers/modem"
	"gatehouse/drivers/sim"
)

// TestChannelDeliversOutboxMessages: the outbox's SMS channel sends subject,
// body and absolute link as one (Chinese, concatenated) SMS, and a refusal
// comes back as a SendError that names no number.
func TestChannelDeliversOutboxMessages(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{})
	ch := modem.Channel{Sender: s, Base: "https://lobby.example.com"}
	m := notify.Message{Channel: notify.SMS, To: phone, Kind: notify.KindVisitApproved, Subject: "访问已确认 Visit confirmed",
		Body: "赵先生，您的访问（11-24 10:00–12:00）已确认，请凭通行码入场。", Link: "/v/abc"}
	if err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := dev.Messages()
	want := m.Subject + "\n" + m.Body + "\nhttps://lobby.example.com/v/abc"
	if len(got) != 1 || got[0].Text != want || got[0].Number != phone {
		t.Fatalf("sent %+v", got)
	}
}

func TestChannelFailureNamesNoNumber(t *testing.T) {
	dev, s, _ := open(t, sim.ModemConfig{}, modem.Config{})
	dev.FailNext(330, 5)
	err := modem.Channel{Sender: s}.Send(context.Background(), notify.Message{To: phone, Body: "x"})
	var se *notify.SendError
	if !errors.As(err, &se) || se.Reason == "" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(se.Reason, "8613800138000") {
		t.Fatalf("reason names the number: %s", se.Reason)
	}
}
