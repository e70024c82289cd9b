// Package backup writes and restores the appliance's backups: consistent
// snapshots of the store taken while it serves, compressed, full or
// incremental against the last full one, carrying the site key wrapped
// with the administrator's backup passphrase, written so that a half-
// written file is never taken for a backup, read back after writing, kept
// by a rotation, and restored only into a new directory that is verified
// before it is reported good. See DESIGN.md.
package backup

import (
	"encoding/json"
	"errors"
)

// Errors. Each names what went wrong in words an administrator can act on.
var (
	ErrWrongPassphrase = errors.New("backup: wrong passphrase")
	ErrShortPassphrase = errors.New("backup: the passphrase must be at least 12 characters")
	ErrNoPassphrase    = errors.New("backup: no backup passphrase set (the site key cannot be wrapped)")
	ErrCorrupt         = errors.New("backup: file is truncated, damaged or not a backup")
	ErrNewerFormat     = errors.New("backup: file written by a newer release")
	ErrNewerSchema     = errors.New("backup: data of a newer schema than this release reads")
	ErrNoBase          = errors.New("backup: an increment needs its full backup first")
	ErrOrder           = errors.New("backup: backups given out of order or from different chains")
	ErrOtherSite       = errors.New("backup: backups carry different site keys")
	ErrTarget          = errors.New("backup: target directory missing or not writable")
	ErrTargetFull      = errors.New("backup: target is full")
	ErrNotEmpty        = errors.New("backup: restore needs a new, empty directory")
	ErrRestoreVerify   = errors.New("backup: restored data does not verify")
	ErrAudit           = errors.New("backup: the audit chain in the backup does not verify")
	ErrConfigTooLarge  = errors.New("backup: the settings file is too large to carry")
	ErrConfigExists    = errors.New("backup: a settings file is already there")
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
