package e2e

import (
	"os"
	"testing"
)

// TestMain runs the test binary as the CPU benchmarks' child process (the
// simulated readers) when it is started as one, and the tests otherwise.
func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode == relayBoardChild {
		os.Exit(runRelayBoard())
	} else if mode != "" {
		os.Exit(runChild(mode))
	}
	code := m.Run()
	removeYearTemplate()
	os.Exit(code)
}
