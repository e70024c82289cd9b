package notify

import (
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
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
)

// endpoint records the requests it gets and answers with reply.
type endpoint struct {
	status int
	reply  string

	mu   sync.Mutex
	reqs []seen
}

type seen struct {
	path, rawQuery string
	query          url.Values
	header         http.Header
	body           []byte
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	e.mu.Lock()
	e.reqs = append(e.reqs, seen{path: r.URL.Path, rawQuery: r.URL.RawQuery, query: r.URL.Query(), header: r.Header.Clone(), body: b})
	e.mu.Unlock()
	if e.status == http.StatusFound {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	io.WriteString(w, e.reply)
}

func hmacSHA256(key, msg string) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func TestWebhookFormats(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	created := now.Add(-time.Minute)
	m := Message{ID: "0123456789abcdef", Channel: Webhook, Kind: KindVisitArrived, Subject: "访客已到达",
		Body: "张伟 → 3F 示例科技", Link: "/host/visits", Created: created}
	text := "访客已到达\n张伟 → 3F 示例科技\nhttps://lobby.example.com/host/visits"
	robotOK := `{"errcode":0,"errmsg":"ok"}`
	tests := []struct {
		name   string
		hook   Hook
		path   string // appended to the server's URL
		reply  string
		status int
		check  func(t *testing.T, r seen)
		fail   string // expected failure reason
	}{
		{name: "generic, signed", hook: Hook{Kind: Generic, Secret: "s3cret"}, path: "/hooks/gatehouse", reply: "", status: 204,
			check: func(t *testing.T, r seen) {
				want := "sha256=" + hex.EncodeToString(hmacSHA256("s3cret", string(r.body)))
				if got := r.header.Get("X-Gatehouse-Signature"); got != want {
					t.Errorf("signature %q, want %q", got, want)
				}
				if r.header.Get("X-Gatehouse-Event") != KindVisitArrived || r.header.Get("X-Gatehouse-Delivery") != m.ID {
					t.Errorf("headers %v", r.header)
				}
				var p map[string]any
				if err := json.Unmarshal(r.body, &p); err != nil {
					t.Fatal(err)
				}
				want2 := map[string]any{"id": m.ID, "kind": KindVisitArrived, "subject": m.Subject, "body": m.Body,
					"link": "https://lobby.example.com/host/visits", "created": "2026-11-23T09:29:00Z", "sent": "2026-11-23T09:30:00Z"}
				for k, v := range want2 {
					if p[k] != v {
						t.Errorf("%s = %v, want %v", k, p[k], v)
					}
				}
			}},
		{name: "generic, unsigned", hook: Hook{Kind: Generic}, status: 200,
			check: func(t *testing.T, r seen) {
				if _, ok := r.header["X-Gatehouse-Signature"]; ok {
					t.Error("signature header without a secret")
				}
			}},
		{name: "wecom", hook: Hook{Kind: WeCom}, path: "/cgi-bin/webhook/send?key=wecom-key", reply: robotOK, status: 200,
			check: func(t *testing.T, r seen) {
				if r.query.Get("key") != "wecom-key" {
					t.Errorf("query %q", r.rawQuery)
				}
				var p struct {
					MsgType string `json:"msgtype"`
					Text    struct {
						Content string `json:"content"`
					} `json:"text"`
				}
				if err := json.Unmarshal(r.body, &p); err != nil || p.MsgType != "text" || p.Text.Content != text {
					t.Errorf("body %s", r.body)
				}
			}},
		{name: "dingtalk, signed", hook: Hook{Kind: DingTalk, Secret: "SECabc+/="}, path: "/robot/send?access_token=ding-token", reply: robotOK, status: 200,
			check: func(t *testing.T, r seen) {
				ts := fmt.Sprint(now.UnixMilli())
				sign := base64.StdEncoding.EncodeToString(hmacSHA256("SECabc+/=", ts+"\n"+"SECabc+/="))
				if r.query.Get("access_token") != "ding-token" || r.query.Get("timestamp") != ts || r.query.Get("sign") != sign {
					t.Errorf("query %q, want timestamp %s sign %s", r.rawQuery, ts, sign)
				}
				if !strings.Contains(r.rawQuery, "sign="+url.QueryEscape(sign)) {
					t.Errorf("sign not URL-encoded in %q", r.rawQuery)
				}
				var p robotText
				if err := json.Unmarshal(r.body, &p); err != nil || p.MsgType != "text" || p.Text.Content != text {
					t.Errorf("body %s", r.body)
				}
			}},
		{name: "dingtalk, unsigned", hook: Hook{Kind: DingTalk}, path: "/robot/send?access_token=t", reply: robotOK, status: 200,
			check: func(t *testing.T, r seen) {
				if r.query.Has("sign") || r.query.Has("timestamp") {
					t.Errorf("query %q", r.rawQuery)
				}
			}},
		{name: "feishu, signed", hook: Hook{Kind: Feishu, Secret: "fs-secret"}, path: "/open-apis/bot/v2/hook/abc", reply: `{"code":0,"msg":"success","data":{}}`, status: 200,
			check: func(t *testing.T, r seen) {
				var p struct {
					Timestamp string `json:"timestamp"`
					Sign      string `json:"sign"`
					MsgType   string `json:"msg_type"`
					Content   struct {
						Text string `json:"text"`
					} `json:"content"`
				}
				if err := json.Unmarshal(r.body, &p); err != nil {
					t.Fatal(err)
				}
				ts := fmt.Sprint(now.Unix())
				sign := base64.StdEncoding.EncodeToString(hmacSHA256(ts+"\n"+"fs-secret", ""))
				if p.Timestamp != ts || p.Sign != sign || p.MsgType != "text" || p.Content.Text != text {
					t.Errorf("body %s, want timestamp %s sign %s", r.body, ts, sign)
				}
			}},
		{name: "feishu, unsigned", hook: Hook{Kind: Feishu}, reply: `{"StatusCode":0,"StatusMessage":"success"}`, status: 200,
			check: func(t *testing.T, r seen) {
				if strings.Contains(string(r.body), "sign") {
					t.Errorf("body %s", r.body)
				}
			}},
		{name: "wecom refuses", hook: Hook{Kind: WeCom}, path: "/send?key=k", reply: `{"errcode":93000,"errmsg":"invalid webhook url"}`, status: 200, fail: "wecom: error code 93000"},
		{name: "dingtalk refuses the signature", hook: Hook{Kind: DingTalk, Secret: "x"}, reply: `{"errcode":310000,"errmsg":"sign not match"}`, status: 200, fail: "dingtalk: error code 310000"},
		{name: "feishu refuses", hook: Hook{Kind: Feishu}, reply: `{"code":19021,"msg":"sign match fail"}`, status: 200, fail: "feishu: error code 19021"},
		{name: "robot answers garbage", hook: Hook{Kind: WeCom}, reply: `<html>`, status: 200, fail: "wecom: unreadable answer"},
		{name: "server error", hook: Hook{Kind: Generic}, status: 503, fail: "webhook: HTTP 503"},
		{name: "redirect not followed", hook: Hook{Kind: Generic}, status: http.StatusFound, fail: "webhook: HTTP 302"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ep := &endpoint{status: tc.status, reply: tc.reply}
			ts := httptest.NewServer(ep)
			defer ts.Close()
			h := tc.hook
			h.URL = ts.URL + tc.path
			ch := &HookChannel{Hook: h, BaseURL: "https://lobby.example.com", Clock: clock.NewFake(now)}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := ch.Send(ctx, m)
			if tc.fail != "" {
				var se *SendError
				if !errors.As(err, &se) || se.Reason != tc.fail {
					t.Fatalf("err = %v, want %q", err, tc.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(ep.reqs) != 1 {
				t.Fatalf("%d requests", len(ep.reqs))
			}
			r := ep.reqs[0]
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			tc.check(t, r)
		})
	}
}

func TestWebhookFailureHidesTheURL(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	u := ts.URL + "/cgi-bin/webhook/send?key=very-secret-key"
	ts.Close() // nothing listens any more
	ch := &HookChannel{Hook: Hook{Kind: WeCom, URL: u}}
	err := ch.Send(context.Background(), Message{ID: "0123456789abcdef", Subject: "x"})
	var se *SendError
	if !errors.As(err, &se) || se.Reason != "webhook: connection refused" {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "very-secret-key") {
		t.Errorf("reason shows the URL: %v", err)
	}
}
