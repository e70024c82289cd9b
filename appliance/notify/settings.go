package notify

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
)

// HookKind is the format a webhook speaks.
type HookKind string

// Webhook formats.
const (
	Generic  HookKind = "generic"  // JSON of the message, signed with HMAC-SHA256 when a secret is set
	WeCom    HookKind = "wecom"    // 企业微信 group robot
	DingTalk HookKind = "dingtalk" // 钉钉 group robot, optionally signed
	Feishu   HookKind = "feishu"   // 飞书 group robot, optionally signed
)

// HookKinds lists the formats in display order.
var HookKinds = []HookKind{Generic, WeCom, DingTalk, Feishu}

func validHookKind(k HookKind) bool { return slices.Contains(HookKinds, k) }

// Limits on settings.
const (
	MaxWebhooks = 20
	maxHookName = 32
	maxURL      = 1000
	maxSecret   = 200
)

// SMTP is the mail server email goes out through. Port 465 means TLS from
// the first byte; any other port uses STARTTLS whenever the server offers
// it. AUTH PLAIN is used when Username is set, and only over TLS (or to
// the same machine).
type SMTP struct {
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"` // sealed in the store
	From     string `json:"from,omitempty"`     // address
	FromName string `json:"from_name,omitempty"`

	// ClearPassword removes the stored password when saving; a blank
	// Password otherwise keeps it, so the page never has to show it.
	ClearPassword bool `json:"-"`
}

// Enabled reports whether email can be sent.
func (s SMTP) Enabled() bool { return s.Host != "" && s.From != "" }

// Hook is one webhook: a group robot or an integration's endpoint.
type Hook struct {
	Name   string   `json:"name"`
	Kind   HookKind `json:"kind"`
	URL    string   `json:"url"`              // sealed in the store: robot URLs carry their access token
	Secret string   `json:"secret,omitempty"` // sealed in the store
	Kinds  []string `json:"kinds,omitempty"`  // message kinds it receives; none: all

	// Was is the hook's name before this edit; a blank Secret keeps the
	// secret of the hook of that name unless ClearSecret.
	Was         string `json:"-"`
	ClearSecret bool   `json:"-"`
}

// Wants reports whether the hook receives messages of kind.
func (h Hook) Wants(kind string) bool { return len(h.Kinds) == 0 || slices.Contains(h.Kinds, kind) }

// Settings are the notification settings administrators edit.
type Settings struct {
	// BaseURL is this appliance's address as its users reach it
	// ("https://lobby.example.com"), to make links absolute in email
	// and robot messages.
	BaseURL  string `json:"base_url,omitempty"`
	SMTP     SMTP   `json:"smtp"`
	Webhooks []Hook `json:"webhooks,omitempty"`
}

// Hook returns the webhook called name.
func (s Settings) Hook(name string) (Hook, bool) {
	for _, h := range s.Webhooks {
		if h.Name == name {
			return h, true
		}
	}
	return Hook{}, false
}

