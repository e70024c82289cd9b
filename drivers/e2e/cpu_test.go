package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gatehouse/appliance/gate"
	"gatehouse/drivers/osdp"
	osdpsim "gatehouse/drivers/osdp/sim"
	"gatehouse/drivers/sim/pty"
)

// The CPU benchmarks measure what the CP costs while it polls 8 OSDP
// readers on one bus with the production timing (a poll round every 50 ms,
// 200 ms reply timeout): the CP, osdp.SerialLine, the serial.Line reader
// and tarm's port, in this process. The 8 simulated readers run in a child
// process (this test binary again, see TestMain) on the master side of the
// pseudo-terminal, so their work is not in this process's figures; theirs
// are reported apart. Run them with
//
//	go test -run '^$' -bench CPU -benchtime 1x ./drivers/e2e/
//
// Each runs one 10 s window whatever b.N is.

const (
	cpuWindow  = 10 * time.Second
	cpuReaders = 8
	childEnv   = "GATEHOUSE_E2E_CHILD"
)

func BenchmarkCPUPoll8SecureReaders(b *testing.B) { cpuBench(b, true) }
func BenchmarkCPUPoll8PlainReaders(b *testing.B)  { cpuBench(b, false) }

// cpuTime is user plus system time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type denyAll struct{}

func (denyAll) Decide(context.Context, gate.Presentation) (gate.Action, error) {
	return gate.Action{Feedback: gate.Deny, Reason: "unknown"}, nil
}

func cpuBench(b *testing.B, secure bool) {
	pair, err := pty.OpenPair()
	if err != nil {
		b.Skipf("no pseudo-terminal here: %v", err)
	}
	defer pair.Close()
	mode := "plain"
	if secure {
		mode = "secure"
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=osdp-readers-"+mode)
	child.ExtraFiles = []*os.File{pair.Master}
	child.Stderr = os.Stderr
	toChild, err := child.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	fromChild, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	pair.Master.Close() // the child holds the master now; the pair keeps its slave open
	lines := bufio.NewScanner(fromChild)
	defer func() {
		toChild.Close() // the child stops at the end of its input
		io.Copy(io.Discard, fromChild)
		if err := child.Wait(); err != nil {
			b.Errorf("reader simulators: %v", err)
		}
	}()

	// The floor: this process idle (the Go runtime, the test framework).
	idle0, idleAt := cpuTime(), time.Now()
	time.Sleep(2 * time.Second)
	idlePct := 100 * float64(cpuTime()-idle0) / float64(time.Since(idleAt))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	line, err := osdp.OpenSerialLine(ctx, fastLine(pair.SlaveName, "osdp-bus"))
	if err != nil {
		b.Fatal(err)
	}
	defer line.Close()
	var readers []osdp.Reader
	for i := 1; i <= cpuReaders; i++ {
		readers = append(readers, osdp.Reader{Name: fmt.Sprintf("r%d", i), Address: byte(i), Lane: "l",
			Direction: gate.In, Secure: secure, Install: secure})
	}
	cp, err := osdp.New(osdp.Config{Line: line, Readers: readers, Decider: denyAll{}, Keys: new(osdp.MemoryKeys), Log: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cp.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	eventually(b, "8 readers online", func() bool {
		hs, _ := cp.Health()
		for _, h := range hs {
			if !h.Online || h.Secure != secure || h.DefaultKey {
				return false
			}
		}
		return true
	})

	// mark reads this process's CPU time and the child's, and the commands
	// the simulated readers have answered.
	mark := func() (wall time.Time, self, sims time.Duration, cmds uint64) {
		if _, err := io.WriteString(toChild, "mark\n"); err != nil {
			b.Fatal(err)
		}
		if !lines.Scan() {
			b.Fatalf("reader simulators stopped: %v", lines.Err())
		}
		f := strings.Fields(lines.Text())
		if len(f) != 3 || f[0] != "mark" {
			b.Fatalf("child said %q", lines.Text())
		}
		ns, _ := strconv.ParseInt(f[1], 10, 64)
		cmds, _ = strconv.ParseUint(f[2], 10, 64)
		return time.Now(), cpuTime(), time.Duration(ns), cmds
	}
	time.Sleep(time.Second) // the keying is over; let the bus settle into its rhythm
	hs0, _ := cp.Health()
	w0, self0, sims0, cmds0 := mark()
	time.Sleep(cpuWindow)
	w1, self1, sims1, cmds1 := mark()
	hs1, bus1 := cp.Health()
	wall := w1.Sub(w0)

	pct := func(d time.Duration) float64 { return 100 * float64(d) / float64(wall) }
	b.ReportMetric(pct(self1-self0), "cp-cpu-%")
	b.ReportMetric(pct(sims1-sims0), "sims-cpu-%")
	b.ReportMetric(float64(cmds1-cmds0)/wall.Seconds(), "cmds/s")
	b.ReportMetric(idlePct, "idle-cpu-%")
	var timeouts uint64
	for i := range hs1 {
		timeouts += hs1[i].Timeouts - hs0[i].Timeouts
		if !hs1[i].Online {
			b.Errorf("%s went offline: %+v", hs1[i].Name, hs1[i])
		}
	}
	b.Logf("%s: %v window; CP process %v CPU (%.2f%% of one core; %.2f%% idle before the CP started), simulators %v (%.2f%%); "+
		"%d commands answered (%.0f/s); %d reply timeouts; bus %+v",
		mode, wall.Round(time.Millisecond), self1-self0, pct(self1-self0), idlePct, sims1-sims0, pct(sims1-sims0),
		cmds1-cmds0, float64(cmds1-cmds0)/wall.Seconds(), timeouts, bus1)
}

// runChild is the child process of the CPU benchmarks: 8 simulated readers
// serving the bus on file descriptor 3 (the master side of the terminal),
// answering "mark" lines on stdin with its CPU time in nanoseconds and the
// commands handled so far, until stdin ends.
func runChild(mode string) int {
	secure := mode == "osdp-readers-secure"
	if err := syscall.SetNonblock(3, true); err != nil { // os/exec handed it over blocking
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	master := os.NewFile(3, "ptmx") // non-blocking: pollable, so deadlines work
	var pds []*osdpsim.PD
	for i := 1; i <= cpuReaders; i++ {
		pds = append(pds, osdpsim.New(osdpsim.Config{Address: byte(i), Install: secure, Secure: secure,
			ID: osdp.PDID{Vendor: [3]byte{0x0A, 0x0B, 0x0C}, Serial: uint32(i)}}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- osdpsim.NewBus(pds...).Serve(ctx, master) }()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var cmds uint64
		for _, pd := range pds {
			cmds += pd.Stats().Commands
		}
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		fmt.Printf("mark %d %d\n", ru.Utime.Nano()+ru.Stime.Nano(), cmds)
	}
	cancel()
	if err := <-served; err != nil {
		fmt.Fprintln(os.Stderr, "bus:", err)
		return 1
	}
	return 0
}
