package ui

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"html"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gatehouse/appliance/auth"
	"gatehouse/appliance/field"
	"gatehouse/appliance/notice"
	"gatehouse/appliance/notify"
	"gatehouse/ui/i18n"
)

func TestNoticePagesSanitiseAndShowByAudience(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	post := func(form url.Values) *http.Response {
		return h.do(req{method: "POST", path: "/notices", session: mgr, form: form})
	}
	// Field errors come back next to the fields.
	resp := post(url.Values{"title": {""}, "audience": {"staff"}, "description": {strings.Repeat("长", 51)}})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-title"`) || !strings.Contains(body, `id="e-description"`) {
		t.Fatalf("bad form = %d", resp.StatusCode)
	}
	// A long title saves with a warning; the script is gone.
	resp = post(url.Values{"title": {"访客须知：本周五下午大堂消防演习请提前离开"}, "audience": {"visitors"}, "action": {"publish"},
		"content": {`<p>Drill <script>alert(1)</script><b>Friday</b></p><img src=x onerror=alert(1)><a href="javascript:alert(2)">x</a>`}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish = %d %s", resp.StatusCode, readBody(t, resp))
	}
	if ck := cookieNamed(resp, flashCookie); ck == nil || ck.Value != "flash.notice_saved_long_title" {
		t.Fatalf("no long-title warning: %+v", ck)
	}
	post(url.Values{"title": {"Staff rota"}, "audience": {"staff"}, "action": {"publish"}, "content": {"<p>rota</p>"}})
	// The visitor's pass page shows the visitors' announcement, clean.
	page := readBody(t, h.do(req{method: "GET", path: "/v/{link}"}))
	if !strings.Contains(page, "<b>Friday</b>") || strings.Contains(page, "alert(") || strings.Contains(page, "Staff rota") {
		t.Fatalf("visit page board wrong:\n%s", page)
	}
	// An employee never sees the staff-only one; reception does.
	if page := readBody(t, h.do(req{method: "GET", path: "/", session: h.session(auth.Host)})); strings.Contains(page, "Staff rota") {
		t.Fatal("employee home shows a staff-only announcement")
	}
	if page := readBody(t, h.do(req{method: "GET", path: "/desk/today", session: h.session(auth.Reception)})); !strings.Contains(page, "Staff rota") {
		t.Fatal("the desk's home lacks the staff announcement")
	}
	// The kiosk's pass page shows the visitors' board too.
	if page := readBody(t, h.do(req{method: "GET", path: "/kiosk/wait/{link}", kiosk: true})); !strings.Contains(page, "消防演习") {
		t.Fatal("kiosk pass page lacks the visitors' announcement")
	}
	// The list finds by publication date.
	today := h.clock.Now().In(h.app.Config.Location).Format("2006-01-02")
	if page := readBody(t, h.do(req{method: "GET", path: "/notices?from=" + today + "&to=" + today, session: mgr})); !strings.Contains(page, "Staff rota") {
		t.Fatal("search by today's date misses today's announcement")
	}
	if page := readBody(t, h.do(req{method: "GET", path: "/notices?to=2026-01-01", session: mgr})); strings.Contains(page, "Staff rota") {
		t.Fatal("search before the publication date finds it")
	}
	// The list finds by title and audience.
	if page := readBody(t, h.do(req{method: "GET", path: "/notices?q=rota&audience=staff", session: mgr})); !strings.Contains(page, "Staff rota") || strings.Contains(page, "消防") {
		t.Fatal("search by title and audience")
	}
}

