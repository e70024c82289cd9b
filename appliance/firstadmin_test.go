package appliance

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFirstAdministratorPasswordFile: the first start writes the one-time
// password to a file only its owner reads, the password signs in, and that
// first sign-in removes the file.
func TestFirstAdministratorPasswordFile(t *testing.T) {
	a, _ := openTestApp(t)
	ctx := context.Background()
	user, path, err := a.Bootstrap(ctx)
	if err != nil || user != "admin" || path != filepath.Join(a.DataDir, InitialPasswordFile) {
		t.Fatalf("bootstrap = %q %q %v", user, path, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v, mode %v", err, st.Mode())
	}
	b, _ := os.ReadFile(path)
	acc, err := a.Auth.Authenticate(ctx, "admin", strings.TrimSpace(string(b)))
	if err != nil || !acc.MustChange {
		t.Fatalf("sign-in with the file's password: %+v %v", acc, err)
	}
	a.SignedIn(acc)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the password file is still there after the first sign-in: %v", err)
	}
	if _, path, err := a.Bootstrap(ctx); err != nil || path != "" {
		t.Fatalf("a second start wrote a password again: %q %v", path, err)
	}
}
