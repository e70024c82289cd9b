package ui

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"gatehouse/appliance/access"
	"gatehouse/appliance/auth"
)

// postFace posts the person page's face form: the picture (none when nil)
// and the consent box, in lang.
func (h *harness) postFace(path, session, lang string, pic []byte, consent bool) (*http.Response, string) {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("_csrf", h.csrfToken(session))
	if consent {
		_ = mw.WriteField("face_consent", "1")
	}
	if pic != nil {
		fw, _ := mw.CreateFormFile("face", "face.jpg")
		_, _ = fw.Write(pic)
	}
	mw.Close()
	r, _ := http.NewRequest("POST", h.ts.URL+path, &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	r.Header.Set("Accept-Language", lang)
	r.AddCookie(&http.Cookie{Name: "gh_csrf", Value: testCSRF})
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(r)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp, readBody(h.t, resp)
}

// An employee's face is uploaded on their directory page by a manager,
// only with the consent box ticked and a usable JPEG (field errors in
// English and Chinese otherwise); it takes their card's validity and
// groups, replaces the one before, and is removed again on the page.
func TestEmployeeFaceOnTheirPage(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	person := h.ids["{person}"]
	z, err := h.app.Access.SaveZone(ctx, "t", access.Zone{Name: "Lobby"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := h.app.Access.SaveGroup(ctx, "t", access.Group{Name: "All", ZoneIDs: []string{z.ID}})
	if err != nil {
		t.Fatal(err)
	}
	end := h.clock.Now().Add(90 * 24 * time.Hour)
	if _, err := h.app.Access.Enrol(ctx, "t", access.Credential{Kind: access.Card, Number: "00AA00BB", HolderKind: access.HolderEmployee,
		HolderID: person, HolderName: "Wang", GroupIDs: []string{g.ID}, NotAfter: end.UnixNano()}); err != nil {
		t.Fatal(err)
	}
	var pic bytes.Buffer
	if err := jpeg.Encode(&pic, image.NewGray(image.Rect(0, 0, 48, 64)), nil); err != nil {
		t.Fatal(err)
	}
	mgr := h.session(auth.Manager)
	path := "/directory/people/" + person + "/face"

	for _, tc := range []struct {
		lang    string
		pic     []byte
		consent bool
		field   string
		says    string
	}{
		{"en", pic.Bytes(), false, `id="e-face_consent"`, "no face is used without consent"},
		{"zh", pic.Bytes(), false, `id="e-face_consent"`, "未经同意不得使用人脸"},
		{"en", []byte("not a picture"), true, `id="e-face"`, "Not a usable photo"},
		{"zh", nil, true, `id="e-face"`, "照片无法使用"},
	} {
		resp, body := h.postFace(path, mgr, tc.lang, tc.pic, tc.consent)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, tc.field) || !strings.Contains(body, tc.says) {
			t.Errorf("%s consent=%v: %d, want %s saying %q", tc.lang, tc.consent, resp.StatusCode, tc.field, tc.says)
		}
	}
	if _, err := h.app.Access.FaceOf(person); err == nil {
		t.Fatal("a face was enrolled by a refused upload")
	}
	// A reception account may not.
	if resp, _ := h.postFace(path, h.session(auth.Reception), "en", pic.Bytes(), true); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("reception uploading a face: %d", resp.StatusCode)
	}

	if resp, _ := h.postFace(path, mgr, "en", pic.Bytes(), true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	first, err := h.app.Access.FaceOf(person)
	if err != nil || first.State != access.Active || first.NotAfter != end.UnixNano() || len(first.GroupIDs) != 1 ||
		first.Consent != h.clock.Now().UnixNano() {
		t.Fatalf("the face: %+v %v", first, err)
	}
	if got, _ := h.app.Keys.Open(first.Photo); got != pic.String() {
		t.Fatal("the sealed picture is not the upload")
	}
	h.clock.Advance(time.Minute)
	if resp, _ := h.postFace(path, mgr, "en", pic.Bytes(), true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("second upload: %d", resp.StatusCode)
	}
	second, _ := h.app.Access.FaceOf(person)
	if old, _ := h.app.Access.Credential(first.ID); second.ID == first.ID || old.State != access.StateRevoked || old.Photo != "" {
		t.Fatalf("the old face was not replaced: %+v", old)
	}
	page := readBody(t, h.do(req{method: "GET", path: "/directory/people/" + person + "/edit", session: mgr}))
	if !strings.Contains(page, `id="face-consent"`) || !strings.Contains(page, `id="face-withdraw"`) {
		t.Fatal("the person's page does not show the face")
	}
	if resp := h.do(req{method: "POST", path: path + "/withdraw", session: mgr}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", resp.StatusCode)
	}
	if c, _ := h.app.Access.Credential(second.ID); c.State != access.StateRevoked || c.Photo != "" || c.Consent != 0 {
		t.Fatalf("after removal: %+v", c)
	}
	if es, _ := h.app.Access.FaceEnrolments(); len(es) != 0 {
		t.Fatalf("still enrolled: %d", len(es))
	}
}
