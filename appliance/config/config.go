// Package config reads the appliance's settings: a TOML file, then
// GATEHOUSE_* environment variables on top, then defaults for what is left.
//
// The site settings (SiteKeys) may also be stored in the store by the
// administrator's settings page (appliance/site), so that the lobbies of a
// site share them. They rank between the defaults and the file:
// default < stored < file < environment. Config.Sources says which keys the
// file or the environment set, so the page can show them as overridden.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"gatehouse/appliance/field"
)

// Config is everything that is not a command-line flag.
type Config struct {
	SiteName       string `toml:"site_name"`
	Address        string `toml:"address"`        // building address, shown to visitors
	MapURL         string `toml:"map_url"`        // a map of the building (web address), linked beside the address
	MapDirections  string `toml:"map_directions"` // how a visitor finds the way in, on passes and invitations
	MapImage       string `toml:"map_image"`      // the site map picture: an ID of the pictures store (notice.ImagePath)
	DeskPhone      string `toml:"desk_phone"`     // the front desk's number, offered to visitors at a dead end
	BaseURL        string `toml:"base_url"`       // the appliance's public address, for links in SMS and email
	Language       string `toml:"language"`       // "zh" or "en": used when the browser states neither
	TimeZone       string `toml:"time_zone"`
	LockoutMinutes int    `toml:"lockout_minutes"` // 0: locked until an administrator unlocks
	SessionIdleMin int    `toml:"session_idle_minutes"`
	SessionMaxHrs  int    `toml:"session_max_hours"`
	DayEnd         string `toml:"day_end"`              // "23:59": open visits close then, still-inside ones as "no exit recorded"
	EscalateMin    int    `toml:"escalate_minutes"`     // unanswered applications remind the host, then (twice as long) the desk
	KeyEscalateMin int    `toml:"key_escalate_minutes"` // a key overdue this long is escalated to the managers
	DeviceAlarmSec int    `toml:"device_alarm_seconds"` // a device offline or failing this long raises the guard station's alarm
	TLSCert        string `toml:"tls_cert"`
	TLSKey         string `toml:"tls_key"`

	// A visitor's pass opens the gates this many minutes before its
	// window and after it (the guard is spared the early arrivals;
	// appliance/access, Facts.Grace).
	VisitorEarlyMin int `toml:"visitor_grace_before_minutes"`
	VisitorLateMin  int `toml:"visitor_grace_after_minutes"`

	// BroadcastsPerMonth caps urgent messages to a whole audience per
	// calendar month (site time); official-account channels allow 4.
	BroadcastsPerMonth int `toml:"broadcasts_per_month"`

	// Retention of visitors' personal data, in days after a visit's
	// window (docs/decisions.md): names, mobiles and ID numbers; photos.
	RetainVisitorDays int `toml:"retain_visitor_days"`
	RetainPhotoDays   int `toml:"retain_photo_days"`
	RetainPersonDays  int `toml:"retain_person_days"` // people deactivated in the directory

	// Sources names, per key, where a value came from when the file or the
	// environment set it: the file's path or the variable's name.
	Sources map[string]string `toml:"-"`

	Location  *time.Location `toml:"-"`
	DayEndDur time.Duration  `toml:"-"` // DayEnd after midnight
	Path      string         `toml:"-"` // the file read, "" when none was (backups carry it)
}

// Retention is the retention of visitors' data the settings ask for.
func (c Config) Retention() (personal, photos time.Duration) {
	return time.Duration(c.RetainVisitorDays) * 24 * time.Hour, time.Duration(c.RetainPhotoDays) * 24 * time.Hour
}

// VisitorGrace is how long before its window, and after it, a visitor's
// pass opens the gates.
func (c Config) VisitorGrace() (early, late time.Duration) {
	return time.Duration(c.VisitorEarlyMin) * time.Minute, time.Duration(c.VisitorLateMin) * time.Minute
}

// PersonRetention is how long the directory keeps the personal data of a
// deactivated person.
func (c Config) PersonRetention() time.Duration {
	return time.Duration(c.RetainPersonDays) * 24 * time.Hour
}

