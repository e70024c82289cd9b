// Package sim is a face-recognition terminal that speaks ISAPI over HTTP,
// for tests, benchmarks and the demo: it answers digest-authenticated
// requests, keeps persons and their face pictures, pushes access events to
// the host configured through httpHosts, and counts door openings asked by
// RemoteControl. Recognise stands in for a face in front of the camera.
//
// Mount Handler on an httptest.Server (or any listener); the simulator
// owns no goroutine. Its pushes are made on the caller's goroutine.
package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"sort"
	"strings"
	"sync"
	"time"

	"gatehouse/drivers/isapi"
)

// Config configures a Terminal.
type Config struct {
	User, Password string // the account the appliance logs in with
	Realm          string // default "DS-K1T671M"
	// Location is the terminal's zone, in which Valid times are read.
	Location *time.Location
	// Now is the terminal's clock (default time.Now).
	Now func() time.Time
	// SelfOpen makes the terminal open the door by itself when it
	// recognises a person valid now ("terminal decides" sites).
	SelfOpen bool
	// HTTP pushes the events (default: a client with a 5 s timeout).
	HTTP *http.Client
}

// Person is a person on file.
type Person struct {
	User isapi.UserInfo
	Face []byte // JPEG, nil when none was uploaded
}

// Terminal is one simulated terminal.
type Terminal struct {
	cfg Config

	mu      sync.Mutex
	nonce   string
	persons map[string]*Person
	host    *isapi.HTTPHost
	opens   []int // door numbers, in order
	serial  int64
	wake    chan struct{}
	// Requests counts requests by path, authorised ones only.
	requests map[string]int
}

// New makes a terminal.
func New(cfg Config) *Terminal {
	if cfg.Realm == "" {
		cfg.Realm = "DS-K1T671M"
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: 5 * time.Second}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return &Terminal{cfg: cfg, nonce: hex.EncodeToString(b[:]), persons: map[string]*Person{}, wake: make(chan struct{}), requests: map[string]int{}}
}

func (t *Terminal) signal() {
	close(t.wake)
	t.wake = make(chan struct{})
}

// Persons returns a copy of the persons on file, by employeeNo.
func (t *Terminal) Persons() map[string]Person {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := make(map[string]Person, len(t.persons))
	for k, p := range t.persons {
		m[k] = *p
	}
	return m
}

// Opens returns the doors opened so far, in order.
func (t *Terminal) Opens() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]int(nil), t.opens...)
}

