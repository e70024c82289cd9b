//go:build !linux

package shell

import "os"

// noEcho is Linux-only (the appliance's system); elsewhere the passphrase
// must come from --passphrase-stdin.
func noEcho(*os.File) (func(), bool) { return nil, false }
