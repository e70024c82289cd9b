package backup

import (
	"fmt"

	"gatehouse/appliance/field"
	"gatehouse/appliance/store"
)

// Command types.
const (
	CmdSettings = "backup.settings.save"
	CmdRun      = "backup.run.record"
	CmdTold     = "backup.told" // the administrators were told a failure, or its end
)

// Settings are what the administrator sets. The passphrase is not among
// them: only the site key it wrapped.
type Settings struct {
	Target string     `json:"target"` // a mounted USB drive or network share
	At     string     `json:"at"`     // "02:30", site time
	Policy Policy     `json:"policy"`
	Key    WrappedKey `json:"key"`
	Emails []string   `json:"emails,omitempty"` // told by e-mail when backups fail (the appliance's alerts.go)
}

// DefaultAt is when the daily backup runs unless set.
const DefaultAt = "02:30"

func (s Settings) withDefaults() Settings {
	if s.At == "" {
		s.At = DefaultAt
	}
	if s.Policy == (Policy{}) {
		s.Policy = DefaultPolicy
	}
	return s
}

// Run is what one backup run did, kept for the administrator's page.
type Run struct {
	ID       string `json:"id"`
	Started  int64  `json:"started"` // Unix ns
	Millis   int64  `json:"ms"`
	Trigger  string `json:"trigger"` // "schedule", "manual", "shell"
	Kind     Kind   `json:"kind,omitempty"`
	File     string `json:"file,omitempty"` // base name in the target
	Size     int64  `json:"size,omitempty"`
	Keys     uint64 `json:"keys,omitempty"`
	Verified bool   `json:"verified"`
	Error    string `json:"error,omitempty"`
	Removed  int    `json:"removed,omitempty"` // files the rotation removed
}

// OK reports whether the run wrote a verified backup.
func (r Run) OK() bool { return r.Error == "" && r.Verified }

var (
	settingsKey = store.Key(store.KindBackupSettings, "settings")
	toldKey     = store.Key(store.KindBackupSettings, "told")
)

// Told is what the administrators were last told about backups: a failure
// episode (Failing, from the run or the health state that began it) or its
// end. One notice per episode, whatever restarts come between.
type Told struct {
	Failing bool   `json:"failing"`
	State   string `json:"state,omitempty"` // Health.State when told: "failed", "missed", "ok"
	Run     string `json:"run,omitempty"`   // the run the notice was about
	At      int64  `json:"at"`              // when (Unix ns)
}

func runKey(started int64, id string) []byte {
	return append(append([]byte{byte(store.KindBackupRun)}, store.U64(uint64(started))...), id...)
}

// Register installs the backup commands.
func Register(reg store.Registrar) {
	reg.Register(CmdSettings, func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var s Settings
		if err := cmd.Decode(&s); err != nil {
			return store.Effect{}, err
		}
		return store.Effect{Subject: "backup:settings", Note: fmt.Sprintf("passphrase set %t", s.Key.Set())}, tx.SetJSON(settingsKey, s)
	})
	reg.Register(CmdRun, func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var r Run
		if err := cmd.Decode(&r); err != nil {
			return store.Effect{}, err
		}
		if !store.ValidID(r.ID) {
			return store.Effect{}, fmt.Errorf("%w: run id", field.ErrInvalid)
		}
		note := string(r.Kind) + " ok"
		if !r.OK() {
			note = "failed"
		}
		return store.Effect{Subject: "backup:" + r.ID, Note: note}, tx.SetJSON(runKey(r.Started, r.ID), r)
	})
	reg.Register(CmdTold, func(tx *store.Tx, cmd store.Command) (store.Effect, error) {
		var t Told
		if err := cmd.Decode(&t); err != nil {
			return store.Effect{}, err
		}
		t.At = cmd.Time
		note := "failure told"
		if !t.Failing {
			note = "recovery told"
		}
		return store.Effect{Subject: "backup:alerts", Note: note}, tx.SetJSON(toldKey, t)
	})
}
