package notify

import (
	"bytes"
	"mime"
	"net/mail"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/secret"
)

// FuzzMessage: whatever a caller puts in a message, either Enqueue's check
// refuses it, or the record passes the handler's own check and the email
// made of it has exactly the headers we write (no header injection).
func FuzzMessage(f *testing.F) {
	f.Add("email", "王先生 <wang@example.com>", "visit.requested", "访客张伟申请来访", "第一行\n第二行", "/host/visits")
	f.Add("email", "a@b.c\r\nBcc: x@y.z", "k", "s\r\nBcc: x@y.z", "", "")
	f.Add("webhook", "保安群", "visit.arrived", "=?UTF-8?b?AA==?=", "\x00", "https://x/y")
	f.Add("sms", "+8613800138000", "a.b", "s", "b", "//evil")
	keys, err := secret.FromMaster(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		f.Fatal(err)
	}
	svc := &Service{keys: keys}
	ch := &SMTPChannel{SMTP: SMTP{Host: "smtp.example.com", Port: 25, From: "desk@example.com", FromName: "大堂前台"},
		BaseURL: "https://lobby.example.com", Clock: clock.NewFake(time.Unix(1e9, 0))}
	want := map[string]bool{"From": true, "To": true, "Subject": true, "Date": true, "Message-Id": true, "Mime-Version": true,
		"Content-Type": true, "Content-Transfer-Encoding": true, "Auto-Submitted": true}
	f.Fuzz(func(t *testing.T, channel, to, kind, subject, body, link string) {
		m := Message{Channel: ChannelName(channel), To: to, Kind: kind, Subject: subject, Body: body, Link: link}
		if es := checkMessage(&m); len(es) > 0 {
			return
		}
		rec, err := svc.seal(m, "0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		if err := checkRecord(rec); err != nil {
			t.Fatalf("checked message %+v refused by the handler: %v", m, err)
		}
		if m.Channel != Email {
			return
		}
		a, err := emailAddress(m.To)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := ch.compose(m, a)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("composed mail does not parse: %v\n%s", err, raw)
		}
		for k := range msg.Header {
			if !want[k] {
				t.Fatalf("unexpected header %q in\n%s", k, raw)
			}
		}
		if s, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || s != m.Subject {
			t.Fatalf("subject %q decodes to %q, %v", m.Subject, s, err)
		}
	})
}
