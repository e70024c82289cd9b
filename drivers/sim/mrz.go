package sim

import (
	"strings"

	"gatehouse/drivers/sim/pty"
)

// MRZReader is a document reader that sends each MRZ line of a document
// laid on it, ended by CR LF.
type MRZReader struct {
	plug
}

// NewMRZReader plugs a reader in at path.
func NewMRZReader(path string) (*MRZReader, error) {
	d, err := pty.New(path)
	if err != nil {
		return nil, err
	}
	return &MRZReader{plug{d}}, nil
}

// PresentDocument sends a document's MRZ lines.
func (r *MRZReader) PresentDocument(lines ...string) error {
	return r.Write([]byte(strings.Join(lines, "\r\n") + "\r\n"))
}

// Write sends raw bytes.
func (r *MRZReader) Write(b []byte) error {
	_, err := r.dev.Write(b)
	return err
}

// Close unplugs the reader for good.
func (r *MRZReader) Close() error { return r.dev.Close() }