// Defaults.
func Default() Config {
	return Config{
		SiteName:       "Gatehouse",
		Language:       "zh",
		TimeZone:       "Asia/Shanghai",
		LockoutMinutes: 15,
		SessionIdleMin: 30,
		SessionMaxHrs:  12,
		DayEnd:         "23:59",
		EscalateMin:    30,
		KeyEscalateMin: 60,
		DeviceAlarmSec: 60,

		VisitorEarlyMin: 30,
		VisitorLateMin:  0,

		BroadcastsPerMonth: 4,
		RetainVisitorDays:  180,
		RetainPhotoDays:    30,
		RetainPersonDays:   90,
	}
}

// SiteKeys are the settings the administrator's settings page may store,
// in the order the page shows them. The rest (escalation minutes, TLS) stay
// in the file and the environment.
var SiteKeys = []string{
	"site_name", "address", "map_url", "map_directions", "map_image", "desk_phone", "base_url",
	"time_zone", "language", "day_end",
	"lockout_minutes", "session_idle_minutes", "session_max_hours",
	"visitor_grace_before_minutes", "visitor_grace_after_minutes",
	"broadcasts_per_month",
	"retain_visitor_days", "retain_photo_days", "retain_person_days",
}

// mapImageRE is the form of a stored picture's ID (store.NewID).
var mapImageRE = regexp.MustCompile(`^[0-9a-z]{8,32}$`)

var otherKeys = []string{"escalate_minutes", "key_escalate_minutes", "device_alarm_seconds", "tls_cert", "tls_key"}

func known(key string) bool { return slices.Contains(SiteKeys, key) || slices.Contains(otherKeys, key) }

// Load reads path (if it exists; "" skips the file), applies environment
// overrides from env (normally os.Environ()), and validates.
func Load(path string, env []string) (Config, error) {
	c := Default()
	c.Sources = map[string]string{}
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return c, fmt.Errorf("config: %w", err)
		default:
			md, err := toml.Decode(string(b), &c)
			if err != nil {
				return c, fmt.Errorf("config %s: %w", path, err)
			}
			if und := md.Undecoded(); len(und) > 0 {
				return c, fmt.Errorf("config %s: unknown setting %q", path, und[0].String())
			}
			for _, k := range md.Keys() {
				if len(k) == 1 {
					c.Sources[k[0]] = path
				}
			}
			c.Path = path
		}
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "GATEHOUSE_") {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(k, "GATEHOUSE_"))
		if err := c.set(key, v); err != nil {
			return c, fmt.Errorf("config: %s: %w", k, err)
		}
		if known(key) {
			c.Sources[key] = k
		}
	}
	return c, c.validate()
}

func (c *Config) set(key, v string) error {
	num := func(dst *int) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("not a whole number: %q", v)
		}
		*dst = n
		return nil
	}
	switch key {
	case "site_name":
		c.SiteName = v
	case "address":
		c.Address = v
	case "language":
		c.Language = v
	case "time_zone":
		c.TimeZone = v
	case "lockout_minutes":
		return num(&c.LockoutMinutes)
	case "session_idle_minutes":
		return num(&c.SessionIdleMin)
	case "session_max_hours":
		return num(&c.SessionMaxHrs)
	case "day_end":
		c.DayEnd = v
	case "escalate_minutes":
		return num(&c.EscalateMin)
	case "key_escalate_minutes":
		return num(&c.KeyEscalateMin)
	case "device_alarm_seconds":
		return num(&c.DeviceAlarmSec)
	case "broadcasts_per_month":
		return num(&c.BroadcastsPerMonth)
	case "visitor_grace_before_minutes":
		return num(&c.VisitorEarlyMin)
	case "visitor_grace_after_minutes":
		return num(&c.VisitorLateMin)
	case "retain_visitor_days":
		return num(&c.RetainVisitorDays)
	case "retain_photo_days":
		return num(&c.RetainPhotoDays)
	case "retain_person_days":
		return num(&c.RetainPersonDays)
	case "map_url":
		c.MapURL = v
	case "map_directions":
		c.MapDirections = v
	case "map_image":
		c.MapImage = v
	case "desk_phone":
		c.DeskPhone = v
	case "base_url":
		c.BaseURL = v
	case "tls_cert":
		c.TLSCert = v
	case "tls_key":
		c.TLSKey = v
	}
	// Other GATEHOUSE_ variables belong to flags or tests; ignore them.
	return nil
}

