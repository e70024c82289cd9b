package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"gatehouse/appliance/clock"
)

// Headers of a generic webhook request.
const (
	// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
	// under the webhook's secret, when it has one.
	SignatureHeader = "X-Gatehouse-Signature"
	EventHeader     = "X-Gatehouse-Event"    // the message kind
	DeliveryHeader  = "X-Gatehouse-Delivery" // the message ID, the same on every attempt
	// IdempotencyHeader goes on every webhook request, robots included:
	// the message ID as a quoted string (the IETF httpapi draft), the same
	// on every attempt, so a receiver can drop the repeat that a crash
	// between sending and recording can still cause.
	IdempotencyHeader = "Idempotency-Key"
)

// HookChannel posts messages to one webhook in its format.
type HookChannel struct {
	Hook    Hook
	BaseURL string       // makes links absolute
	Client  *http.Client // nil: NewHTTPClient()
	Clock   clock.Clock  // timestamps of signed robots
}

// NewHTTPClient is the client webhooks use by default: it does not follow
// redirects, so a message (and its signature) only ever goes to the
// address the administrator entered.
func NewHTTPClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// GenericPayload is the JSON body of a generic webhook.
type GenericPayload struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"`
	Subject string    `json:"subject"`
	Body    string    `json:"body,omitempty"`
	Link    string    `json:"link,omitempty"`
	Created time.Time `json:"created"`
	Sent    time.Time `json:"sent"` // this attempt; receivers may refuse old ones
}

type robotText struct {
	MsgType string `json:"msgtype"`
	Text    struct {
		Content string `json:"content"`
	} `json:"text"`
}

type feishuText struct {
	Timestamp string `json:"timestamp,omitempty"`
	Sign      string `json:"sign,omitempty"`
	MsgType   string `json:"msg_type"`
	Content   struct {
		Text string `json:"text"`
	} `json:"content"`
}

// robotReply is what the robots answer: WeCom and DingTalk errcode,
// Feishu code (StatusCode on its older endpoint). Zero is success.
type robotReply struct {
	ErrCode    *int `json:"errcode"`
	Code       *int `json:"code"`
	StatusCode *int `json:"StatusCode"`
}

// DingTalkSign is DingTalk's robot signature: the base64 HMAC-SHA256,
// keyed with the secret, of the millisecond timestamp, a newline and the
// secret. It goes URL-encoded in the query with the timestamp.
func DingTalkSign(secret string, ms int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ms, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// FeishuSign is Feishu's robot signature: the base64 HMAC-SHA256 of
// nothing, keyed with the second timestamp, a newline and the secret. It
// goes in the body with the timestamp.
func FeishuSign(secret string, sec int64) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(sec, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Sign is the generic webhook's signature header value for body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// text is what a robot shows in the group: subject, body, link.
func (c *HookChannel) text(m Message) string {
	s := m.Subject
	if m.Body != "" {
		s += "\n" + m.Body
	}
	if link := (Settings{BaseURL: c.BaseURL}).Absolute(m.Link); link != "" {
		s += "\n" + link
	}
	return s
}

// request builds the body, target URL and extra headers for m.
func (c *HookChannel) request(m Message, now time.Time) ([]byte, string, http.Header, error) {
	h := c.Hook
	target := h.URL
	hdr := http.Header{}
	hdr.Set(IdempotencyHeader, strconv.Quote(m.ID))
	var v any
	switch h.Kind {
	case Generic:
		v = GenericPayload{ID: m.ID, Kind: m.Kind, Subject: m.Subject, Body: m.Body,
			Link: (Settings{BaseURL: c.BaseURL}).Absolute(m.Link), Created: m.Created.UTC(), Sent: now.UTC()}
		hdr.Set(EventHeader, m.Kind)
		hdr.Set(DeliveryHeader, m.ID)
	case WeCom, DingTalk:
		var r robotText
		r.MsgType, r.Text.Content = "text", c.text(m)
		v = r
		if h.Kind == DingTalk && h.Secret != "" {
			u, err := url.Parse(target)
			if err != nil {
				return nil, "", nil, err
			}
			ms := now.UnixMilli()
			q := u.Query()
			q.Set("timestamp", strconv.FormatInt(ms, 10))
			q.Set("sign", DingTalkSign(h.Secret, ms))
			u.RawQuery = q.Encode()
			target = u.String()
		}
	case Feishu:
		var r feishuText
		r.MsgType, r.Content.Text = "text", c.text(m)
		if h.Secret != "" {
			r.Timestamp = strconv.FormatInt(now.Unix(), 10)
			r.Sign = FeishuSign(h.Secret, now.Unix())
		}
		v = r
	default:
		return nil, "", nil, fmt.Errorf("notify: webhook format %q", h.Kind)
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, "", nil, err
	}
	if h.Kind == Generic && h.Secret != "" {
		hdr.Set(SignatureHeader, Sign(h.Secret, body))
	}
	return body, target, hdr, nil
}

// Send posts m. A robot's answer is read: HTTP 200 with a non-zero error
// code is a failure.
func (c *HookChannel) Send(ctx context.Context, m Message) error {
	now := time.Now()
	if c.Clock != nil {
		now = c.Clock.Now()
	}
	body, target, hdr, err := c.request(m, now)
	if err != nil {
		return &SendError{Reason: "webhook: bad settings", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return &SendError{Reason: "webhook: bad URL", Err: err}
	}
	req.Header = hdr
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Gatehouse")
	client := c.Client
	if client == nil {
		client = NewHTTPClient()
	}
	resp, err := client.Do(req)
	if err != nil {
		// *url.Error repeats the URL, and with it a robot's access token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return netFailure(ctx, "webhook", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return netFailure(ctx, "webhook", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &SendError{Reason: fmt.Sprintf("webhook: HTTP %d", resp.StatusCode)}
	}
	if c.Hook.Kind == Generic {
		return nil
	}
	var r robotReply
	if err := json.Unmarshal(reply, &r); err != nil {
		return &SendError{Reason: fmt.Sprintf("%s: unreadable answer", c.Hook.Kind), Err: err}
	}
	for _, code := range []*int{r.ErrCode, r.Code, r.StatusCode} {
		if code != nil && *code != 0 {
			return &SendError{Reason: fmt.Sprintf("%s: error code %d", c.Hook.Kind, *code)}
		}
	}
	return nil
}
