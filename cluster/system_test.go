package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The system test: three real `gatehouse serve` processes on loopback,
// formed into a site with the shell's own commands, the leader killed
// with SIGKILL, the survivors carrying on, and every node ending with the
// same audit chain.

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

func gatehouseBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-bin")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "gatehouse")
		cmd := exec.Command("go", "build", "-o", binary, "gatehouse")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

type proc struct {
	name string
	data string
	addr string // cluster port
	cmd  *exec.Cmd
	out  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func shellEnv(data string) []string {
	env := []string{"LANG=C", "HOME=" + data, "PATH=" + os.Getenv("PATH")}
	return env
}

// run runs one shell command and returns its standard output.
func run(t *testing.T, data string, args ...string) string {
	t.Helper()
	cmd := exec.Command(gatehouseBinary(t), args...)
	cmd.Env = shellEnv(data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gatehouse %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	p.out = &syncBuffer{}
	p.cmd = exec.Command(gatehouseBinary(t), "serve", "--data", p.data, "--listen", "127.0.0.1:0")
	p.cmd.Env = shellEnv(p.data)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.out.String(), "Listening on") {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start:\n%s", p.name, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_, _ = p.cmd.Process.Wait()
		p.cmd = nil
	}
}

func (p *proc) stop(t *testing.T) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _, _ = p.cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop on SIGTERM:\n%s", p.name, p.out.String())
		_ = p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}

var statusLine = regexp.MustCompile(`node (\S+): (\w+), applied (\d+) of (\d+) committed; leader (\S+)`)

// status asks p's running node for its view; ok is false while it cannot.
func (p *proc) status(t *testing.T) (state, leader string, caughtUp bool, ok bool) {
	state, leader, caughtUp, _, ok = p.statusVoters(t)
	return
}

// statusVoters is status with the number of voters the node knows.
func (p *proc) statusVoters(t *testing.T) (state, leader string, caughtUp bool, voters int, ok bool) {
	cmd := exec.Command(gatehouseBinary(t), "cluster", "status", "--data", p.data)
	cmd.Env = shellEnv(p.data)
	out, err := cmd.Output()
	if err != nil {
		return "", "", false, 0, false
	}
	m := statusLine.FindStringSubmatch(string(out))
	if m == nil {
		return "", "", false, 0, false
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[2] == "true" {
			voters++
		}
	}
	return m[2], m[5], m[3] == m[4], voters, true
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

func TestThreeServeProcessesFormASiteAndSurviveTheLeadersDeath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three appliances")
	}
	begin := time.Now()
	gatehouseBinary(t)
	t.Logf("binary built in %s", time.Since(begin).Round(time.Millisecond))
	root := t.TempDir()
	nodes := []*proc{{name: "north"}, {name: "south"}, {name: "east"}}
	for _, p := range nodes {
		p.data = filepath.Join(root, p.name)
		p.addr = freeAddr(t)
	}
	north := nodes[0]
	if err := os.MkdirAll(north.data, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, north.data, "cluster", "init", "--data", north.data, "--id", north.name, "--advertise", north.addr)
	north.start(t)
	for _, p := range nodes[1:] {
		tok := strings.TrimSpace(run(t, north.data, "cluster", "token", "--data", north.data))
		run(t, p.data, "cluster", "join", north.addr, "--token", tok, "--id", p.name, "--advertise", p.addr, "--data", p.data)
		p.start(t)
	}
	for _, p := range nodes {
		waitFor(t, 20*time.Second, p.name+" follows the site, all three voting", func() bool {
			_, leader, caught, voters, ok := p.statusVoters(t)
			return ok && leader == "north" && caught && voters == 3
		})
	}

	t.Logf("site of three formed at %s", time.Since(begin).Round(time.Millisecond))
	// Resident memory per node (BENCHMARKS.md): an idle site, just formed.
	for _, p := range nodes {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
				t.Logf("%s %s", p.name, strings.Join(strings.Fields(l), " "))
			}
		}
	}
	// The leader dies without a word; the others elect a new one and
	// take changes (a join token is a change through the log).
	north.kill()
	took := waitFor(t, 10*time.Second, "a new leader", func() bool {
		_, leader, _, ok := nodes[1].status(t)
		return ok && leader != "north" && leader != "none"
	})
	t.Logf("new leader known %s after the SIGKILL", took.Round(time.Millisecond))
	tok := strings.TrimSpace(run(t, nodes[2].data, "cluster", "token", "--data", nodes[2].data))
	if _, err := ParseToken(tok); err != nil {
		t.Fatalf("token issued after the failover: %q: %v", tok, err)
	}

	// The dead node comes back as a follower and catches up.
	north.start(t)
	for _, p := range nodes {
		waitFor(t, 20*time.Second, p.name+" caught up", func() bool {
			state, leader, caught, ok := p.status(t)
			return ok && caught && leader != "none" && state != "Candidate"
		})
	}
	t.Logf("all caught up at %s", time.Since(begin).Round(time.Millisecond))
	// Stopped, each holds the same verified audit chain.
	heads := map[string]string{}
	for _, p := range nodes {
		p.stop(t)
		out := run(t, p.data, "audit", "verify", "--data", p.data)
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			if i := strings.Index(sc.Text(), "head "); i >= 0 {
				heads[p.name] = sc.Text()[i:]
			}
		}
	}
	if len(heads) != 3 || heads["north"] != heads["south"] || heads["south"] != heads["east"] {
		t.Fatalf("audit heads differ: %v", heads)
	}
	// A node's data directory refuses a change made with the service stopped.
	cmd := exec.Command(gatehouseBinary(t), "user", "add", "--data", nodes[1].data, "--username", "lihua", "--name", "Li Hua", "--role", "host", "--password-stdin")
	cmd.Env = shellEnv(nodes[1].data)
	cmd.Stdin = strings.NewReader("lobby-guard-7319-north\n")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "node of a site") {
		t.Fatalf("a change on a stopped node's data directory: %v\n%s", err, out)
	}
}

