//go:build !linux

package pty

import (
	"errors"
	"fmt"
)

// OpenPair is not implemented off Linux.
func OpenPair() (*Pair, error) {
	return nil, fmt.Errorf("pty: %w", errors.ErrUnsupported)
}
