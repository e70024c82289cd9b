// Package site keeps the site settings the administrator sets on the
// settings page — site name, address and map, the public base URL, time
// zone, language, lockout, session limits, broadcast cap, day end and
// retention — in the store, as commands, so that the lobbies of one site
// (replicated by Raft later) share them and the audit trail says who
// changed what.
//
// The store holds values as text under the keys of config.SiteKeys, the
// same text the config file and the GATEHOUSE_* variables use, so one
// parser and one set of rules serve all three. Precedence is default <
// stored < file < environment (config.Config.Merge): a value the file or
// the environment sets is shown on the page as overridden and cannot be
// changed there.
//
// Until the settings are first saved, the base URL is read from where an
// earlier release kept it, the notification settings (Effective's legacy
// argument); from then on the stored value governs, empty or not, so there
// is one base URL.
package site

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/config"
	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// CmdSave stores the site settings.
const CmdSave = "site.settings.save"

// maxValue bounds one stored value (bytes); the page's own limits are lower.
const maxValue = 1000

var settingsKey = store.Key(store.KindSiteSettings, "settings")

type savePayload struct {
	Values map[string]string `json:"values"` // key -> value text; encoding/json sorts the keys
}

// Register installs the site commands.
func Register(reg store.Registrar) {
	reg.Register(CmdSave, func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var p savePayload
		if err := cmd.Decode(&p); err != nil {
			return store.Effect{}, err
		}
		for k, v := range p.Values {
			if !slices.Contains(config.SiteKeys, k) || len(v) > maxValue {
				return store.Effect{}, fmt.Errorf("%w: site setting %q", field.ErrInvalid, k)
			}
		}
		if p.Values == nil {
			p.Values = map[string]string{}
		}
		// The note names what changed, not the values: an address is no
		// secret, but the trail is for who and when.
		var old map[string]string
		if err := tx.GetJSON(settingsKey, &old); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.Effect{}, err
		}
		var changed []string
		for _, k := range config.SiteKeys {
			ov, had := old[k]
			nv, has := p.Values[k]
			if had != has || ov != nv {
				changed = append(changed, k)
			}
		}
		note := "changed: " + strings.Join(changed, ", ")
		if len(changed) == 0 {
			note = "saved unchanged"
		}
		return store.Effect{Subject: "site:settings", Note: note}, tx.SetJSON(settingsKey, p.Values)
	})
}

// Service reads and stores the site settings.
type Service struct {
	db    store.DB
	clock clock.Clock
}

// New returns the service; Register must have installed the command on the
// store behind db.
func New(db store.DB, clk clock.Clock) *Service { return &Service{db: db, clock: clk} }

// Stored returns the stored values, and whether they were ever saved.
func (s *Service) Stored() (map[string]string, bool, error) {
	var v map[string]string
	err := s.db.View(func(r *store.Reader) error { return r.GetJSON(settingsKey, &v) })
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if v == nil {
		v = map[string]string{}
	}
	return v, true, nil
}

// Effective lays the stored settings under base (the defaults, the file and
// the environment: config.Load's result). legacyBaseURL is the base URL an
// earlier release kept with the notification settings, used until the site
// settings are first saved. Stored values that no longer pass (a time zone
// the system lost) are left out, each named in the returned problems, so a
// bad value never stops the appliance.
func (s *Service) Effective(base config.Config, legacyBaseURL string) (config.Config, field.Errors, error) {
	stored, saved, err := s.Stored()
	if err != nil {
		return base, nil, err
	}
	if !saved && legacyBaseURL != "" {
		stored["base_url"] = legacyBaseURL
	}
	out, es := base.Merge(stored)
	if len(es) == 0 {
		return out, nil, nil
	}
	for _, e := range es {
		delete(stored, e.Field)
	}
	out, more := base.Merge(stored)
	if len(more) > 0 { // a rule between two keys: keep the base alone
		return base, append(es, more...), nil
	}
	return out, es, nil
}

// Save checks values (key -> text, as the form sends them) laid under base
// and stores them. Keys the file or the environment overrides keep their
// stored value, whatever the form sent, so that removing the override later
// brings back what the administrator last stored. It returns the settings
// now in force, or field.Errors naming the keys at fault.
func (s *Service) Save(ctx context.Context, actor string, base config.Config, values map[string]string) (config.Config, error) {
	stored, _, err := s.Stored()
	if err != nil {
		return base, err
	}
	next := maps.Clone(stored)
	for _, k := range config.SiteKeys {
		v, ok := values[k]
		if !ok || base.Overridden(k) != "" {
			continue
		}
		next[k] = strings.TrimSpace(v)
	}
	for k := range next {
		if !slices.Contains(config.SiteKeys, k) {
			delete(next, k) // a key an older release knew
		}
	}
	out, es := base.Merge(next)
	if len(es) > 0 {
		return base, es
	}
	// Store the cleaned text ("https://x/" as "https://x").
	for k := range next {
		if base.Overridden(k) == "" {
			next[k] = out.Get(k)
		}
	}
	if _, err := store.Issue(ctx, s.db, CmdSave, actor, s.clock.Now(), savePayload{Values: next}); err != nil {
		return base, err
	}
	return out, nil
}
