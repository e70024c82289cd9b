package device

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Port is a serial port found on the machine.
type Port struct {
	Path   string // what to configure: a /dev/serial/by-id link when there is one
	Target string // the node a by-id link points at (/dev/ttyUSB0), or ""
}

// Ports lists the machine's serial ports: USB adapters (ttyUSB), USB CDC
// devices (ttyACM), the stable /dev/serial/by-id links udev makes for them,
// and built-in UARTs (ttyS) that the kernel found hardware behind. root is
// "/" on the appliance; tests give a directory of their own.
//
// Listing device nodes is not touching a port: nothing is opened.
func Ports(root string) []Port {
	dev := filepath.Join(root, "dev")
	var out []Port
	linked := map[string]bool{}
	byID, _ := filepath.Glob(filepath.Join(dev, "serial", "by-id", "*"))
	for _, p := range byID {
		target := ""
		if t, err := filepath.EvalSymlinks(p); err == nil {
			target = t
			linked[t] = true
		}
		out = append(out, Port{Path: p, Target: target})
	}
	var nodes []string
	for _, pat := range []string{"ttyUSB*", "ttyACM*", "ttyS*"} {
		m, _ := filepath.Glob(filepath.Join(dev, pat))
		nodes = append(nodes, m...)
	}
	for _, n := range nodes {
		if linked[n] {
			continue // listed under its stable name
		}
		name := filepath.Base(n)
		if strings.HasPrefix(name, "ttyS") && !uart(root, name) {
			continue
		}
		out = append(out, Port{Path: n})
	}
	slices.SortStableFunc(out, func(a, b Port) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// uart reports whether a ttyS node has a UART behind it. The kernel makes
// ttyS0..ttyS31 whatever the hardware; sysfs says "type" 0 (unknown) for
// the empty ones. Without sysfs the node is listed: better one port too
// many than the one that is there missing.
func uart(root, name string) bool {
	b, err := os.ReadFile(filepath.Join(root, "sys", "class", "tty", name, "type"))
	if err != nil {
		return true
	}
	return strings.TrimSpace(string(b)) != "0"
}
