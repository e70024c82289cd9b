package ui

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"html"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse/appliance"
	"gatehouse/appliance/auth"
	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/demo"
	"gatehouse/appliance/keys"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/screen"
	"gatehouse/appliance/stock"
	"gatehouse/appliance/visit"
	"gatehouse/ui/i18n"
)

// crawlCap bounds the pages fetched per role and language: the demo
// building's fetches (about 400 for an administrator, about 600 for a
// manager since every filter of the directory list has its two exports) are
// under it, and a runaway link (an ever-growing query string) stops here
// instead of hanging the test.
const crawlCap = 800

// crawlSkip are same-site links the crawl does not follow, each with why.
var crawlSkip = map[string]string{
	"/events":       "server-sent events: an endless stream, not a page",
	"/guard/stream": "server-sent events: an endless stream, not a page",
	"/logout":       "signs the crawler out (and is a POST form anyway)",
}

// auditRows are audit-trail entries (the trail page, an account's
// history). Their action is named in the page's language and checked like
// any text, but beside it the exact command type, and the record and note
// cells, are identifiers, not text to translate (DOMAIN: the trail stores
// the command type, the record and a short note). Command types and note
// kinds like "stock.issue" or "visit.requested" look like catalogue keys,
// so the crawl drops those elements (class "ident") inside audit tables.
var (
	auditRows   = regexp.MustCompile(`(?s)<table class="list audit">.*?</table>`)
	auditIdents = regexp.MustCompile(`(?s)<(td|small) class="ident[ "][^>]*>.*?</(?:td|small)>`)
)

// withoutAuditIdents is body without the identifiers in its audit rows.
func withoutAuditIdents(body string) string {
	return auditRows.ReplaceAllStringFunc(body, func(table string) string {
		return auditIdents.ReplaceAllString(table, "")
	})
}

// downloads are the file types a link may fetch, by extension.
var downloads = map[string]string{
	".csv":  "text/csv",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pdf":  "application/pdf",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".svg":  "image/svg+xml",
	".css":  "text/css",
	".js":   "text/javascript",
}

// crawlApp is a server on loopback over a store holding the demo building,
// with a little of everything the pages list: a booked and an invited
// visit, a conference, a notice, a message, a key audit and a handover.
type crawlApp struct {
	app      *appliance.App
	srv      *Server
	ts       *httptest.Server
	clock    *clock.Fake
	accounts map[auth.Role]auth.Account
	link     string // a booked visit's status page, /v/{link}
	logins   map[auth.Role]demo.Login
}

