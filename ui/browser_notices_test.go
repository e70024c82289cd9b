package ui

// Browser test of the notice board and the message centre: a manager
// writes, publishes and pins an announcement for visitors, which shows on
// a visitor's pass page, and sends a message that arrives at the test's
// SMTP server.
//
//	go test ./ui/ -run BrowserNotices -count=1 -v

import (
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
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

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-smtp"

	"gatehouse/appliance/notify"
	"gatehouse/appliance/visit"
)

// testMailbox is an SMTP server on loopback that keeps what it is sent.
type testMailbox struct {
	addr string
	mu   sync.Mutex
	mail []testMail
}

type testMail struct {
	to   string
	data []byte
}

type testMailSession struct {
	box *testMailbox
	cur testMail
}

func (b *testMailbox) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &testMailSession{box: b}, nil
}

func (s *testMailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *testMailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = to
	return nil
}
func (s *testMailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.box.mu.Lock()
	s.box.mail = append(s.box.mail, s.cur)
	s.box.mu.Unlock()
	return nil
}
func (s *testMailSession) Reset()        { s.cur = testMail{} }
func (s *testMailSession) Logout() error { return nil }

func (b *testMailbox) received() []testMail {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]testMail(nil), b.mail...)
}

func startTestMailbox(t *testing.T) *testMailbox {
	t.Helper()
	b := &testMailbox{}
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

// mailText is the decoded text of a received message.
func mailText(t *testing.T, raw []byte) (subject, body string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("read mail: %v", err)
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	b, _ := io.ReadAll(m.Body)
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "base64") {
		if b, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b))); err != nil {
			t.Fatalf("mail body: %v", err)
		}
	}
	return subject, string(b)
}

