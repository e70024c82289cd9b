package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"gatehouse/appliance/clock"
)

// mailbox is an SMTP server on loopback that keeps what it is sent.
type mailbox struct {
	addr       string
	user, pass string // AUTH PLAIN credentials it accepts
	rejectRcpt bool

	mu   sync.Mutex
	mail []received
}

type received struct {
	from, to string
	authed   string
	tls      bool
	data     []byte
}

type session struct {
	box  *mailbox
	conn *smtp.Conn
	cur  received
}

func (b *mailbox) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{box: b, conn: c}, nil
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.box.user || pass != s.box.pass {
			return errors.New("bad credentials")
		}
		s.cur.authed = user
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.box.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + "> no such user"}
	}
	s.cur.to = to
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.box.mu.Lock()
	s.box.mail = append(s.box.mail, s.cur)
	s.box.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{authed: s.cur.authed} }
func (s *session) Logout() error { return nil }

func (b *mailbox) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.mail...)
}

// startMailbox serves b on 127.0.0.1; with cert it offers STARTTLS.
func startMailbox(t *testing.T, b *mailbox, cert *tls.Certificate) {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = cert == nil
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
}

// selfSigned makes a certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test mail"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func smtpSettings(t *testing.T, addr string) SMTP {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return SMTP{Host: host, Port: p, From: "desk@lobby.example.com", FromName: "大堂前台"}
}

func TestEmailOverSMTP(t *testing.T) {
	cert, pool := selfSigned(t)
	subject := "访客张伟申请于11月23日上午十点来访，请您尽快审批，谢谢！这是一条比较长的主题，用来检查折行"
	body := "访客：张伟\n单位：示例科技\n事由：商务洽谈"
	tests := []struct {
		name       string
		tls        bool
		user, pass string
	}{
		{"clear, no AUTH", false, "", ""},
		{"clear AUTH PLAIN to loopback", false, "desk", "pw-1"},
		{"STARTTLS and AUTH PLAIN", true, "desk", "pw-2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			box := &mailbox{user: tc.user, pass: tc.pass}
			var c *tls.Certificate
			if tc.tls {
				c = cert
			}
			startMailbox(t, box, c)
			set := smtpSettings(t, box.addr)
			set.Username, set.Password = tc.user, tc.pass
			clk := clock.NewFake(time.Date(2026, 11, 23, 9, 30, 0, 0, time.FixedZone("CST", 8*3600)))
			ch := &SMTPChannel{SMTP: set, BaseURL: "https://lobby.example.com", Clock: clk, TLS: &tls.Config{RootCAs: pool}}
			m := Message{ID: "0123456789abcdef", Channel: Email, To: "王先生 <wang@example.com>", Kind: KindVisitRequested,
				Subject: subject, Body: body, Link: "/host/visits"}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := ch.Send(ctx, m); err != nil {
				t.Fatal(err)
			}
			got := box.received()
			if len(got) != 1 {
				t.Fatalf("server received %d messages", len(got))
			}
			r := got[0]
			if r.from != "desk@lobby.example.com" || r.to != "wang@example.com" || r.authed != tc.user || r.tls != tc.tls {
				t.Errorf("envelope from %q to %q, authed %q, tls %t", r.from, r.to, r.authed, r.tls)
			}
			for _, line := range strings.Split(string(r.data), "\r\n") {
				if len(line) > 78 {
					t.Errorf("line longer than 78: %q", line)
				}
			}
			msg, err := mail.ReadMessage(strings.NewReader(string(r.data)))
			if err != nil {
				t.Fatal(err)
			}
			dec := new(mime.WordDecoder)
			h := msg.Header
			if raw := h.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?b?") {
				t.Errorf("Subject not RFC 2047 encoded: %q", raw)
			}
			if s, err := dec.DecodeHeader(h.Get("Subject")); err != nil || s != subject {
				t.Errorf("Subject decodes to %q, %v", s, err)
			}
			from, err := (&mail.AddressParser{WordDecoder: dec}).Parse(h.Get("From"))
			if err != nil || from.Name != "大堂前台" || from.Address != "desk@lobby.example.com" {
				t.Errorf("From %q -> %+v, %v", h.Get("From"), from, err)
			}
			to, err := (&mail.AddressParser{WordDecoder: dec}).Parse(h.Get("To"))
			if err != nil || to.Name != "王先生" || to.Address != "wang@example.com" {
				t.Errorf("To %q -> %+v, %v", h.Get("To"), to, err)
			}
			if d, err := h.Date(); err != nil || !d.Equal(clk.Now()) {
				t.Errorf("Date %q: %v, %v", h.Get("Date"), d, err)
			}
			if id := h.Get("Message-ID"); id != "<0123456789abcdef.notify@lobby.example.com>" {
				t.Errorf("Message-ID %q", id)
			}
			if h.Get("Content-Type") != "text/plain; charset=UTF-8" || h.Get("Content-Transfer-Encoding") != "base64" || h.Get("MIME-Version") != "1.0" {
				t.Errorf("MIME headers %v", h)
			}
			raw, _ := io.ReadAll(msg.Body)
			text, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(body, "\n", "\r\n") + "\r\n\r\nhttps://lobby.example.com/host/visits\r\n"
			if string(text) != want {
				t.Errorf("body %q, want %q", text, want)
			}
		})
	}
}

func TestEmailFailuresKeepNoAddress(t *testing.T) {
	box := &mailbox{rejectRcpt: true}
	startMailbox(t, box, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := Message{ID: "0123456789abcdef", To: "wang@example.com", Kind: KindTest, Subject: "x"}

	err := (&SMTPChannel{SMTP: smtpSettings(t, box.addr)}).Send(ctx, m)
	var se *SendError
	if !errors.As(err, &se) || se.Reason != "smtp RCPT: 550" || !se.Permanent {
		t.Errorf("refused recipient: %v (%+v)", err, se)
	}

	// A server that is not there.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	err = (&SMTPChannel{SMTP: smtpSettings(t, addr)}).Send(ctx, m)
	if !errors.As(err, &se) || se.Reason != "smtp connect: connection refused" || se.Permanent {
		t.Errorf("no server: %v", err)
	}
	if strings.Contains(err.Error(), "wang") {
		t.Errorf("reason names the recipient: %v", err)
	}
}

func TestWorkerSendsEmailFromTheSettings(t *testing.T) {
	f := newFixture(t, Backoff{})
	ctx := context.Background()
	box := &mailbox{}
	startMailbox(t, box, nil)
	if err := f.svc.SaveSettings(ctx, "admin", Settings{SMTP: smtpSettings(t, box.addr)}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Tell(ctx, "test", Recipient{Email: "host@example.com"}, Note{Kind: KindVisitArrived, Subject: "您的访客已到达"}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewWorker(f.svc, WorkerOptions{}).RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := box.received()
	if len(got) != 1 || got[0].to != "host@example.com" {
		t.Fatalf("received %+v", got)
	}
	ob, _ := f.svc.Outbox(10)
	if len(ob.Recent) != 1 || ob.Recent[0].State != Delivered || ob.Recent[0].Recipient() != "h***@example.com" {
		t.Errorf("outbox %+v", ob.Recent)
	}
}
