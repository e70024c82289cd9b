package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// The site's settings file travels in every backup's header (format 2,
// DESIGN.md), so that a new appliance restored from it gets the site's
// settings back. It holds settings, not secrets (the SMTP password and
// webhook secrets are in the store, sealed; TLS keys are files it names),
// and neither its contents nor anything from it is ever logged.

// ReadConfig reads the settings file to carry; "" or a missing file is
// none (nil), the appliance then runs on defaults and environment
// variables.
func ReadConfig(path string) ([]byte, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("backup: settings file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxConfig+1))
	if err != nil {
		return nil, fmt.Errorf("backup: settings file: %w", err)
	}
	if len(b) > MaxConfig {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrConfigTooLarge, path, MaxConfig)
	}
	return b, nil
}

// ConfigOutcome is what RestoreConfig did.
type ConfigOutcome int

// Outcomes of RestoreConfig.
const (
	ConfigNone    ConfigOutcome = iota // the backup carries no settings file (format 1, or none was in use)
	ConfigWritten                      // written at the path asked for
	ConfigSame                         // the file there already says the same
	ConfigBeside                       // another file was there and was kept; the backup's is beside it
)

// RestoreConfig writes the settings file a backup carries at path, never
// over an existing file: if one is there and differs, it is kept and the
// backup's copy is written beside it as path + ".from-backup" (refused if
// that exists too). It returns what it did and the path it wrote.
func RestoreConfig(in Info, path string) (ConfigOutcome, string, error) {
	if len(in.Config) == 0 {
		return ConfigNone, "", nil
	}
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, in.Config):
		return ConfigSame, path, nil
	case err == nil:
		beside := path + ".from-backup"
		if err := writeNew(beside, in.Config); err != nil {
			return ConfigNone, "", err
		}
		return ConfigBeside, beside, nil
	case !errors.Is(err, os.ErrNotExist):
		return ConfigNone, "", fmt.Errorf("backup: settings file: %w", err)
	}
	if err := writeNew(path, in.Config); err != nil {
		return ConfigNone, "", err
	}
	return ConfigWritten, path, nil
}

// writeNew writes b to a file that must not exist yet, synced.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s", ErrConfigExists, path)
	} else if err != nil {
		return fmt.Errorf("backup: settings file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("backup: settings file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("backup: settings file: %w", err)
	}
	return f.Close()
}
