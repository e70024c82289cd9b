package osdp

import (
	"io"
	"time"
)

// Line is the RS-485 bus as the CP (and the simulator) use it: a byte
// stream whose reads honour a deadline, so a silent reader costs a reply
// timeout and never a hang. *os.File on a pseudo-terminal or a tty opened
// non-blocking, and net.Conn, satisfy it as they are; the serial package's
// port (tarm/serial underneath, with reconnects) plugs in through a small
// adapter. A Read past the deadline returns an error matching
// os.ErrDeadlineExceeded; a Read returning (0, nil) is taken as "nothing
// yet" and the CP keeps its own deadline.
type Line interface {
	io.Reader
	io.Writer
	SetReadDeadline(t time.Time) error
}