// Overridden reports where the file or the environment set key, or "".
func (c Config) Overridden(key string) string { return c.Sources[key] }

// Get is key's value as text, as the settings page and the store hold it.
func (c Config) Get(key string) string {
	switch key {
	case "site_name":
		return c.SiteName
	case "address":
		return c.Address
	case "map_url":
		return c.MapURL
	case "map_directions":
		return c.MapDirections
	case "map_image":
		return c.MapImage
	case "desk_phone":
		return c.DeskPhone
	case "base_url":
		return c.BaseURL
	case "language":
		return c.Language
	case "time_zone":
		return c.TimeZone
	case "day_end":
		return c.DayEnd
	case "lockout_minutes":
		return strconv.Itoa(c.LockoutMinutes)
	case "session_idle_minutes":
		return strconv.Itoa(c.SessionIdleMin)
	case "session_max_hours":
		return strconv.Itoa(c.SessionMaxHrs)
	case "broadcasts_per_month":
		return strconv.Itoa(c.BroadcastsPerMonth)
	case "visitor_grace_before_minutes":
		return strconv.Itoa(c.VisitorEarlyMin)
	case "visitor_grace_after_minutes":
		return strconv.Itoa(c.VisitorLateMin)
	case "retain_visitor_days":
		return strconv.Itoa(c.RetainVisitorDays)
	case "retain_photo_days":
		return strconv.Itoa(c.RetainPhotoDays)
	case "retain_person_days":
		return strconv.Itoa(c.RetainPersonDays)
	case "escalate_minutes":
		return strconv.Itoa(c.EscalateMin)
	case "key_escalate_minutes":
		return strconv.Itoa(c.KeyEscalateMin)
	case "device_alarm_seconds":
		return strconv.Itoa(c.DeviceAlarmSec)
	}
	return ""
}

// Limits of the settings page (the file keeps its own, wider, rules).
var pageMax = map[string]int{
	"lockout_minutes": 7 * 24 * 60, "session_idle_minutes": 24 * 60, "session_max_hours": 30 * 24,
	"broadcasts_per_month": 1000, "visitor_grace_before_minutes": 240, "visitor_grace_after_minutes": 240,
	"retain_visitor_days": 3650, "retain_photo_days": 3650, "retain_person_days": 3650,
}

// Merge lays stored site settings under c: each key of SiteKeys that the
// file or the environment did not set takes its stored value. It returns
// the result, validated and completed, or the problems, named by key, with
// c unchanged. Stored values meet the settings page's rules, which are a
// little stricter than the file's (lengths, upper bounds, required fields).
func (c Config) Merge(stored map[string]string) (Config, field.Errors) {
	out := c
	var es field.Errors
	for _, k := range SiteKeys {
		v, ok := stored[k]
		if !ok || c.Sources[k] != "" {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "site_name":
			v = es.Text(k, v, true, 64)
		case "address":
			v = es.Text(k, v, false, 200)
		case "desk_phone":
			v = es.Text(k, v, false, 32) // its characters: Check
		case "map_directions":
			v = es.Text(k, v, false, 500)
		case "map_image":
			if v != "" && !mapImageRE.MatchString(v) {
				es.Add(k, "invalid")
				continue
			}
		case "map_url", "base_url":
			v = strings.TrimRight(v, "/")
			if len(v) > 500 {
				es.AddArg(k, "too_long", "500")
				continue
			}
		default:
			if v == "" {
				es.Add(k, "required")
				continue
			}
		}
		if err := out.set(k, v); err != nil {
			es.Add(k, "not_a_number")
			continue
		}
		if max, ok := pageMax[k]; ok {
			if n, _ := strconv.Atoi(v); n > max {
				es.AddArg(k, "at_most", strconv.Itoa(max))
			}
		}
	}
	for _, e := range out.Check() {
		if es.For(e.Field).Code == "" {
			es = append(es, e)
		}
	}
	if len(es) > 0 {
		return c, es
	}
	return out, nil
}