// postFile posts a multipart form with one file, as session, in English,
// and does not follow a redirect.
func postFile(t *testing.T, h *harness, path, session string, form url.Values, fileField, name string, data []byte) *http.Response {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("_csrf", h.csrfToken(session))
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile(fileField, name)
	fw.Write(data)
	mw.Close()
	r, _ := http.NewRequest("POST", h.ts.URL+path, &b)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Accept-Language", "en")
	r.AddCookie(&http.Cookie{Name: "gh_csrf", Value: testCSRF})
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// claimedPNG is a PNG header claiming w × h grey pixels, with no picture
// after it: all a refusal from the header reads.
func claimedPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, w), h)
	chunk("IHDR", append(ihdr, 8, 0, 0, 0, 0)) // 8-bit grey
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func TestNoticeImageUploadChecksPictures(t *testing.T) {
	h := newHarness(t)
	admin := h.session(auth.Admin)
	upload := func(name string, data []byte) *http.Response {
		return postFile(t, h, "/notices/images", admin, nil, "image", name, data)
	}
	if resp := upload("evil.png", []byte("<svg onload=alert(1)>")); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("not a picture = %d", resp.StatusCode)
	}
	var pic bytes.Buffer
	png.Encode(&pic, image.NewRGBA(image.Rect(0, 0, 40, 20)))
	resp := upload("a.png", pic.Bytes())
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, notice.ImagePath) {
		t.Fatalf("upload = %d %s", resp.StatusCode, body)
	}
	id := body[strings.Index(body, notice.ImagePath)+len(notice.ImagePath):][:16]
	img := h.do(req{method: "GET", path: notice.ImagePath + id})
	if img.StatusCode != 200 || img.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("picture = %d %s", img.StatusCode, img.Header.Get("Content-Type"))
	}
}

// TestNoticePictureTooLargeSaysSo: a picture with more pixels than the
// appliance decodes (a 35 KB PNG claiming 6000 × 6000) is refused with a
// field error saying it is too large, in the editor and as a cover —
// never a server error, never "not a picture".
func TestNoticePictureTooLargeSaysSo(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	huge := claimedPNG(6000, 6000)
	want := i18n.EN.Field(field.Error{Code: "picture_too_large", Arg: "16"})

	resp := postFile(t, h, "/notices/images", mgr, nil, "image", "huge.png", huge)
	var got struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusUnprocessableEntity || got.Error != want {
		t.Fatalf("editor upload = %d %q (%v), want %q", resp.StatusCode, got.Error, err, want)
	}

	resp = postFile(t, h, "/notices", mgr, url.Values{"title": {"Lift closed"}, "audience": {"staff"}}, "cover", "huge.png", huge)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-cover"`) || !strings.Contains(body, html.EscapeString(want)) {
		t.Fatalf("cover upload = %d, want the field error %q:\n%s", resp.StatusCode, want, body)
	}
	if as, _ := h.app.Notices.List(notice.Query{}); len(as) != 0 {
		t.Fatalf("saved with a refused cover: %+v", as)
	}

	// Editing, a refused new cover leaves the announcement and its cover
	// as they were.
	var small bytes.Buffer
	png.Encode(&small, image.NewGray(image.Rect(0, 0, 40, 20)))
	if resp := postFile(t, h, "/notices", mgr, url.Values{"title": {"Lift closed"}, "audience": {"staff"}}, "cover", "small.png", small.Bytes()); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save with a cover = %d", resp.StatusCode)
	}
	as, _ := h.app.Notices.List(notice.Query{})
	if len(as) != 1 || as[0].CoverID == "" {
		t.Fatalf("announcements %+v", as)
	}
	a := as[0]
	resp = postFile(t, h, "/notices/"+a.ID, mgr, url.Values{"title": {"Lift closed until Friday"}, "audience": {"staff"}, "cover_id": {a.CoverID}}, "cover", "huge.png", huge)
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `value="`+a.CoverID+`"`) {
		t.Fatalf("edit with a refused cover = %d, the form lost the cover:\n%s", resp.StatusCode, body)
	}
	if got, err := h.app.Notices.Get(a.ID); err != nil || got.Title != a.Title || got.CoverID != a.CoverID {
		t.Fatalf("after a refused cover: %+v %v, want %+v", got, err, a)
	}
}

