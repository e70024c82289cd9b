package appliance

import (
	"context"
	"io"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/backup"
	"gatehouse/appliance/notify"
)

// mailbox is an SMTP server on loopback that keeps what it is sent (as
// appliance/notify's tests have it).
type mailbox struct {
	addr string
	mu   sync.Mutex
	mail []mailed
}

type mailed struct {
	to   string
	data string
}

type mailSession struct {
	box *mailbox
	to  string
}

func (b *mailbox) NewSession(*smtp.Conn) (smtp.Session, error)   { return &mailSession{box: b}, nil }
func (s *mailSession) AuthMechanisms() []string                  { return nil }
func (s *mailSession) Mail(string, *smtp.MailOptions) error      { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = to; return nil }
func (s *mailSession) Reset()                                    {}
func (s *mailSession) Logout() error                             { return nil }
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.box.mu.Lock()
	s.box.mail = append(s.box.mail, mailed{to: s.to, data: string(b)})
	s.box.mu.Unlock()
	return nil
}

// subject is a mail's Subject, decoded.
func (m mailed) subject() string {
	msg, err := mail.ReadMessage(strings.NewReader(m.data))
	if err != nil {
		return ""
	}
	s, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	return s
}

func (b *mailbox) received() []mailed {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]mailed(nil), b.mail...)
}

func startMailbox(t *testing.T) *mailbox {
	t.Helper()
	b := &mailbox{}
	srv := smtp.NewServer(b)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 30*time.Second, 30*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return b
}

// TestBackupFailureToldOncePerEpisode: a backup whose target is gone is
// told to the administrators — in their page, by e-mail through a real SMTP
// server, and to a webhook — once, however many runs fail and minutes pass,
// and even across a restart; the next good backup is told as a recovery,
// once; a day without a backup is told as missed.
func TestBackupFailureToldOncePerEpisode(t *testing.T) {
	a, clk := openTestApp(t)
	ctx := context.Background()
	box := startMailbox(t)
	host, port, _ := net.SplitHostPort(box.addr)
	p, _ := strconv.Atoi(port)
	if err := a.Notify.SaveSettings(ctx, "admin", notify.Settings{SMTP: notify.SMTP{Host: host, Port: p, From: "gatehouse@lobby.example.com"}}); err != nil {
		t.Fatal(err)
	}
	admin, err := a.Auth.CreateAccount(ctx, "t", auth.NewAccount{Username: "root1", Name: "Admin", Role: auth.Admin, Password: "lobby-guard-7319-north"})
	if err != nil {
		t.Fatal(err)
	}
	a.Backups.KDF = backup.KDF{Time: 1, Memory: 1024, Threads: 1}
	target := filepath.Join(t.TempDir(), "usb")
	must(t, a.Backups.SaveSettings(ctx, "admin", target, "02:30", backup.DefaultPolicy))
	must(t, a.Backups.SetPassphrase(ctx, "admin", "correct horse battery staple"))
	must(t, a.Backups.SaveEmails(ctx, "admin", []string{" it@tower.example.com", "", "it@tower.example.com"}))
	if err := a.Backups.SaveEmails(ctx, "admin", []string{"not an address"}); err == nil {
		t.Fatal("a bad address accepted")
	}
	worker := notify.NewWorker(a.Notify, notify.WorkerOptions{})
	deliver := func() {
		t.Helper()
		if _, err := worker.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	inPage := func() []notify.Message {
		t.Helper()
		ms, err := a.Notify.Missed(admin.ID, "", 100)
		must(t, err)
		return ms
	}
	backupNow := func(ok bool) {
		t.Helper()
		clk.Advance(time.Minute)
		_, err := a.Backups.Now(ctx, "system", "schedule", nil)
		if ok != (err == nil) {
			t.Fatalf("backup: %v, want ok %t", err, ok)
		}
	}

	a.tellBackups(ctx) // nothing run yet: nothing to tell
	backupNow(false)   // the drive is not mounted
	a.tellBackups(ctx)
	deliver()
	mail := box.received()
	if len(mail) != 1 || mail[0].to != "it@tower.example.com" || !strings.Contains(mail[0].subject(), "Backup failed") {
		t.Fatalf("mail after the failure: %+v", mail)
	}
	if ms := inPage(); len(ms) != 1 || ms[0].Kind != notify.KindBackupFailed || ms[0].Link != "/admin/backups" {
		t.Fatalf("admin's page after the failure: %+v", ms)
	}
	// The same episode: more failures, minutes, a restart.
	for range 3 {
		backupNow(false)
		a.tellBackups(ctx)
	}
	clk.Advance(time.Hour)
	a.tellBackups(ctx)
	dir, cfg := a.DataDir, a.Config
	a.Close()
	a, err = Open(ctx, dir, cfg, clk, a.Log)
	must(t, err)
	t.Cleanup(func() { a.Close() })
	a.Backups.KDF = backup.KDF{Time: 1, Memory: 1024, Threads: 1}
	worker = notify.NewWorker(a.Notify, notify.WorkerOptions{})
	a.tellBackups(ctx)
	deliver()
	if mail := box.received(); len(mail) != 1 || len(inPage()) != 1 {
		t.Fatalf("told again within one failure: %d mails, %d in the page", len(mail), len(inPage()))
	}

	must(t, os.MkdirAll(target, 0o755)) // the drive is back
	backupNow(true)
	a.tellBackups(ctx)
	a.tellBackups(ctx)
	deliver()
	mail = box.received()
	if len(mail) != 2 || !strings.Contains(mail[1].subject(), "Backups work again") {
		t.Fatalf("mail after the recovery: %d %+v", len(mail), mail[len(mail)-1])
	}
	if ms := inPage(); len(ms) != 2 || ms[1].Kind != notify.KindBackupRecovered {
		t.Fatalf("admin's page after the recovery: %+v", ms)
	}
	backupNow(true)
	a.tellBackups(ctx)
	clk.Advance(27 * time.Hour) // nothing ran for a day
	a.tellBackups(ctx)
	a.tellBackups(ctx)
	deliver()
	mail = box.received()
	if len(mail) != 3 || !strings.Contains(mail[2].subject(), "Backup missed") {
		t.Fatalf("mail after a missed day: %d", len(mail))
	}
	for _, m := range mail {
		if strings.Contains(m.data, "correct horse") || strings.Contains(m.data, "Y29ycmVjdCBob3Jz") {
			t.Fatal("the passphrase is in a notice")
		}
	}
	told, err := a.Backups.Told()
	if err != nil || !told.Failing || told.State != "missed" {
		t.Fatalf("told %+v %v", told, err)
	}
}