func TestBrowserNotices(t *testing.T) {
	app, base := startBrowserApp(t)
	ctx := context.Background()
	fx := setUpVisits(t, app)

	// Email through the test's SMTP server, delivered by the outbox worker.
	box := startTestMailbox(t)
	host, port, _ := net.SplitHostPort(box.addr)
	p, _ := strconv.Atoi(port)
	if err := app.Notify.SaveSettings(ctx, "test", notify.Settings{SMTP: notify.SMTP{Host: host, Port: p, From: "desk@lobby.example.com"}}); err != nil {
		t.Fatal(err)
	}
	runWorker(t, notify.NewWorker(app.Notify, notify.WorkerOptions{Poll: 100 * time.Millisecond}))

	// A visitor with an approved pre-booked visit today.
	loc := app.Config.Location
	day, fromHM, untilHM := visitWindow(t, loc)
	from, _ := time.ParseInLocation("2006-01-02 15:04", day+" "+fromHM, loc)
	until, _ := time.ParseInLocation("2006-01-02 15:04", day+" "+untilHM, loc)
	v, link, err := app.Visits.Book(ctx, visit.Request{Name: "李雷 Li Lei", Mobile: "13700137000", IDLast6: "12345X", HostID: fx.host.ID,
		Reason: "Meeting", From: from, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Visits.Decide(ctx, "test", v.ID, fx.host.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	token := link // Book returns the bare token of /v/<token>

	// A cover picture on disk, as a person would choose it.
	img := image.NewRGBA(image.Rect(0, 0, 1600, 400))
	for x := range 1600 {
		for y := range 400 {
			img.Set(x, y, color.RGBA{uint8(x / 7), 80, uint8(y / 2), 255})
		}
	}
	cover := filepath.Join(t.TempDir(), "cover.png")
	f, err := os.Create(cover)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()

	b := startBrowser(t, base)
	b.mustLogin(browserAdminUser, browserAdminPass)
	b.open("/notices/new", "f-title")

	// The long-title warning appears as the title is typed.
	title := "大堂访客须知 Lobby notice for visitors"
	b.fill("f-title", title)
	b.waitFor("the long-title warning", `!document.getElementById("title-warn").hidden`)
	b.setValue("f-audience", "visitors")
	b.fill("f-description", "请走东门 Use the east door")
	b.do("choose the cover", chromedp.SetUploadFiles(chromedp.CSS("#f-cover"), []string{cover}))
	// The editor: type, select it all, make it bold.
	b.do("type the content", chromedp.WaitVisible(chromedp.CSS("#rich-area")), chromedp.Click(chromedp.CSS("#rich-area")),
		chromedp.SendKeys(chromedp.CSS("#rich-area"), "Visitors enter by the east door"))
	b.eval(`(() => { const r = document.createRange(); r.selectNodeContents(document.getElementById("rich-area"));
		const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
		document.getElementById("rich-area").dispatchEvent(new Event("mouseup")); return ""; })()`)
	b.do("make it bold", chromedp.Click(chromedp.CSS(`#rich-toolbar button[data-cmd=bold]`)))
	// A picture in the content, uploaded by the editor and inserted by URL.
	b.eval(`(() => { const a = document.getElementById("rich-area"); const r = document.createRange(); r.selectNodeContents(a); r.collapse(false);
		const s = window.getSelection(); s.removeAllRanges(); s.addRange(r); a.dispatchEvent(new Event("mouseup")); return ""; })()`)
	b.do("insert a picture", chromedp.SetUploadFiles(chromedp.ID("rich-image"), []string{cover}))
	b.waitFor("the picture in the content", `document.getElementById("f-content").value.includes('<img src="/notices/images/')`)
	if got := b.eval(`document.getElementById("f-content").value`); !strings.Contains(got, "<b>") {
		b.fatalf("the editor did not write bold into the form: %q", got)
	}
	if st := b.submit("notice-publish"); st != 200 {
		b.fatalf("publish: status %d", st)
	}
	b.wantFlash("flash.notice_saved_long_title")
	id := strings.TrimPrefix(b.eval(`document.querySelector("#notice-list tbody tr").id`), "notice-")
	if st := b.submit("pin-" + id); st != 200 {
		b.fatalf("pin: status %d", st)
	}
	b.wantFlash("flash.notice_pinned")

	// The visitor opens the pass page on their phone.
	phone := b.newSession()
	phone.open("/v/"+token, "pass-qr")
	phone.do("wait for the board", chromedp.WaitVisible(chromedp.ID("board-"+id)))
	if got := phone.text(chromedp.CSS("#board-" + id + " h3")); !strings.Contains(got, title) || !phone.exists("#board-"+id+".pinned .badge") {
		phone.fatalf("board shows %q, want the pinned announcement", got)
	}
	phone.do("open the announcement", chromedp.Click(chromedp.CSS("#board-"+id+" summary")))
	if got := phone.eval(`document.querySelector("#board-` + id + ` .rich-content").innerHTML`); !strings.Contains(got, "<b>Visitors enter by the east door</b>") {
		phone.fatalf("content %q", got)
	}
	phone.waitFor("the picture in the content", `(() => { const i = document.querySelector("#board-`+id+` .rich-content img"); return i && i.complete && i.naturalWidth > 0; })()`)
	phone.waitFor("the cover picture", `(() => { const i = document.querySelector("#board-`+id+` img.cover"); return i && i.complete && i.naturalWidth === 1200; })()`)

	// A normal message to one person, with an email address.
	b.open("/messages", "message-form")
	if got := b.text("#broadcasts-left"); !strings.Contains(got, "4") {
		b.fatalf("allowance %q", got)
	}
	b.do("normal message", chromedp.Click(chromedp.CSS("#f-kind-normal")))
	hostAccount, err := app.Auth.AccountByUsername(visitsHostUser)
	if err != nil {
		t.Fatal(err)
	}
	// The recipient is searched for by name and picked from the list.
	// Today's visitor is found by name, shown with the masked mobile.
	b.fill("f-to_q", "li lei")
	guest := `input[name=to][value="visit:` + v.ID + `"]`
	b.waitFor("the visitor in the list", `!!document.querySelector('`+guest+`')`)
	if got := b.text("#to-choices"); !strings.Contains(got, v.Visitor.MobileMasked) || strings.Contains(got, "13700137000") {
		b.fatalf("visitor shown as %q", got)
	}
	b.fill("f-to_q", "wang f")
	pick := `input[name=to][value="account:` + hostAccount.ID + `"]`
	b.waitFor("the recipient in the list", `!!document.querySelector('`+pick+`')`)
	if n, _ := strconv.Atoi(b.eval(`String(document.querySelectorAll("#to-choices input[name=to]").length)`)); n < 1 || n > maxRecipientChoices {
		b.fatalf("%d choices", n)
	}
	b.do("pick the recipient", chromedp.Click(chromedp.CSS(pick)))
	b.fill("f-email", "wang.fang@tenant.example.com")
	b.do("write", chromedp.SendKeys(chromedp.CSS("#f-text"), "您的快递已到前台 Your parcel is at the desk"))
	if st := b.submit("message-send"); st != 200 {
		b.fatalf("send: status %d", st)
	}
	b.wantFlash("flash.message_sent")
	deadline := time.Now().Add(20 * time.Second)
	for len(box.received()) == 0 {
		if time.Now().After(deadline) {
			b.fatalf("no mail arrived at the SMTP server")
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := box.received()[0]
	subject, body := mailText(t, got.data)
	if got.to != "wang.fang@tenant.example.com" || !strings.Contains(body, "Your parcel is at the desk") || !strings.Contains(subject, "Message") {
		t.Fatalf("mail to %s: %q / %q", got.to, subject, body)
	}
	// The history shows it delivered (in the page and by email).
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		b.open("/messages", "message-history")
		if st := b.eval(`document.querySelector("#message-history .delivery").dataset.state`); st == "delivered" {
			break
		} else if time.Now().After(deadline) {
			b.fatalf("history shows the message %s, want delivered", st)
		}
	}

	// An urgent broadcast of the announcement to property staff: the form
	// shows the audience instead of the person, and one broadcast is used.
	if !b.exists(`[data-show-if="kind=urgent"][hidden]`) {
		b.fatalf("the audience shows while a normal message is chosen")
	}
	b.do("urgent", chromedp.Click(chromedp.ID("f-kind-urgent")))
	b.waitFor("the audience field", `!document.querySelector('[data-show-if="kind=urgent"]').hidden && document.querySelector('[data-show-if="kind=normal"]').hidden`)
	b.setValue("f-audience", "staff")
	b.do("send the announcement", chromedp.Click(chromedp.ID("f-source-announcement")))
	b.setValue("f-announcement", id)
	if st := b.submit("message-send"); st != 200 {
		b.fatalf("broadcast: status %d", st)
	}
	b.wantFlash("flash.message_sent")
	if got := b.text("#broadcasts-left"); !strings.Contains(got, "3") {
		b.fatalf("after one broadcast the page says %q", got)
	}
}