// WaitOpens waits until at least n doors have been opened, or ctx ends.
func (t *Terminal) WaitOpens(ctx context.Context, n int) error {
	for {
		t.mu.Lock()
		got, wake := len(t.opens), t.wake
		t.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitPerson waits until person no is on file with a face (want true) or
// gone (want false).
func (t *Terminal) WaitPerson(ctx context.Context, no string, want bool) error {
	for {
		t.mu.Lock()
		p := t.persons[no]
		has := p != nil && p.Face != nil
		wake := t.wake
		t.mu.Unlock()
		if has == want {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Host is where the terminal pushes its events, nil before httpHosts.
func (t *Terminal) Host() *isapi.HTTPHost {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.host == nil {
		return nil
	}
	h := *t.host
	return &h
}

// Requests is how many authorised requests reached path.
func (t *Terminal) Requests(path string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.requests[path]
}

// ErrNoHost: Recognise before any httpHosts configuration.
var ErrNoHost = errors.New("sim: no http host configured")

// Recognise pushes the event a terminal sends when it matches a face to
// person no (major 5, sub 75), whether or not no is on file — as if the
// face matched a person the appliance no longer knows. With SelfOpen, a
// person on file and valid now also opens the door. It returns the
// appliance's HTTP status.
func (t *Terminal) Recognise(ctx context.Context, no string) (int, error) {
	if t.cfg.SelfOpen {
		t.mu.Lock()
		if p := t.persons[no]; p != nil && t.valid(p.User) {
			t.opens = append(t.opens, 1)
			t.signal()
		}
		t.mu.Unlock()
	}
	return t.push(ctx, isapi.SubFacePass, no)
}

// Stranger pushes "face authentication failed" (sub 76, no person).
func (t *Terminal) Stranger(ctx context.Context) (int, error) {
	return t.push(ctx, isapi.SubFaceFail, "")
}

func (t *Terminal) valid(u isapi.UserInfo) bool {
	if !u.Valid.Enable {
		return false
	}
	now := t.cfg.Now().In(t.cfg.Location)
	b, err1 := time.ParseInLocation(isapi.TimeLayout, u.Valid.BeginTime, t.cfg.Location)
	e, err2 := time.ParseInLocation(isapi.TimeLayout, u.Valid.EndTime, t.cfg.Location)
	return err1 == nil && err2 == nil && !now.Before(b) && now.Before(e)
}

// Alert builds the event pushed for sub/no (exported for tests and fuzz
// seeds).
func (t *Terminal) Alert(sub int, no string, serial int64) isapi.Alert {
	return isapi.Alert{IPAddress: "192.0.2.20", PortNo: 80, Protocol: "HTTP", MACAddress: "00:00:5e:00:53:20", ChannelID: 1,
		DateTime: t.cfg.Now().In(t.cfg.Location).Format(time.RFC3339), ActivePosts: 1, EventType: "AccessControllerEvent",
		EventState: "active", Description: "Access Controller Event",
		Access: &isapi.AccessControllerEvent{DeviceName: "Access Controller", MajorEventType: isapi.MajorEvent, SubEventType: sub,
			CardReaderNo: 1, DoorNo: 1, EmployeeNoString: no, SerialNo: serial, UserType: "normal", CurrentVerifyMode: "face"}}
}

// EventBody is the multipart body a terminal pushes: the event_log JSON
// and a (fake) captured picture.
func EventBody(a isapi.Alert) (contentType string, body []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="event_log"`)
	h.Set("Content-Type", "application/json")
	p, _ := w.CreatePart(h)
	js, _ := json.Marshal(a)
	p.Write(js)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="Picture"; filename="Picture.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	p, _ = w.CreatePart(h)
	p.Write([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

func (t *Terminal) push(ctx context.Context, sub int, no string) (int, error) {
	t.mu.Lock()
	h := t.host
	t.serial++
	serial := t.serial
	t.mu.Unlock()
	if h == nil {
		return 0, ErrNoHost
	}
	scheme, host := "http", h.IPAddress
	if h.ProtocolType == "HTTPS" {
		scheme = "https"
	}
	if h.AddressingFormatType == "hostname" {
		host = h.HostName
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	ct, body := EventBody(t.Alert(sub, no, serial))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s://%s:%d%s", scheme, host, h.PortNo, h.URL), bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", ct)
	resp, err := t.cfg.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Handler serves the terminal's ISAPI.
func (t *Terminal) Handler() http.Handler { return http.HandlerFunc(t.serve) }

func (t *Terminal) authorised(r *http.Request) bool {
	c, ok := isapi.ParseAuthorization(r.Header.Get("Authorization"))
	if !ok || c.Username != t.cfg.User || c.Nonce != t.nonce || c.URI != r.URL.RequestURI() {
		return false
	}
	ch := isapi.Challenge{Realm: t.cfg.Realm, Nonce: t.nonce, QOP: c.QOP, Algorithm: c.Algorithm}
	return isapi.Response(ch, t.cfg.User, t.cfg.Password, r.Method, c.URI, c.NC, c.CNonce) == c.Response
}

func status(w http.ResponseWriter, code int, sc int, sub string, asJSON bool) {
	st := isapi.ResponseStatus{StatusCode: sc, StatusString: map[bool]string{true: "OK", false: "Invalid Operation"}[sc == 1], SubStatusCode: sub}
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(st)
		return
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(code)
	b, _ := xml.Marshal(st)
	w.Write(append([]byte(xml.Header), b...))
}

func (t *Terminal) serve(w http.ResponseWriter, r *http.Request) {
	if !t.authorised(r) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Digest qop="auth", realm=%q, nonce=%q, stale="FALSE"`, t.cfg.Realm, t.nonce))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		status(w, http.StatusBadRequest, 6, "badXmlContent", false)
		return
	}
	t.mu.Lock()
	t.requests[r.URL.Path]++
	t.mu.Unlock()
	jsonOK := func() { status(w, http.StatusOK, 1, isapi.SubOK, true) }
	bad := func(sub string) { status(w, http.StatusBadRequest, 6, sub, true) }
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/ISAPI/System/deviceInfo":
		w.Header().Set("Content-Type", "application/xml")
		b, _ := xml.Marshal(isapi.DeviceInfo{DeviceName: "Lobby face terminal", DeviceID: "sim", Model: "DS-K1T671M (simulated)",
			SerialNumber: "SIM0001", MACAddress: "00:00:5e:00:53:20", FirmwareVersion: "V3.2.30", DeviceType: "ACS"})
		w.Write(append([]byte(xml.Header), b...))
	case r.Method == http.MethodPost && r.URL.Path == "/ISAPI/AccessControl/UserInfo/Record",
		r.Method == http.MethodPut && r.URL.Path == "/ISAPI/AccessControl/UserInfo/Modify":
		var u struct{ UserInfo isapi.UserInfo }
		if json.Unmarshal(body, &u) != nil || u.UserInfo.EmployeeNo == "" {
			bad("badJsonContent")
			return
		}
		t.mu.Lock()
		p, exists := t.persons[u.UserInfo.EmployeeNo]
		switch {
		case r.Method == http.MethodPost && exists:
			t.mu.Unlock()
			bad(isapi.SubEmployeeExists)
			return
		case r.Method == http.MethodPut && !exists:
			t.mu.Unlock()
			bad(isapi.SubNoSuchEmployee)
			return
		case exists:
			p.User = u.UserInfo
		default:
			t.persons[u.UserInfo.EmployeeNo] = &Person{User: u.UserInfo}
		}
		t.signal()
		t.mu.Unlock()
		jsonOK()
	case r.Method == http.MethodPost && r.URL.Path == "/ISAPI/AccessControl/UserInfo/Search":
		t.search(w, body)
	case r.Method == http.MethodPut && r.URL.Path == "/ISAPI/AccessControl/UserInfo/Delete":
		var d struct {
			UserInfoDelCond struct{ EmployeeNoList []struct{ EmployeeNo string } }
		}
		if json.Unmarshal(body, &d) != nil {
			bad("badJsonContent")
			return
		}
		t.mu.Lock()
		for _, e := range d.UserInfoDelCond.EmployeeNoList {
			delete(t.persons, e.EmployeeNo)
		}
		t.signal()
		t.mu.Unlock()
		jsonOK()
	case r.Method == http.MethodPost && r.URL.Path == "/ISAPI/Intelligent/FDLib/FaceDataRecord":
		t.faceRecord(w, r, body)
	case r.Method == http.MethodPut && r.URL.Path == "/ISAPI/Event/notification/httpHosts":
		var l isapi.HTTPHostList
		if xml.Unmarshal(body, &l) != nil || len(l.Hosts) == 0 {
			status(w, http.StatusBadRequest, 6, "badXmlContent", false)
			return
		}
		t.mu.Lock()
		h := l.Hosts[0]
		t.host = &h
		t.mu.Unlock()
		status(w, http.StatusOK, 1, isapi.SubOK, false)
	case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/ISAPI/AccessControl/RemoteControl/door/"):
		var n int
		var c isapi.RemoteControlDoor
		if _, err := fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/ISAPI/AccessControl/RemoteControl/door/"), "%d", &n); err != nil || n < 1 ||
			xml.Unmarshal(body, &c) != nil || c.Cmd == "" {
			status(w, http.StatusBadRequest, 6, "badXmlContent", false)
			return
		}
		if c.Cmd == "open" {
			t.mu.Lock()
			t.opens = append(t.opens, n)
			t.signal()
			t.mu.Unlock()
		}
		status(w, http.StatusOK, 1, isapi.SubOK, false)
	default:
		status(w, http.StatusNotFound, 4, "notSupport", false)
	}
}

// Add puts a person on file directly, as if left there before (by an
// earlier appliance, or by hand on the terminal's own screen).
func (t *Terminal) Add(p Person) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.persons[p.User.EmployeeNo] = &p
	t.signal()
}

