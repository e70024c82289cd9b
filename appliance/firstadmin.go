package appliance

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"gatehouse/appliance/auth"
)

// InitialPasswordFile, in the data directory, holds the first
// administrator's one-time password from the first start until that
// administrator signs in. Only the service's account (and root) can read
// it: the console and the package's install script say where it is, so the
// password never passes through the system journal.
const InitialPasswordFile = "initial-admin-password"

// Bootstrap creates the first administrator when there are no accounts and
// writes its one-time password to InitialPasswordFile. It returns the
// file's path, or "" when accounts already existed.
func (a *App) Bootstrap(ctx context.Context) (username, path string, err error) {
	user, pw, err := a.Auth.Bootstrap(ctx)
	if err != nil || pw == "" {
		return "", "", err
	}
	path = filepath.Join(a.DataDir, InitialPasswordFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", "", err
	}
	if _, err := f.WriteString(pw + "\n"); err != nil {
		f.Close()
		return "", "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", "", err
	}
	return user, path, f.Close()
}

// SignedIn is told of every successful sign-in: the first administrator's
// sign-in removes the one-time password's file, which has served.
func (a *App) SignedIn(acc auth.Account) {
	if acc.Role != auth.Admin {
		return
	}
	err := os.Remove(filepath.Join(a.DataDir, InitialPasswordFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.Log.Warn("could not remove the initial password file", "err", err)
	}
}
