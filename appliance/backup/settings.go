package backup

import (
	"context"
	"errors"
	"net/mail"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gatehouse/appliance/field"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// Settings returns the settings, with defaults filled in.
func (s *Service) Settings() (Settings, error) {
	var st Settings
	err := s.db.View(func(r *store.Reader) error { return r.GetJSON(settingsKey, &st) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Settings{}, err
	}
	return st.withDefaults(), nil
}

// SaveSettings checks and stores target, time and rotation, keeping the
// wrapped key.
func (s *Service) SaveSettings(ctx context.Context, actor, target, at string, p Policy) error {
	var es field.Errors
	target = strings.TrimSpace(target)
	if target != "" && !filepath.IsAbs(target) {
		es.Add("target", "backup.target_absolute")
	}
	if _, err := time.Parse("15:04", at); err != nil {
		es.Add("at", "backup.bad_time")
	}
	for name, n := range map[string]int{"daily": p.Daily, "weekly": p.Weekly, "monthly": p.Monthly} {
		if n < 0 || n > 400 {
			es.Add(name, "backup.bad_count")
		}
	}
	if p.Daily < 1 {
		es.Add("daily", "backup.bad_count")
	}
	if p.FullEvery < 1 || p.FullEvery > 31 {
		es.Add("full_every", "backup.bad_count")
	}
	if err := es.Err(); err != nil {
		return err
	}
	cur, err := s.Settings()
	if err != nil {
		return err
	}
	cur.Target, cur.At, cur.Policy = target, at, p
	_, err = store.Issue(ctx, s.db, CmdSettings, actor, s.clk.Now(), cur)
	return err
}

// SaveEmails stores the e-mail addresses told when backups fail or are
// missed, and when they work again; none: only the pages and webhooks.
func (s *Service) SaveEmails(ctx context.Context, actor string, emails []string) error {
	var es field.Errors
	var clean []string
	for _, e := range emails {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if a, err := mail.ParseAddress(e); err != nil || a.Name != "" || len(e) > 254 {
			es.Add("emails", "invalid_email")
			break
		}
		if !slices.Contains(clean, e) {
			clean = append(clean, e)
		}
	}
	if len(clean) > 10 {
		es.Add("emails", "backup.too_many_emails")
	}
	if err := es.Err(); err != nil {
		return err
	}
	cur, err := s.Settings()
	if err != nil {
		return err
	}
	if slices.Equal(cur.Emails, clean) {
		return nil
	}
	cur.Emails = clean
	_, err = store.Issue(ctx, s.db, CmdSettings, actor, s.clk.Now(), cur)
	return err
}

// Told returns what the administrators were last told about backups.
func (s *Service) Told() (Told, error) {
	var t Told
	err := s.db.View(func(r *store.Reader) error { return r.GetJSON(toldKey, &t) })
	if errors.Is(err, store.ErrNotFound) {
		err = nil
	}
	return t, err
}

// SetTold records what the administrators were just told.
func (s *Service) SetTold(ctx context.Context, t Told) error {
	_, err := store.Issue(ctx, s.db, CmdTold, "system", s.clk.Now(), t)
	return err
}

// SetPassphrase wraps the site key with a new backup passphrase. Backups
// written before keep the passphrase they were written with.
func (s *Service) SetPassphrase(ctx context.Context, actor, passphrase string) error {
	master, err := secret.ReadMaster(s.dataDir)
	if err != nil {
		return err
	}
	w, err := Wrap(master, passphrase, s.KDF)
	if errors.Is(err, ErrShortPassphrase) {
		var es field.Errors
		es.Add("passphrase", "backup.short_passphrase")
		return es.Err()
	} else if err != nil {
		return err
	}
	cur, err := s.Settings()
	if err != nil {
		return err
	}
	cur.Key = w
	_, err = store.Issue(ctx, s.db, CmdSettings, actor, s.clk.Now(), cur)
	return err
}

// Wrap wraps the site key with passphrase without storing it: for a
// backup written from the shell before any passphrase is set.
func (s *Service) Wrap(passphrase string) (WrappedKey, error) {
	master, err := secret.ReadMaster(s.dataDir)
	if err != nil {
		return WrappedKey{}, err
	}
	return Wrap(master, passphrase, s.KDF)
}
