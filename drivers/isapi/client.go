package isapi

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// MaxReply bounds what the driver reads of a terminal's answer.
const MaxReply = 1 << 20

// Client talks to one terminal.
type Client struct {
	base *url.URL
	http *http.Client
}

// New is a client for the terminal at base ("http://10.0.0.20" or with a
// port) with the account user/password. timeout bounds each request (0:
// 5 s).
func New(base string, user, password string, timeout time.Duration) (*Client, error) {
	u, err := ParseAddress(base)
	if err != nil {
		return nil, err
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Client{base: u, http: &http.Client{Timeout: timeout, Transport: &Digest{User: user, Password: password}}}, nil
}

// ParseAddress checks a terminal's address: http or https, a host, no
// path, query or credentials.
func ParseAddress(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("isapi: address %q: want http(s)://host[:port]", s)
	}
	u.Path = ""
	return u, nil
}

func (c *Client) do(ctx context.Context, method, path, ct string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	if body == nil {
		req.Body, req.GetBody, req.ContentLength = nil, nil, 0
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxReply))
	return b, resp.StatusCode, err
}

// change sends a request that answers with a ResponseStatus.
func (c *Client) change(ctx context.Context, method, path, ct string, body []byte) error {
	b, code, err := c.do(ctx, method, path, ct, body)
	if err != nil {
		return err
	}
	st, perr := decodeStatus(ct, b)
	if code/100 == 2 && (perr != nil && len(bytes.TrimSpace(b)) == 0 || perr == nil && st.StatusCode == 1) {
		return nil
	}
	if perr != nil {
		return fmt.Errorf("isapi: %s %s: HTTP %d, reply not understood", method, strings.Split(path, "?")[0], code)
	}
	return &StatusError{HTTP: code, Status: st}
}

// IsSub reports whether err is a StatusError with the sub-status sub.
func IsSub(err error, sub string) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status.SubStatusCode == sub
}

// DeviceInfo asks the terminal who it is.
func (c *Client) DeviceInfo(ctx context.Context) (DeviceInfo, error) {
	b, code, err := c.do(ctx, http.MethodGet, "/ISAPI/System/deviceInfo", "", nil)
	if err != nil {
		return DeviceInfo{}, err
	}
	if code != http.StatusOK {
		return DeviceInfo{}, fmt.Errorf("isapi: deviceInfo: HTTP %d", code)
	}
	var d DeviceInfo
	if err := xml.Unmarshal(b, &d); err != nil {
		return DeviceInfo{}, fmt.Errorf("isapi: deviceInfo: %w", err)
	}
	return d, nil
}

// SetUser records a person, or modifies the one on file with that number.
func (c *Client) SetUser(ctx context.Context, u UserInfo) error {
	body, _ := json.Marshal(userInfoBody{u})
	err := c.change(ctx, http.MethodPost, "/ISAPI/AccessControl/UserInfo/Record?format=json", "application/json", body)
	if IsSub(err, SubEmployeeExists) {
		err = c.change(ctx, http.MethodPut, "/ISAPI/AccessControl/UserInfo/Modify?format=json", "application/json", body)
	}
	return err
}

// DeleteUsers removes persons (their faces go with them).
func (c *Client) DeleteUsers(ctx context.Context, nos ...string) error {
	var d userDelete
	for _, n := range nos {
		d.UserInfoDelCond.EmployeeNoList = append(d.UserInfoDelCond.EmployeeNoList, employeeNo{n})
	}
	body, _ := json.Marshal(d)
	return c.change(ctx, http.MethodPut, "/ISAPI/AccessControl/UserInfo/Delete?format=json", "application/json", body)
}

