package shell

import (
	"bufio"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryShare is the part of the machine's memory the Go runtime aims to
// stay under (a soft limit: it collects harder near it, it never fails
// an allocation for it).
const memoryShare = 0.4

// setMemoryLimit gives the runtime a soft memory limit of 40 % of the
// machine's memory unless GOMEMLIMIT sets one. Without it the heap grows
// to twice what is live before a collection, and a big job — a snapshot
// sent to a joining lobby, a year's report — doubled the process's memory
// (BENCHMARKS.md, "Snapshot of a large site"): on a 1 GB board that is
// the difference between a slower job and the kernel's OOM killer. It
// returns the limit set, 0 for none.
func setMemoryLimit() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	total := memTotal()
	if total <= 0 {
		return 0
	}
	limit := int64(float64(total) * memoryShare)
	debug.SetMemoryLimit(limit)
	return limit
}

// memTotal is MemTotal from /proc/meminfo in bytes, 0 if unknown.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