func newCrawlApp(t *testing.T) *crawlApp {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	app, err := appliance.Open(ctx, t.TempDir(), cfg, clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	logins, err := demo.Seed(ctx, app)
	if err != nil || len(logins) == 0 {
		t.Fatalf("demo seed: %v (%d sign-ins)", err, len(logins))
	}
	if err := demo.Lanes(ctx, app, t.TempDir()); err != nil {
		t.Fatalf("demo lanes: %v", err)
	}
	if _, err := demo.VisitorPass(ctx, app, "test"); err != nil {
		t.Fatalf("demo visitor: %v", err)
	}
	ca := &crawlApp{app: app, clock: clk, accounts: map[auth.Role]auth.Account{}, logins: map[auth.Role]demo.Login{}}
	for _, l := range logins {
		ca.logins[l.Role] = l
		a, err := app.Auth.AccountByUsername(l.Username)
		if err != nil {
			t.Fatal(err)
		}
		ca.accounts[l.Role] = a
	}
	host, mgr, grd := ca.accounts[auth.Host], ca.accounts[auth.Manager], ca.accounts[auth.Reception]
	now := clk.Now()
	if _, ca.link, err = app.Visits.Book(ctx, visit.Request{Name: "预约访客 Booked visitor", Mobile: "13700137001", IDLast6: "123456",
		HostID: host.PersonID, Reason: "Meeting", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour)}); err != nil {
		t.Fatalf("book: %v", err)
	}
	// A walk-in at the desk: badge out, through the gate, with a photo.
	w, _, err := app.Visits.WalkIn(ctx, "test", visit.Request{Name: "来访者 Walk-in", Mobile: "13700137002", IDLast6: "654321",
		HostID: host.PersonID, Reason: "Delivery", From: now, Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("walk-in: %v", err)
	}
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, image.NewGray(image.Rect(0, 0, 32, 32)), nil); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{app.Visits.IssueBadge(ctx, "test", w.ID, "V020"), app.Visits.Move(ctx, "test", w.ID, visit.EvEnter, ""),
		app.Visits.SetPhoto(ctx, "test", w.ID, photo.Bytes())} {
		if err != nil {
			t.Fatalf("walk-in: %v", err)
		}
	}
	// Visits in the other states: rejected, cancelled, gone home.
	rej, _, err := app.Visits.Book(ctx, visit.Request{Name: "被拒访客 Refused", Mobile: "13700137003", IDLast6: "111111",
		HostID: host.PersonID, Reason: "Sales", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatalf("book: %v", err)
	}
	if _, err := app.Visits.Decide(ctx, "test", rej.ID, host.PersonID, false, "busy"); err != nil {
		t.Fatalf("reject: %v", err)
	}
	inv, _, err := app.Visits.Invite(ctx, "test", visit.Request{Name: "取消访客 Cancelled", Mobile: "13700137004",
		HostID: host.PersonID, Reason: "Interview", From: now.Add(time.Hour), Until: now.Add(2 * time.Hour)})
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	gone, _, err := app.Visits.WalkIn(ctx, "test", visit.Request{Name: "离开访客 Left", Mobile: "13700137005", IDLast6: "222222",
		HostID: host.PersonID, Reason: "Repair", From: now, Until: now.Add(time.Hour)})
	if err != nil {
		t.Fatalf("walk-in: %v", err)
	}
	for _, err := range []error{app.Visits.Move(ctx, "test", inv.ID, visit.EvCancel, ""),
		app.Visits.Move(ctx, "test", gone.ID, visit.EvEnter, ""), app.Visits.Move(ctx, "test", gone.ID, visit.EvExit, "")} {
		if err != nil {
			t.Fatalf("visit: %v", err)
		}
	}
	if _, err := app.Screen.Add(ctx, "test", screen.Input{List: screen.Black, Name: "黑名单 Barred", Mobile: "13700137999", Reason: "theft"}); err != nil {
		t.Fatalf("screening: %v", err)
	}
	if _, err := app.Notices.Send(ctx, "test", notice.Send{Urgent: true, Audience: notice.Staff, Text: "消防演习 Fire drill"}); err != nil {
		t.Fatalf("message: %v", err)
	}
	if k, err := app.KeyRoom.ByTag("K-0302"); err != nil {
		t.Fatal(err)
	} else if _, err := app.KeyRoom.ReportLost(ctx, keys.PersonOf(mgr), k.ID, "丢失 lost"); err != nil {
		t.Fatalf("lost key: %v", err)
	}
	conf, err := app.Conferences.Create(ctx, "test", visit.MeetingInput{Name: "年会 Annual meeting", Place: "10F",
		HostID: host.PersonID, From: now.Add(time.Hour), Until: now.Add(4 * time.Hour)})
	if err != nil {
		t.Fatalf("conference: %v", err)
	}
	if _, err := app.Conferences.Register(ctx, "test", conf.ID, []byte("name,mobile,company,title\n张三,13800139000,某某公司,先生\nJane Doe,13800139001,Acme,Ms\n")); err != nil {
		t.Fatalf("attendees: %v", err)
	}
	if _, err := app.Notices.Save(ctx, "test", notice.Announcement{Title: "停水通知 Water off", Audience: notice.Everyone,
		Description: "Friday 10:00–12:00", Content: "<p>Friday</p>"}, true); err != nil {
		t.Fatalf("notice: %v", err)
	}
	if _, err := app.KeyRoom.StartAudit(ctx, keys.PersonOf(mgr), ""); err != nil {
		t.Fatalf("key audit: %v", err)
	}
	if _, err := app.Stock.StartHandover(ctx, stock.PersonOf(grd), stock.PersonOf(mgr), "大堂 Lobby", []string{"V010"}, ""); err != nil {
		t.Fatalf("handover: %v", err)
	}
	ca.srv = New(app, Options{})
	ca.ts = httptest.NewServer(ca.srv.Handler())
	t.Cleanup(func() { ca.ts.Close(); ca.srv.Close(); app.Close() })
	return ca
}

// routeRoles answers who may use the route a request would reach, by
// routing it the way the server does (echo's router over the route table).
type routeRoles struct {
	e     *echo.Echo
	roles map[string][]auth.Role // method + " " + route path
}

func newRouteRoles(s *Server) routeRoles {
	rr := routeRoles{e: echo.New(), roles: map[string][]auth.Role{}}
	for _, r := range s.routeTable() {
		rr.e.Add(r.method, r.path, r.h)
		rr.roles[r.method+" "+r.path] = r.roles
	}
	return rr
}

// allowed says whether role may send method to path, and the route's path.
func (rr routeRoles) allowed(method, path string, role auth.Role) (bool, string) {
	c := rr.e.NewContext(nil, nil)
	rr.e.Router().Find(method, path, c)
	roles, ok := rr.roles[method+" "+c.Path()]
	if !ok {
		return false, "no route"
	}
	return roles == nil || slices.Contains(roles, role), c.Path()
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]*)"`)