func TestMessageCentreCapOverHTTP(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	send := func(form url.Values) (*http.Response, string) {
		resp := h.do(req{method: "POST", path: "/messages", session: mgr, form: form, header: map[string]string{"Accept-Language": "en"}})
		return resp, readBody(t, resp)
	}
	urgent := url.Values{"kind": {"urgent"}, "audience": {"staff"}, "source": {"text"}, "text": {"Lift 2 out of service"}}
	for i := range 4 {
		if resp, body := send(urgent); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("broadcast %d = %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := send(urgent)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-kind"`) || !strings.Contains(body, "urgent broadcasts have all been sent") {
		t.Fatalf("fifth broadcast = %d", resp.StatusCode)
	}
	if !strings.Contains(body, "0 of 4 urgent broadcasts left") {
		t.Fatal("the page does not show what is left")
	}
	// A normal message to one account still goes; a missing text is a field error.
	to := "account:" + h.accounts[auth.Host].ID
	if resp, _ := send(url.Values{"kind": {"normal"}, "to": {to}, "source": {"text"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no text = %d", resp.StatusCode)
	}
	if resp, body := send(url.Values{"kind": {"normal"}, "to": {to}, "source": {"text"}, "text": {"Your parcel is at the desk"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("normal = %d %s", resp.StatusCode, body)
	}
	missed, err := h.app.Notify.Missed(h.accounts[auth.Host].ID, "", 10)
	if err != nil || len(missed) == 0 || missed[len(missed)-1].Body != "Your parcel is at the desk" {
		t.Fatalf("host's in-page messages %+v %v", missed, err)
	}
	hist, _ := h.app.Notices.History(10)
	if len(hist) != 5 {
		t.Fatalf("history has %d", len(hist))
	}
	if resp := h.do(req{method: "POST", path: "/messages/" + hist[0].ID + "/delete", session: mgr}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	if hist, _ := h.app.Notices.History(10); len(hist) != 4 {
		t.Fatalf("after delete, history has %d", len(hist))
	}
}

// TestMessageRecipientSearch: the recipient is searched for (at most a
// page of choices), and without scripts a typed username or full name is
// resolved on sending, with a field error and the matches to pick from
// when it names nobody or several.
func TestMessageRecipientSearch(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	add := func(user, name string) auth.Account {
		a, err := h.app.Auth.CreateAccount(context.Background(), "test", auth.NewAccount{Username: user, Name: name, Role: auth.Reception, Password: "a long enough password 1"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for i := range maxRecipientChoices + 3 {
		add(fmt.Sprintf("guard%02d", i), fmt.Sprintf("Chen Guard %02d", i))
	}
	li1, li2 := add("lina1", "Li Na"), add("lina2", "li na")
	solo := add("zhou", "Zhou Min")
	en := map[string]string{"Accept-Language": "en"}
	get := func(q string) string {
		resp := h.do(req{method: "GET", path: "/messages/recipients?to_q=" + url.QueryEscape(q), session: mgr, header: en})
		if resp.StatusCode != 200 {
			t.Fatalf("search %q = %d", q, resp.StatusCode)
		}
		return readBody(t, resp)
	}
	body := get("chen")
	if n := strings.Count(body, `name="to"`); n != maxRecipientChoices || !strings.Contains(body, i18n.EN.T("message.to_more")) {
		t.Fatalf("%d choices for chen: %s", n, body)
	}
	if body := get("ZHOU"); strings.Count(body, `name="to"`) != 1 || !strings.Contains(body, `value="account:`+solo.ID+`"`) || !strings.Contains(body, "Zhou Min (zhou)") {
		t.Fatalf("search zhou: %s", body)
	}
	if body := get("nobody here"); strings.Contains(body, `name="to"`) || !strings.Contains(body, i18n.EN.T("list.empty")) {
		t.Fatalf("search for nobody: %s", body)
	}
	// The person picked stays, whatever a later keystroke finds.
	if body := h.do(req{method: "GET", path: "/messages/recipients?to_q=chen&to=account:" + solo.ID, session: mgr}); !strings.Contains(readBody(t, body), `value="account:`+solo.ID+`" id="f-to-0" checked`) {
		t.Fatal("the person picked is gone from the choices")
	}

	// Hostile input is no error.
	for _, q := range []string{"to_q=%00&to=visit:%00", "to_q=" + strings.Repeat("%E7%8E%8B", 5000) + "&to=account:" + strings.Repeat("x", 5000), "to=account:&to_q=%FF%FE", "to=:"} {
		if resp := h.do(req{method: "GET", path: "/messages/recipients?" + q, session: mgr}); resp.StatusCode != 200 {
			t.Fatalf("%.40s = %d", q, resp.StatusCode)
		}
	}

	send := func(typed string) (*http.Response, string) {
		form := url.Values{"kind": {"normal"}, "to_q": {typed}, "source": {"text"}, "text": {"Parcel at the desk"}}
		resp := h.do(req{method: "POST", path: "/messages", session: mgr, form: form, header: en})
		return resp, readBody(t, resp)
	}
	for _, tc := range []struct{ typed, code string }{
		{"Li Na", "recipient_ambiguous"},
		{"Chen", "recipient_pick"},
		{"Nobody Atall", "recipient_not_found"},
		{strings.Repeat("王", 2000), "recipient_not_found"},
		{"\x00", "recipient_not_found"},
	} {
		resp, body := send(tc.typed)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-to"`) || !strings.Contains(body, i18n.EN.T("err."+tc.code)) {
			t.Fatalf("%q = %d, want %s", tc.typed, resp.StatusCode, tc.code)
		}
		if tc.code == "recipient_ambiguous" && (!strings.Contains(body, "account:"+li1.ID) || !strings.Contains(body, "account:"+li2.ID)) {
			t.Fatal("the people of the name are not offered")
		}
	}
	for _, typed := range []string{"lina2", " ZHOU min "} {
		if resp, body := send(typed); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%q = %d %s", typed, resp.StatusCode, body)
		}
	}
	hist, err := h.app.Notices.History(10)
	if err != nil || len(hist) != 2 || hist[0].To != "Zhou Min (zhou)" || hist[1].To != "li na (lina2)" {
		t.Fatalf("history %+v %v", hist, err)
	}
}

