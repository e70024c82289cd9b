// Package config reads the appliance's settings: a TOML file, then
// GATEHOUSE_* environment variables on top, then defaults for what is left.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is everything that is not a command-line flag.
type Config struct {
	SiteName       string `toml:"site_name"`
	Address        string `toml:"address"`  // building address, shown to visitors
	Language       string `toml:"language"` // "zh" or "en": used when the browser states neither
	TimeZone       string `toml:"time_zone"`
	LockoutMinutes int    `toml:"lockout_minutes"` // 0: locked until an administrator unlocks
	SessionIdleMin int    `toml:"session_idle_minutes"`
	SessionMaxHrs  int    `toml:"session_max_hours"`
	DayEnd         string `toml:"day_end"`              // "23:59": open visits close then, still-inside ones as "no exit recorded"
	EscalateMin    int    `toml:"escalate_minutes"`     // unanswered applications remind the host, then (twice as long) the desk
	KeyEscalateMin int    `toml:"key_escalate_minutes"` // a key overdue this long is escalated to the managers
	TLSCert        string `toml:"tls_cert"`
	TLSKey         string `toml:"tls_key"`

	// BroadcastsPerMonth caps urgent messages to a whole audience per
	// calendar month (site time); official-account channels allow 4.
	BroadcastsPerMonth int `toml:"broadcasts_per_month"`

	// Retention of visitors' personal data, in days after a visit's
	// window (docs/decisions.md): names, mobiles and ID numbers; photos.
	RetainVisitorDays int `toml:"retain_visitor_days"`
	RetainPhotoDays   int `toml:"retain_photo_days"`
	// Retention of people deactivated in the directory, in days after
	// their deactivation (docs/decisions.md).
	RetainPersonDays int `toml:"retain_person_days"`

	Location  *time.Location `toml:"-"`
	DayEndDur time.Duration  `toml:"-"` // DayEnd after midnight
	Path      string         `toml:"-"` // the file read, "" when none was (backups carry it)
}

// Retention is the retention of visitors' data the settings ask for.
func (c Config) Retention() (personal, photos time.Duration) {
	return time.Duration(c.RetainVisitorDays) * 24 * time.Hour, time.Duration(c.RetainPhotoDays) * 24 * time.Hour
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

		BroadcastsPerMonth: 4,
		RetainVisitorDays:  180,
		RetainPhotoDays:    30,
		RetainPersonDays:   90,
	}
}

// Load reads path (if it exists; "" skips the file), applies environment
// overrides from env (normally os.Environ()), and validates.
func Load(path string, env []string) (Config, error) {
	c := Default()
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
			c.Path = path
		}
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "GATEHOUSE_") {
			continue
		}
		if err := c.set(strings.ToLower(strings.TrimPrefix(k, "GATEHOUSE_")), v); err != nil {
			return c, fmt.Errorf("config: %s: %w", k, err)
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
	case "broadcasts_per_month":
		return num(&c.BroadcastsPerMonth)
	case "retain_visitor_days":
		return num(&c.RetainVisitorDays)
	case "retain_photo_days":
		return num(&c.RetainPhotoDays)
	case "retain_person_days":
		return num(&c.RetainPersonDays)
	case "tls_cert":
		c.TLSCert = v
	case "tls_key":
		c.TLSKey = v
	}
	// Other GATEHOUSE_ variables belong to flags or tests; ignore them.
	return nil
}

func (c *Config) validate() error {
	if c.Language != "zh" && c.Language != "en" {
		return fmt.Errorf("config: language must be zh or en, not %q", c.Language)
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return fmt.Errorf("config: time_zone %q: %w", c.TimeZone, err)
	}
	c.Location = loc
	if c.LockoutMinutes < 0 || c.SessionIdleMin < 1 || c.SessionMaxHrs < 1 {
		return errors.New("config: lockout_minutes must be >= 0, session limits >= 1")
	}
	de, err := time.Parse("15:04", c.DayEnd)
	if err != nil {
		return fmt.Errorf("config: day_end must be HH:MM, not %q", c.DayEnd)
	}
	c.DayEndDur = time.Duration(de.Hour())*time.Hour + time.Duration(de.Minute())*time.Minute
	if c.EscalateMin < 0 {
		return errors.New("config: escalate_minutes must be >= 0")
	}
	if c.KeyEscalateMin < 0 {
		return errors.New("config: key_escalate_minutes must be >= 0")
	}
	if c.RetainVisitorDays < 1 || c.RetainPhotoDays < 1 || c.RetainPhotoDays > c.RetainVisitorDays {
		return errors.New("config: retain_visitor_days and retain_photo_days must be >= 1, photos no longer than the rest")
	}
	if c.RetainPersonDays < 1 {
		return errors.New("config: retain_person_days must be >= 1")
	}
	if c.BroadcastsPerMonth < 0 {
		return errors.New("config: broadcasts_per_month must be >= 0")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("config: tls_cert and tls_key go together")
	}
	if strings.TrimSpace(c.SiteName) == "" {
		c.SiteName = "Gatehouse"
	}
	return nil
}

// LockFor is the lockout duration.
func (c Config) LockFor() time.Duration { return time.Duration(c.LockoutMinutes) * time.Minute }