// Absolute makes a link absolute against BaseURL; a path stays a path
// when no BaseURL is set.
func (s Settings) Absolute(link string) string {
	if link == "" || s.BaseURL == "" || !strings.HasPrefix(link, "/") || strings.HasPrefix(link, "//") {
		return link
	}
	return s.BaseURL + link
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

// HookField names the form field of webhook i.
func HookField(name string, i int) string { return "wh_" + name + "_" + strconv.Itoa(i) }

// Check validates and cleans the settings in place, naming the form
// fields at fault: base_url, smtp_host, smtp_port, smtp_username,
// smtp_password, smtp_from, smtp_from_name, and per webhook i
// HookField("name"|"kind"|"url"|"secret"|"kinds", i).
func (s *Settings) Check() field.Errors {
	var es field.Errors
	s.BaseURL = strings.TrimRight(strings.TrimSpace(s.BaseURL), "/")
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || !webURL(u) || u.RawQuery != "" || u.Fragment != "" {
			es.Add("base_url", "invalid_url")
		}
	}
	m := &s.SMTP
	m.Host = strings.TrimSpace(m.Host)
	m.Username = es.Text("smtp_username", m.Username, false, 128)
	m.FromName = es.Text("smtp_from_name", m.FromName, false, 64)
	if len(m.Password) > 256 || strings.ContainsFunc(m.Password, func(r rune) bool { return r < 0x20 || r == 0x7F }) {
		es.Add("smtp_password", "bad_characters")
	}
	m.From = strings.TrimSpace(m.From)
	switch {
	case m.Host == "":
	case len(m.Host) > 253 || (net.ParseIP(m.Host) == nil && !hostRE.MatchString(m.Host)):
		es.Add("smtp_host", "invalid")
	}
	if m.Host != "" {
		switch {
		case m.Port == 0:
			es.Add("smtp_port", "required")
		case m.Port < 1 || m.Port > 65535:
			es.Add("smtp_port", "out_of_range")
		}
		if m.From == "" {
			es.Add("smtp_from", "required")
		}
	}
	if m.From != "" && !PlainAddress(m.From) {
		es.Add("smtp_from", "invalid_email")
	}
	if len(s.Webhooks) > MaxWebhooks {
		es.AddArg("webhooks", "too_many_rows", strconv.Itoa(MaxWebhooks))
	}
	names := map[string]bool{}
	for i := range s.Webhooks {
		h := &s.Webhooks[i]
		h.Name = es.Text(HookField("name", i), h.Name, true, maxHookName)
		if h.Name != "" && names[h.Name] {
			es.Add(HookField("name", i), "duplicate")
		}
		names[h.Name] = true
		if !validHookKind(h.Kind) {
			es.Add(HookField("kind", i), "invalid")
		}
		h.URL = strings.TrimSpace(h.URL)
		switch u, err := url.Parse(h.URL); {
		case h.URL == "":
			es.Add(HookField("url", i), "required")
		case len(h.URL) > maxURL:
			es.AddArg(HookField("url", i), "too_long", strconv.Itoa(maxURL))
		case err != nil || !webURL(u):
			es.Add(HookField("url", i), "invalid_url")
		}
		if len(h.Secret) > maxSecret || strings.ContainsFunc(h.Secret, func(r rune) bool { return r < 0x20 || r == 0x7F }) {
			es.Add(HookField("secret", i), "bad_characters")
		}
		for _, k := range h.Kinds {
			if !slices.Contains(Kinds, k) {
				es.Add(HookField("kinds", i), "invalid")
				break
			}
		}
	}
	return es
}

func webURL(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

// PlainAddress accepts a bare ASCII address ("desk@example.com").
func PlainAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	for _, r := range s {
		if r > 0x7E || r <= 0x20 {
			return false
		}
	}
	return true
}

// seal returns s with password, webhook URLs and secrets sealed.
func (s Settings) seal(k *secret.Keys) (Settings, error) {
	return s.transform(k.Seal)
}

// open is the inverse of seal.
func (s Settings) open(k *secret.Keys) (Settings, error) {
	return s.transform(k.Open)
}

func (s Settings) transform(f func(string) (string, error)) (Settings, error) {
	var err error
	out := s
	if out.SMTP.Password, err = f(s.SMTP.Password); err != nil {
		return Settings{}, fmt.Errorf("notify: smtp password: %w", err)
	}
	out.Webhooks = make([]Hook, len(s.Webhooks))
	for i, h := range s.Webhooks {
		if h.URL, err = f(h.URL); err != nil {
			return Settings{}, fmt.Errorf("notify: webhook %d url: %w", i, err)
		}
		if h.Secret, err = f(h.Secret); err != nil {
			return Settings{}, fmt.Errorf("notify: webhook %d secret: %w", i, err)
		}
		h.Kinds = slices.Clone(h.Kinds)
		out.Webhooks[i] = h
	}
	return out, nil
}