// TestMessageEmailTheOutboxRefuses: an address the outbox would refuse
// (not plain ASCII) is a field error on the form, not a message recorded
// as failed.
func TestMessageEmailTheOutboxRefuses(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if err := h.app.Notify.SaveSettings(ctx, "test", notify.Settings{SMTP: notify.SMTP{Host: "127.0.0.1", Port: 25, From: "desk@lobby.example.com"}}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"kind": {"normal"}, "to": {"account:" + h.accounts[auth.Host].ID}, "email": {"josé@example.com"},
		"source": {"text"}, "text": {"Parcel at the desk"}}
	resp := h.do(req{method: "POST", path: "/messages", session: h.session(auth.Manager), form: form, header: map[string]string{"Accept-Language": "en"}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-email"`) {
		t.Fatalf("non-ASCII address = %d", resp.StatusCode)
	}
	if hist, err := h.app.Notices.History(10); err != nil || len(hist) != 0 {
		t.Fatalf("history %+v %v", hist, err)
	}
}

// TestNoticeEditWithErrorsKeepsItsState: the edit form shown again with a
// field error still names the announcement's state; before, it showed the
// raw catalogue key "notice.state.".
func TestNoticeEditWithErrorsKeepsItsState(t *testing.T) {
	h := newHarness(t)
	mgr := h.session(auth.Manager)
	resp := h.do(req{method: "POST", path: "/notices", session: mgr, form: url.Values{"title": {"Lift works"}, "audience": {"staff"}}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save = %d", resp.StatusCode)
	}
	list, err := h.app.Notices.List(notice.Query{})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d announcements, %v", len(list), err)
	}
	resp = h.do(req{method: "POST", path: "/notices/" + list[0].ID, session: mgr, form: url.Values{"title": {""}, "audience": {"staff"}},
		header: map[string]string{"Accept-Language": "en"}})
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, "notice.state.") || !strings.Contains(body, i18n.EN.T("notice.state.draft")) {
		t.Fatalf("edit with an error = %d, state shown as %q", resp.StatusCode, regexp.MustCompile(`notice\.state\.[a-z]*`).FindString(body))
	}
}