// Check validates c and completes it (Location, DayEndDur), naming the
// keys at fault.
func (c *Config) Check() field.Errors {
	var es field.Errors
	if c.Language != "zh" && c.Language != "en" {
		es.Add("language", "invalid")
	}
	if loc, err := time.LoadLocation(c.TimeZone); err != nil {
		es.Add("time_zone", "unknown_time_zone")
	} else {
		c.Location = loc
	}
	if strings.Trim(c.DeskPhone, "0123456789+-() ") != "" {
		es.Add("desk_phone", "invalid_phone")
	}
	if c.LockoutMinutes < 0 {
		es.Add("lockout_minutes", "out_of_range")
	}
	if c.SessionIdleMin < 1 {
		es.Add("session_idle_minutes", "out_of_range")
	}
	if c.SessionMaxHrs < 1 {
		es.Add("session_max_hours", "out_of_range")
	}
	if de, err := time.Parse("15:04", c.DayEnd); err != nil {
		es.Add("day_end", "invalid_time")
	} else {
		c.DayEndDur = time.Duration(de.Hour())*time.Hour + time.Duration(de.Minute())*time.Minute
	}
	if c.EscalateMin < 0 {
		es.Add("escalate_minutes", "out_of_range")
	}
	if c.KeyEscalateMin < 0 {
		es.Add("key_escalate_minutes", "out_of_range")
	}
	if c.DeviceAlarmSec < 5 || c.DeviceAlarmSec > 86400 {
		es.Add("device_alarm_seconds", "out_of_range")
	}
	if c.RetainVisitorDays < 1 {
		es.Add("retain_visitor_days", "out_of_range")
	}
	switch {
	case c.RetainPhotoDays < 1:
		es.Add("retain_photo_days", "out_of_range")
	case c.RetainPhotoDays > c.RetainVisitorDays && c.RetainVisitorDays >= 1:
		es.Add("retain_photo_days", "photos_after_names")
	}
	if c.RetainPersonDays < 1 {
		es.Add("retain_person_days", "out_of_range")
	}
	if c.BroadcastsPerMonth < 0 {
		es.Add("broadcasts_per_month", "out_of_range")
	}
	for _, k := range []string{"visitor_grace_before_minutes", "visitor_grace_after_minutes"} {
		if n, _ := strconv.Atoi(c.Get(k)); n < 0 || n > 24*60 {
			es.Add(k, "out_of_range")
		}
	}
	for _, k := range []string{"base_url", "map_url"} {
		v := c.Get(k)
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			(k == "base_url" && (u.RawQuery != "" || u.Fragment != "")) || strings.ContainsFunc(v, func(r rune) bool { return r <= 0x20 || r == 0x7F }) {
			es.Add(k, "invalid_url")
		}
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if (c.TLSCert == "") != (c.TLSKey == "") {
		es.Add("tls_cert", "tls_pair")
	}
	if strings.TrimSpace(c.SiteName) == "" {
		c.SiteName = "Gatehouse"
	}
	return es
}

// problems say in English, for the console, what a code means.
var problems = map[string]string{
	"invalid":            "must be zh or en",
	"unknown_time_zone":  "not a time zone of the tz database (e.g. Asia/Shanghai)",
	"out_of_range":       "out of range (lockout_minutes, counts and limits >= 0, session limits and retention days >= 1)",
	"invalid_time":       "must be HH:MM",
	"photos_after_names": "photos must not be kept longer than the rest (retain_photo_days <= retain_visitor_days)",
	"invalid_url":        "must be an http:// or https:// address",
	"tls_pair":           "tls_cert and tls_key go together",
}

func (c *Config) validate() error {
	es := c.Check()
	if len(es) == 0 {
		return nil
	}
	e := es[0]
	v := c.Get(e.Field)
	if e.Field == "tls_cert" {
		v = c.TLSCert
	}
	return fmt.Errorf("config: %s %q: %s", e.Field, v, problems[e.Code])
}

// SessionIdle is how long an unused session lasts.
func (c Config) SessionIdle() time.Duration { return time.Duration(c.SessionIdleMin) * time.Minute }

// SessionMax is how long a session lasts at most.
func (c Config) SessionMax() time.Duration { return time.Duration(c.SessionMaxHrs) * time.Hour }

// LockFor is the lockout duration.
func (c Config) LockFor() time.Duration { return time.Duration(c.LockoutMinutes) * time.Minute }
