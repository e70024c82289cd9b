//go:build !unix

package serial

import tarm "github.com/tarm/serial"

// openPolled: ports are read through tarm on this system.
func openPolled(Config, *tarm.Port) (Port, bool) { return nil, false }
