package shell

import (
	"runtime/debug"
	"testing"
)

func TestMemoryLimitIsAShareOfTheMachine(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	t.Setenv("GOMEMLIMIT", "")
	total := memTotal()
	if total <= 0 {
		t.Skip("no /proc/meminfo here")
	}
	got := setMemoryLimit()
	if want := int64(float64(total) * memoryShare); got != want || debug.SetMemoryLimit(-1) != want {
		t.Fatalf("limit %d (in force %d), want %d of %d", got, debug.SetMemoryLimit(-1), want, total)
	}
	debug.SetMemoryLimit(old)
	t.Setenv("GOMEMLIMIT", "300MiB")
	if got := setMemoryLimit(); got != 0 {
		t.Fatalf("GOMEMLIMIT set, but the appliance set its own limit %d", got)
	}
}
