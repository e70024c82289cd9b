package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"gatehouse/appliance/clock"
)

// SMTPChannel sends email through one SMTP server. STARTTLS is used
// whenever the server offers it (port 465: TLS from the start); AUTH PLAIN
// when a username is set, which net/smtp refuses over a clear connection
// except to the machine itself.
type SMTPChannel struct {
	SMTP    SMTP
	BaseURL string // makes links absolute
	Clock   clock.Clock
	TLS     *tls.Config // nil: the system's roots; ServerName is always SMTP.Host
	Hello   string      // EHLO name; "" : "localhost"
}

// Send delivers m to m.To ("addr" or "Name <addr>").
func (c *SMTPChannel) Send(ctx context.Context, m Message) error {
	if !c.SMTP.Enabled() {
		return &SendError{Reason: "email is not set up", Err: ErrNoChannel}
	}
	to, err := emailAddress(m.To)
	if err != nil {
		return &SendError{Reason: "not an email address", Permanent: true, Err: err}
	}
	msg, err := c.compose(m, to)
	if err != nil {
		return &SendError{Reason: "cannot compose", Permanent: true, Err: err}
	}
	host, implicitTLS := c.SMTP.Host, c.SMTP.Port == 465
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(c.SMTP.Port)))
	if err != nil {
		return netFailure(ctx, "smtp connect", err)
	}
	defer conn.Close()
	// net/smtp knows no context: a deadline in the past unblocks any read
	// or write when ctx ends.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	cfg := c.tlsConfig()
	if implicitTLS {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return netFailure(ctx, "smtp tls", err)
		}
		conn = tc
	}
	cl, err := smtp.NewClient(conn, host)
	if err != nil {
		return smtpFailure(ctx, "greeting", err)
	}
	defer cl.Close()
	hello := c.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := cl.Hello(hello); err != nil {
		return smtpFailure(ctx, "EHLO", err)
	}
	secure := implicitTLS
	if !implicitTLS {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(cfg); err != nil {
				return smtpFailure(ctx, "STARTTLS", err)
			}
			secure = true
		}
	}
	if c.SMTP.Username != "" {
		if ok, _ := cl.Extension("AUTH"); !ok {
			return &SendError{Reason: "smtp: server offers no AUTH"}
		}
		if !secure && !loopback(host) {
			return &SendError{Reason: "smtp AUTH: refused without TLS"}
		}
		if err := cl.Auth(smtp.PlainAuth("", c.SMTP.Username, c.SMTP.Password, host)); err != nil {
			return smtpFailure(ctx, "AUTH", err)
		}
	}
	if err := cl.Mail(c.SMTP.From); err != nil {
		return smtpFailure(ctx, "MAIL", err)
	}
	if err := cl.Rcpt(to.Address); err != nil {
		return smtpFailure(ctx, "RCPT", err)
	}
	w, err := cl.Data()
	if err != nil {
		return smtpFailure(ctx, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpFailure(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpFailure(ctx, "DATA", err)
	}
	_ = cl.Quit() // the message is accepted; a lost goodbye changes nothing
	return nil
}

func (c *SMTPChannel) tlsConfig() *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.TLS != nil {
		cfg = c.TLS.Clone()
	}
	cfg.ServerName = c.SMTP.Host
	return cfg
}

// compose writes the message: RFC 5322 headers with RFC 2047 encoded words
// for anything not ASCII, a UTF-8 text body in base64.
func (c *SMTPChannel) compose(m Message, to *mail.Address) ([]byte, error) {
	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	from := &mail.Address{Name: c.SMTP.FromName, Address: c.SMTP.From}
	domain := c.SMTP.From[strings.LastIndexByte(c.SMTP.From, '@')+1:]
	now := time.Now()
	if c.Clock != nil {
		now = c.Clock.Now()
	}
	header("From", addressHeader(from))
	header("To", addressHeader(to))
	header("Subject", encodeWords(m.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+m.ID+".notify@"+domain+">") // the same on every attempt, so a receiver can drop repeats
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=UTF-8")
	header("Content-Transfer-Encoding", "base64")
	header("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies
	b.WriteString("\r\n")
	text := m.Body
	if link := (Settings{BaseURL: c.BaseURL}).Absolute(m.Link); link != "" {
		if text != "" {
			text += "\n\n"
		}
		text += link
	}
	text = strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"
	enc := base64.StdEncoding.EncodeToString([]byte(text))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes(), nil
}

// encodeWords encodes s as RFC 2047 B encoded words when it is not plain
// ASCII: words of at most 39 bytes of UTF-8 (whole characters), one per
// folded line, so that even the first line ("Subject: " and a word) stays
// within 78 characters.
func encodeWords(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r > 0x7E || r < 0x20 }) && !strings.Contains(s, "=?") {
		return s
	}
	var words []string
	for s != "" {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > 39 {
				break
			}
			n += size
		}
		words = append(words, "=?UTF-8?b?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}

func addressHeader(a *mail.Address) string {
	if enc := encodeWords(a.Name); enc != a.Name {
		return enc + "\r\n <" + a.Address + ">"
	}
	return a.String() // quotes an ASCII name as needed
}

// loopback is net/smtp's test for where a password may go in clear.
func loopback(host string) bool { return host == "localhost" || host == "127.0.0.1" || host == "::1" }

// smtpFailure keeps the reply code of an SMTP error and drops its text,
// which often repeats the address.
func smtpFailure(ctx context.Context, stage string, err error) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &SendError{Reason: fmt.Sprintf("smtp %s: %d", stage, te.Code), Permanent: stage == "RCPT" && te.Code >= 500, Err: err}
	}
	return netFailure(ctx, "smtp "+stage, err)
}

// netFailure names what went wrong on the network without addresses or
// URLs (a robot's URL carries its access token).
func netFailure(ctx context.Context, stage string, err error) error {
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var verify *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	reason := "network error"
	switch {
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		reason = "timeout"
	case errors.As(err, &dns):
		reason = "host not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		reason = "connection closed"
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &verify):
		reason = "certificate not trusted"
	case errors.As(err, &rec):
		reason = "not TLS"
	}
	return &SendError{Reason: stage + ": " + reason, Err: err}
}
