package sim

import "gatehouse/drivers/sim/pty"

// Scanner is a QR or barcode scanner in serial mode: each scan is the code
// followed by CR LF.
type Scanner struct {
	plug
}

// NewScanner plugs a scanner in at path.
func NewScanner(path string) (*Scanner, error) {
	d, err := pty.New(path)
	if err != nil {
		return nil, err
	}
	return &Scanner{plug{d}}, nil
}

// Scan sends one code as the scanner does.
func (s *Scanner) Scan(code string) error {
	return s.Write([]byte(code + "\r\n"))
}

// Write sends raw bytes: codes with other terminators, or line noise.
func (s *Scanner) Write(b []byte) error {
	_, err := s.dev.Write(b)
	return err
}

// Close unplugs the scanner for good.
func (s *Scanner) Close() error { return s.dev.Close() }