// FaceBody builds the multipart body of a face upload for person no.
func FaceBody(no string, jpeg []byte) (contentType string, body []byte) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="FaceDataRecord"`)
	h.Set("Content-Type", "application/json")
	p, _ := w.CreatePart(h)
	meta, _ := json.Marshal(FaceDataRecord{FaceLibType: "blackFD", FDID: "1", FPID: no})
	p.Write(meta)
	h = textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="img"; filename="face.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	p, _ = w.CreatePart(h)
	p.Write(jpeg)
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

// SetFace uploads person no's face picture (a JPEG) into face library 1.
func (c *Client) SetFace(ctx context.Context, no string, jpeg []byte) error {
	ct, body := FaceBody(no, jpeg)
	return c.change(ctx, http.MethodPost, "/ISAPI/Intelligent/FDLib/FaceDataRecord?format=json", ct, body)
}

// SetHTTPHost tells the terminal to push its events, as JSON, to target
// (http or https; its path carries the device's secret).
func (c *Client) SetHTTPHost(ctx context.Context, target *url.URL) error {
	h, err := HostFor(target)
	if err != nil {
		return err
	}
	body, _ := xml.Marshal(HTTPHostList{XMLNS: Namespace, Version: "2.0", Hosts: []HTTPHost{h}})
	return c.change(ctx, http.MethodPut, "/ISAPI/Event/notification/httpHosts", "application/xml", append([]byte(xml.Header), body...))
}

// HostFor is the HttpHostNotification that pushes to target.
func HostFor(target *url.URL) (HTTPHost, error) {
	h := HTTPHost{ID: "1", URL: target.EscapedPath(), ParameterFormatType: "JSON", HTTPAuthenticationMethod: "none"}
	switch target.Scheme {
	case "http":
		h.ProtocolType, h.PortNo = "HTTP", 80
	case "https":
		h.ProtocolType, h.PortNo = "HTTPS", 443
	default:
		return h, fmt.Errorf("isapi: event target scheme %q", target.Scheme)
	}
	if p := target.Port(); p != "" {
		fmt.Sscan(p, &h.PortNo)
	}
	host := target.Hostname()
	if isIP(host) {
		h.AddressingFormatType, h.IPAddress = "ipaddress", host
	} else {
		h.AddressingFormatType, h.HostName = "hostname", host
	}
	return h, nil
}

// OpenDoor opens door n once (the terminal's own relay).
func (c *Client) OpenDoor(ctx context.Context, n int) error {
	body, _ := xml.Marshal(RemoteControlDoor{XMLNS: Namespace, Version: "2.0", Cmd: "open"})
	return c.change(ctx, http.MethodPut, fmt.Sprintf("/ISAPI/AccessControl/RemoteControl/door/%d", n), "application/xml", append([]byte(xml.Header), body...))
}

// searchPage is how many persons one search request asks for (terminals
// answer up to 30 per page, whatever is asked).
const searchPage = 30

// maxSearched bounds the persons a search reads: the largest terminals
// hold 50,000 faces.
const maxSearched = 100000

// Users lists the numbers of every person on the terminal, page by page
// (UserInfo/Search). The caller compares them with who should be there.
func (c *Client) Users(ctx context.Context) ([]string, error) {
	var nos []string
	var cond UserSearchCond
	cond.UserInfoSearchCond.SearchID = fmt.Sprintf("gatehouse-%d", time.Now().UnixNano())
	cond.UserInfoSearchCond.MaxResults = searchPage
	for {
		cond.UserInfoSearchCond.SearchResultPosition = len(nos)
		body, _ := json.Marshal(cond)
		b, code, err := c.do(ctx, http.MethodPost, "/ISAPI/AccessControl/UserInfo/Search?format=json", "application/json", body)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			if st, perr := decodeStatus("", b); perr == nil {
				return nil, &StatusError{HTTP: code, Status: st}
			}
			return nil, fmt.Errorf("isapi: user search: HTTP %d", code)
		}
		page, err := ParseUserSearch(b)
		if err != nil {
			return nil, err
		}
		for _, u := range page.UserInfo {
			nos = append(nos, u.EmployeeNo)
		}
		switch {
		case page.ResponseStatusStrg != "MORE":
			return nos, nil
		case len(page.UserInfo) == 0:
			return nil, fmt.Errorf("isapi: user search: an empty page that says there is more")
		case len(nos) > maxSearched:
			return nil, fmt.Errorf("isapi: user search: more than %d persons", maxSearched)
		}
	}
}