// TestDemoSiteCommand runs the README's `gatehouse demo-site`: three lobbies
// come up as one site, a lobby killed with -9 leaves the other two with a
// leader, and an interrupt stops every process it started.
func TestDemoSiteCommand(t *testing.T) {
	dir := t.TempDir()
	web, peer := freePort(t), freePort(t)
	// Three consecutive ports each: take them from the free ones found.
	cmd := exec.Command(gatehouseBinary(t), "demo-site", "--dir", dir, "--port", fmt.Sprint(web), "--cluster-port", fmt.Sprint(peer))
	cmd.Env = shellEnv(dir)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	waitFor(t, 3*time.Minute, "the demo site runs:\n"+out.String(), func() bool {
		select {
		case err := <-done:
			t.Fatalf("demo-site ended: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), "The demo site runs.")
	})
	pids := regexp.MustCompile(`(?m)^\s+(\w+)\s+http://\S+\s+process (\d+)`).FindAllStringSubmatch(out.String(), -1)
	if len(pids) != 3 {
		t.Fatalf("lobbies printed: %q\n%s", pids, out.String())
	}
	east := &proc{name: "east", data: filepath.Join(dir, "east")}
	waitFor(t, 30*time.Second, "three voters", func() bool {
		_, leader, _, voters, ok := east.statusVoters(t)
		return ok && leader != "" && voters == 3
	})
	_, leader, _, _, _ := east.statusVoters(t)
	for _, p := range pids {
		if p[1] == leader && p[1] != "east" {
			pid, _ := strconv.Atoi(p[2])
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 15*time.Second, "a new leader after "+leader+" was killed", func() bool {
				_, l, _, _, ok := east.statusVoters(t)
				return ok && l != "" && l != leader
			})
		}
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("demo-site did not stop on an interrupt")
	}
	for _, p := range pids {
		pid, _ := strconv.Atoi(p[2])
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("lobby %s (process %d) still runs after the interrupt", p[1], pid)
		}
	}
}

// freePort finds a port with the two after it free too.
func freePort(t *testing.T) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := port < 65000
		for i := 1; i < 3 && ok; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+i))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no three free ports in a row")
	return 0
}