// signIn signs role's demo account in over HTTP and switches the language
// to lang with the header's switch; it returns the session and the lang
// cookie the browser ends up with.
func (ca *crawlApp) signIn(t *testing.T, role auth.Role, lang i18n.Lang) (session, langCookieValue string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	csrf := func(page string) string {
		resp, err := c.Get(ca.ts.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := csrfInput.FindSubmatch(b)
		if m == nil {
			t.Fatalf("%s has no CSRF field (%d)", page, resp.StatusCode)
		}
		return html.UnescapeString(string(m[1]))
	}
	l := ca.logins[role]
	resp, err := c.PostForm(ca.ts.URL+"/login", url.Values{"username": {l.Username}, "password": {l.Password}, "_csrf": {csrf("/login")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("sign in as %s: %d at %s", l.Username, resp.StatusCode, resp.Request.URL)
	}
	resp, err = c.PostForm(ca.ts.URL+"/lang", url.Values{"lang": {string(lang)}, "next": {"/"}, "_csrf": {csrf("/")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("language switch: %d", resp.StatusCode)
	}
	u, _ := url.Parse(ca.ts.URL)
	for _, ck := range jar.Cookies(u) {
		switch ck.Name {
		case sessionCookie:
			session = ck.Value
		case langCookie:
			langCookieValue = ck.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie after signing in")
	}
	return session, langCookieValue
}

// keyInText finds words shaped like catalogue keys ("keys.search").
var keyInText = regexp.MustCompile(`[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+`)

// visibleAttrs are attributes a user reads.
var visibleAttrs = regexp.MustCompile(`(?i)\s(?:placeholder|title|aria-label|alt)="([^"]*)"`)

var (
	scriptOrStyle = regexp.MustCompile(`(?is)<(script|style)\b.*?</(?:script|style)>`)
	anyTag        = regexp.MustCompile(`(?s)<[^>]*>`)
	hrefs         = regexp.MustCompile(`(?i)<(?:a|link)\b[^>]*?\shref="([^"]*)"|<(?:img|script)\b[^>]*?\ssrc="([^"]*)"`)
	formTag       = regexp.MustCompile(`(?i)<form\b[^>]*>`)
	formMethod    = regexp.MustCompile(`(?i)\smethod="([^"]*)"`)
	formAction    = regexp.MustCompile(`(?i)\saction="([^"]*)"`)
	hxGets        = regexp.MustCompile(`(?i)\shx-get="([^"]*)"`)
	fmtArtefact   = regexp.MustCompile(`%!(?:[a-zA-Z(]|$)`)
	han           = regexp.MustCompile(`\p{Han}`)
	idAttr        = regexp.MustCompile(`<[^>]*?\sid="([^"]*)"`)
	labelFor      = regexp.MustCompile(`<label\b[^>]*?\sfor="([^"]*)"`)
	idRef         = regexp.MustCompile(`\s(hx-target|hx-select|hx-indicator)="#([\w-]+)"|\s(aria-describedby|aria-controls|aria-labelledby)="([\w-]+)"`)
	navBlock      = regexp.MustCompile(`(?s)<nav\b[^>]*>(.*?)</nav>`)
)

// visibleText is what a reader sees of a page: the text outside tags and
// the attributes shown to them.
func visibleText(body string) string {
	var b strings.Builder
	for _, m := range visibleAttrs.FindAllStringSubmatch(body, -1) {
		b.WriteString(html.UnescapeString(m[1]))
		b.WriteString("\n")
	}
	body = scriptOrStyle.ReplaceAllString(body, " ")
	b.WriteString(html.UnescapeString(anyTag.ReplaceAllString(body, " ")))
	return b.String()
}

// TestCrawlEveryPageAsEveryRole signs in as each role of the demo building,
// in each language, and follows every link, image, htmx fetch and GET form
// the pages render, breadth first from the home page; a visitor and a kiosk
// crawl the public and kiosk pages the same way. A link the app renders
// must work for whoever it is shown to: no 5xx, no 404, no 403, and every
// form posts to a route the role may use. Pages show no catalogue key in
// place of its text, no fmt artefact and no "<no value>"; their ids are
// unique and what labels, aria and htmx attributes name is on the page;
// Chinese pages have a Chinese navigation.
func TestCrawlEveryPageAsEveryRole(t *testing.T) {
	ca := newCrawlApp(t)
	keySet, prefixes := map[string]bool{}, map[string]bool{}
	for _, k := range i18n.Keys() {
		keySet[k] = true
		p, _, _ := strings.Cut(k, ".")
		prefixes[p] = true
	}
	base, err := url.Parse(ca.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	routes := newRouteRoles(ca.srv)
	crawl := func(t *testing.T, role auth.Role, lang i18n.Lang, cookie *http.Cookie, start ...string) {
		c := crawler{t: t, client: client, base: base, cookie: cookie, role: role, routes: routes, lang: lang,
			keys: keySet, prefixes: prefixes, seen: map[string]string{}}
		for _, s := range start {
			c.seen[s] = "(start)"
			c.queue = append(c.queue, s)
		}
		c.run()
		if c.pages < len(start)+1 {
			t.Errorf("only %d pages reached: the crawl is broken", c.pages)
		}
		t.Logf("%d pages, %d downloads", c.pages, c.files)
	}
	for _, lang := range []i18n.Lang{i18n.EN, i18n.ZH} {
		for _, role := range []auth.Role{auth.Admin, auth.Manager, auth.Reception, auth.Host} {
			t.Run(string(role)+"/"+string(lang), func(t *testing.T) {
				sess := ca.srv.testSession(ca.accounts[role].ID, ca.clock.Now()).id
				crawl(t, role, lang, &http.Cookie{Name: sessionCookie, Value: sess}, "/")
			})
		}
		// Not signed in: the public pages, as a visitor finds them.
		t.Run("visitor/"+string(lang), func(t *testing.T) {
			crawl(t, "", lang, nil, "/login", "/signup", "/book", "/v/"+ca.link)
		})
		t.Run("kiosk/"+string(lang), func(t *testing.T) {
			kc := &http.Cookie{Name: kioskCookie, Value: ca.srv.kioskValue("0000000000000000", ca.clock.Now().Add(time.Hour))}
			crawl(t, kioskRole, lang, kc, "/kiosk")
		})
	}
	// One sign-in the way a person does it: the demo account's password,
	// then Chinese chosen with the language switch.
	t.Run("signed-in/host/zh", func(t *testing.T) {
		sess, lang := ca.signIn(t, auth.Host, i18n.ZH)
		if lang != "zh" {
			t.Fatalf("the language switch set lang=%q", lang)
		}
		crawl(t, auth.Host, i18n.ZH, &http.Cookie{Name: sessionCookie, Value: sess}, "/")
	})
	// The next day the pages show another side: the key out is overdue,
	// the visits and the conference are over, yesterday is history.
	ca.clock.Advance(26 * time.Hour)
	for _, role := range []auth.Role{auth.Admin, auth.Reception, auth.Host} {
		t.Run("next-day/"+string(role), func(t *testing.T) {
			sess := ca.srv.testSession(ca.accounts[role].ID, ca.clock.Now()).id
			crawl(t, role, i18n.ZH, &http.Cookie{Name: sessionCookie, Value: sess}, "/")
		})
	}
}

type crawler struct {
	t            *testing.T
	client       *http.Client
	base         *url.URL
	cookie       *http.Cookie // who the crawler is: a session, a kiosk, or nil
	role         auth.Role
	routes       routeRoles
	lang         i18n.Lang
	keys         map[string]bool
	prefixes     map[string]bool   // the keys' first parts: "nav", "err", …
	seen         map[string]string // link -> the page it was found on
	queue        []string
	pages, files int
}

func (c *crawler) run() {
	for len(c.queue) > 0 {
		if c.pages+c.files >= crawlCap {
			c.t.Errorf("more than %d links: a link keeps growing? queue starts %v", crawlCap, c.queue[:min(5, len(c.queue))])
			return
		}
		link := c.queue[0]
		c.queue = c.queue[1:]
		c.visit(link)
	}
}

// How a page reaches a URL.
const (
	byLink = ""      // a link, an image, a redirect
	byHX   = "hx "   // htmx fetches it (a part of a page)
	byForm = "form " // a GET form's submit, with the form's values
)

// enqueue adds ref, found on page from, if it is a same-site link to follow.
func (c *crawler) enqueue(from *url.URL, ref string, how string) {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.HasPrefix(ref, "#") || strings.HasPrefix(ref, "javascript:") ||
		strings.HasPrefix(ref, "mailto:") || strings.HasPrefix(ref, "tel:") || strings.HasPrefix(ref, "data:") {
		return
	}
	u, err := from.Parse(ref)
	if err != nil {
		c.t.Errorf("%s links to %q: %v", from.RequestURI(), ref, err)
		return
	}
	if u.Host != c.base.Host {
		return // another site
	}
	if _, skip := crawlSkip[u.Path]; skip {
		return
	}
	u.Fragment = ""
	key := u.RequestURI()
	key = how + key
	if _, ok := c.seen[key]; ok {
		return
	}
	c.seen[key] = from.RequestURI()
	c.queue = append(c.queue, key)
}

// crawlerName names the crawler in a message.
func crawlerName(r auth.Role) string {
	switch r {
	case "":
		return "visitor (not signed in)"
	case kioskRole:
		return "kiosk"
	}
	return string(r)
}

func (c *crawler) visit(link string) {
	t := c.t
	from := c.seen[link]
	link, hx := strings.CutPrefix(link, byHX)
	link, form := strings.CutPrefix(link, byForm)
	req, err := http.NewRequest("GET", c.base.String()+link, nil)
	if err != nil {
		t.Errorf("%s (on %s): %v", link, from, err)
		return
	}
	if hx {
		req.Header.Set("HX-Request", "true")
		req.Header.Set("HX-Current-URL", c.base.String()+from)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	// Both ways a browser picks the language: English by its
	// Accept-Language, Chinese by the cookie the switch sets.
	if c.lang == i18n.EN {
		req.Header.Set("Accept-Language", "en-GB,en;q=0.9,zh-CN;q=0.5")
	} else {
		req.AddCookie(&http.Cookie{Name: langCookie, Value: string(c.lang)})
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Errorf("GET %s (on %s): %v", link, from, err)
		return
	}
	defer resp.Body.Close()
	ctype, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case resp.StatusCode >= 500:
		t.Errorf("GET %s (linked from %s) = %d", link, from, resp.StatusCode)
		return
	case resp.StatusCode == http.StatusForbidden:
		t.Errorf("GET %s (linked from %s) = 403: the page links to what the %s may not use", link, from, crawlerName(c.role))
		return
	case resp.StatusCode == http.StatusNotFound:
		t.Errorf("GET %s (linked from %s) = 404: a broken link", link, from)
		return
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc := resp.Header.Get("Location")
		if c.role == "" && link == "/" {
			// The brand in every page's header links home; a visitor's
			// home is the sign-in page. Intended.
			return
		}
		if strings.HasPrefix(loc, "/login") {
			t.Errorf("GET %s (linked from %s) sends the %s to sign in: %s", link, from, crawlerName(c.role), loc)
			return
		}
		u, _ := c.base.Parse(link)
		c.enqueue(u, loc, byLink)
		return
	case resp.StatusCode != http.StatusOK:
		t.Errorf("GET %s (linked from %s) = %d", link, from, resp.StatusCode)
		return
	}
	if ctype == "text/event-stream" {
		return // a stream reached by a link not in crawlSkip: do not wait on it
	}
	u, _ := c.base.Parse(link)
	if want, ok := downloads[path.Ext(u.Path)]; ok {
		c.files++
		if ctype != want {
			t.Errorf("GET %s (linked from %s): Content-Type %q, want %q", link, from, ctype, want)
		}
		b, _ := io.ReadAll(resp.Body)
		if len(b) == 0 {
			t.Errorf("GET %s (linked from %s): empty", link, from)
		}
		c.checkFile(link, path.Ext(u.Path), b)
		return
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("GET %s: %v", link, err)
		return
	}
	if ctype != "text/html" {
		c.files++
		return
	}
	c.pages++
	if testing.Verbose() {
		t.Logf("page %s", link)
	}
	c.checkPage(link, string(b))
	for _, m := range hrefs.FindAllStringSubmatch(string(b), -1) {
		c.enqueue(u, html.UnescapeString(m[1]+m[2]), byLink)
	}
	for _, m := range hxGets.FindAllStringSubmatch(string(b), -1) {
		c.enqueue(u, html.UnescapeString(m[1]), byHX)
	}
	c.checkForms(u, string(b), !form)
}

// checkForms checks that every form on page u posts to a route the role
// may use: a button that can only end in "forbidden" must not be shown.
// With submit it queues the GET forms' submits too (not on pages a form
// submit reached: the filters' combinations would multiply).
func (c *crawler) checkForms(u *url.URL, body string, submit bool) {
	for _, tag := range formTag.FindAllString(body, -1) {
		method := "GET"
		if m := formMethod.FindStringSubmatch(tag); m != nil {
			method = strings.ToUpper(m[1])
		}
		action := u
		if m := formAction.FindStringSubmatch(tag); m != nil {
			a, err := u.Parse(html.UnescapeString(m[1]))
			if err != nil {
				c.t.Errorf("%s: form action %q: %v", u.RequestURI(), m[1], err)
				continue
			}
			action = a
		}
		if action.Host != c.base.Host {
			continue
		}
		if ok, route := c.routes.allowed(method, action.Path, c.role); !ok {
			c.t.Errorf("%s shows a form to %s %s (%s), which the %s may not use", u.RequestURI(), method, action.Path, route, crawlerName(c.role))
			continue
		}
		if method == "GET" && submit {
			i := strings.Index(body, tag) + len(tag)
			end := strings.Index(body[i:], "</form>")
			if end < 0 {
				c.t.Errorf("%s: a form is not closed", u.RequestURI())
				continue
			}
			for _, q := range formSubmits(body[i : i+end]) {
				a := *action
				a.RawQuery = q.Encode()
				c.enqueue(u, a.String(), byForm)
			}
		}
	}
}

var (
	inputTag   = regexp.MustCompile(`(?i)<(?:input|button)\b[^>]*>`)
	selectTag  = regexp.MustCompile(`(?is)<select\b([^>]*)>(.*?)</select>`)
	optionTag  = regexp.MustCompile(`(?i)<option\b[^>]*>`)
	nameAttr   = regexp.MustCompile(`(?i)\sname="([^"]*)"`)
	valueAttr  = regexp.MustCompile(`(?i)\svalue="([^"]*)"`)
	typeAttr   = regexp.MustCompile(`(?i)\stype="([^"]*)"`)
	checkedOn  = regexp.MustCompile(`(?i)\schecked(?:[\s/>=]|$)`)
	selectedOn = regexp.MustCompile(`(?i)\sselected(?:[\s/>=]|$)`)
)

func attr(re *regexp.Regexp, tag string) string {
	if m := re.FindStringSubmatch(tag); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// formSubmits are the queries a GET form sends: as it stands, with each
// other option of each select, and with each named submit button.
func formSubmits(form string) []url.Values {
	base := url.Values{}
	var buttons []url.Values
	for _, tag := range inputTag.FindAllString(form, -1) {
		name, typ := attr(nameAttr, tag), strings.ToLower(attr(typeAttr, tag))
		switch {
		case name == "":
		case typ == "submit" || strings.HasPrefix(strings.ToLower(tag), "<button"):
			buttons = append(buttons, url.Values{name: {attr(valueAttr, tag)}})
		case typ == "checkbox" || typ == "radio":
			if checkedOn.MatchString(tag) {
				base.Add(name, cmp.Or(attr(valueAttr, tag), "on"))
			}
		case typ == "file" || typ == "reset" || typ == "image" || typ == "button":
		default:
			base.Add(name, attr(valueAttr, tag))
		}
	}
	var variants []url.Values
	for _, m := range selectTag.FindAllStringSubmatch(form, -1) {
		name := attr(nameAttr, m[1])
		if name == "" {
			continue
		}
		opts := optionTag.FindAllString(m[2], -1)
		chosen := ""
		for i, o := range opts {
			if i == 0 || selectedOn.MatchString(o) {
				chosen = attr(valueAttr, o)
			}
			variants = append(variants, url.Values{name: {attr(valueAttr, o)}})
		}
		base.Set(name, chosen)
	}
	out := []url.Values{base}
	for _, v := range append(variants, buttons...) {
		q := url.Values{}
		for k, vs := range base {
			q[k] = vs
		}
		for k, vs := range v {
			q[k] = vs
		}
		out = append(out, q)
	}
	return out
}

// checkFile checks the text of an export as checkPage does a page's: the
// CSV itself, a workbook's strings.
func (c *crawler) checkFile(link, ext string, b []byte) {
	text := ""
	switch ext {
	case ".csv":
		text = string(b)
	case ".xlsx":
		z, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			c.t.Errorf("%s: not a workbook: %v", link, err)
			return
		}
		for _, f := range z.File {
			if f.Name != "xl/sharedStrings.xml" && !strings.HasPrefix(f.Name, "xl/worksheets/") {
				continue
			}
			r, err := f.Open()
			if err != nil {
				c.t.Errorf("%s: %s: %v", link, f.Name, err)
				return
			}
			x, _ := io.ReadAll(r)
			r.Close()
			text += html.UnescapeString(anyTag.ReplaceAllString(string(x), " "))
		}
	default:
		return
	}
	if m := fmtArtefact.FindString(text); m != "" {
		c.t.Errorf("%s has a fmt artefact: %q", link, m)
	}
	if strings.HasPrefix(link, "/admin/audit.") {
		// The trail's export carries the note and record columns as
		// identifiers ("visit.requested", "person:…"), as the page's
		// ident cells (auditIdents); its words are checked on the page.
		return
	}
	c.checkKeys(link, text)
}

// checkKeys reports catalogue keys in text shown in their texts' place.
func (c *crawler) checkKeys(link, text string) {
	shown := map[string]bool{}
	for _, w := range keyInText.FindAllString(text, -1) {
		if shown[w] {
			continue
		}
		prefix, _, _ := strings.Cut(w, ".")
		switch {
		case c.keys[w]:
			shown[w] = true
			c.t.Errorf("%s shows the catalogue key %q instead of its text", link, w)
		case c.prefixes[prefix]:
			// T of a key the catalogues lack shows the key: one made
			// up at run time ("status." + state) escapes the source scan.
			shown[w] = true
			c.t.Errorf("%s shows %q, a key missing from the catalogues", link, w)
		}
	}
}

func (c *crawler) checkPage(link, body string) {
	t := c.t
	if strings.Contains(body, "<no value>") {
		t.Errorf("%s shows <no value>", link)
	}
	if m := fmtArtefact.FindString(body); m != "" {
		i := strings.Index(body, m)
		t.Errorf("%s has a fmt artefact: %q", link, body[max(0, i-40):min(len(body), i+40)])
	}
	ids := map[string]bool{}
	for _, m := range idAttr.FindAllStringSubmatch(scriptOrStyle.ReplaceAllString(body, ""), -1) {
		if ids[m[1]] {
			t.Errorf("%s: id %q twice", link, m[1])
		}
		ids[m[1]] = true
	}
	for _, m := range labelFor.FindAllStringSubmatch(body, -1) {
		if !ids[m[1]] {
			t.Errorf("%s: a label is for %q, which is not on the page", link, m[1])
		}
	}
	if strings.Contains(body, "<html") {
		// htmx swaps into these; a missing one fails without a word.
		for _, m := range idRef.FindAllStringSubmatch(body, -1) {
			if attr, id := m[1]+m[3], m[2]+m[4]; !ids[id] {
				t.Errorf("%s: %s names #%s, which is not on the page", link, attr, id)
			}
		}
	}
	c.checkKeys(link, visibleText(withoutAuditIdents(body)))
	if c.lang != i18n.ZH {
		if strings.Contains(body, "<html") && !strings.Contains(body, `<html lang="en`) {
			t.Errorf("%s in English lacks <html lang=\"en\">", link)
		}
		return
	}
	if strings.Contains(body, "<html") && !strings.Contains(body, `<html lang="zh`) {
		t.Errorf("%s in Chinese lacks <html lang=\"zh…\">", link)
	}
	nav := navBlock.FindStringSubmatch(body)
	if nav == nil {
		return // a page without the staff navigation (the visitor pass, a print label)
	}
	for _, label := range strings.Split(anyTag.ReplaceAllString(nav[1], "\n"), "\n") {
		label = strings.TrimSpace(html.UnescapeString(label))
		if label != "" && !han.MatchString(label) {
			t.Errorf("%s: navigation label %q is not Chinese", link, label)
		}
	}
}