// searchPageMax is the most persons the terminal returns per search page.
const searchPageMax = 30

// search answers UserInfo/Search: the persons in employeeNo order, a page
// from searchResultPosition, "MORE" while more remain.
func (t *Terminal) search(w http.ResponseWriter, body []byte) {
	var c isapi.UserSearchCond
	q := &c.UserInfoSearchCond
	if json.Unmarshal(body, &c) != nil || q.SearchID == "" || q.SearchResultPosition < 0 || q.MaxResults < 1 {
		status(w, http.StatusBadRequest, 6, "badJsonContent", true)
		return
	}
	t.mu.Lock()
	nos := make([]string, 0, len(t.persons))
	for no := range t.persons {
		nos = append(nos, no)
	}
	sort.Strings(nos)
	res := isapi.UserSearch{SearchID: q.SearchID, TotalMatches: len(nos), UserInfo: []isapi.UserInfo{}}
	for i := q.SearchResultPosition; i < len(nos) && len(res.UserInfo) < min(q.MaxResults, searchPageMax); i++ {
		res.UserInfo = append(res.UserInfo, t.persons[nos[i]].User)
	}
	t.mu.Unlock()
	res.NumOfMatches = len(res.UserInfo)
	switch {
	case len(res.UserInfo) == 0:
		res.ResponseStatusStrg = "NO MATCH"
	case q.SearchResultPosition+len(res.UserInfo) < len(nos):
		res.ResponseStatusStrg = "MORE"
	default:
		res.ResponseStatusStrg = "OK"
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		UserInfoSearch isapi.UserSearch
	}{res})
}

func (t *Terminal) faceRecord(w http.ResponseWriter, r *http.Request, body []byte) {
	bad := func(sub string) { status(w, http.StatusBadRequest, 6, sub, true) }
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		bad("badParameters")
		return
	}
	rd := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var meta isapi.FaceDataRecord
	var img []byte
	for {
		p, err := rd.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(io.LimitReader(p, 1<<20))
		switch p.FormName() {
		case "FaceDataRecord":
			if json.Unmarshal(b, &meta) != nil {
				bad("badJsonContent")
				return
			}
		default:
			img = b
		}
	}
	if meta.FPID == "" || meta.FDID != "1" || meta.FaceLibType != "blackFD" || len(img) < 2 || img[0] != 0xFF || img[1] != 0xD8 {
		bad("badParameters")
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.persons[meta.FPID]
	if p == nil {
		bad(isapi.SubNoSuchEmployee)
		return
	}
	if p.Face != nil {
		bad("faceExist") // firmware refuses a second face in the same library slot
		return
	}
	p.Face = img
	t.signal()
	status(w, http.StatusOK, 1, isapi.SubOK, true)
}
