package directory

// TestReportRSS measures the resident memory of the real binary: after
// start-up on an empty directory, after start-up with 100,000 employees,
// after searches, and the peak of `gatehouse import employees` on a
// 100,000-row file. It only reports (t.Logf); run it with
//
//	GATEHOUSE_RSS=1 go test -run TestReportRSS -v ./appliance/directory/
//
// Linux only (/proc/PID/status).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
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

func TestReportRSS(t *testing.T) {
	if os.Getenv("GATEHOUSE_RSS") != "1" {
		t.Skip("set GATEHOUSE_RSS=1 to measure the binary's resident memory")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	tmp := t.TempDir()
	bin := rssBuild(t, tmp)
	data := filepath.Join(tmp, "data")
	const (
		settle = 2 * time.Second  // start-up measurements are taken this long after "Listening"
		idle   = 30 * time.Second // and again after this much idle time
	)
	measure := func(s *rssServer, what string) {
		t.Helper()
		t.Logf("%s: %v; %s", what, readProcMem(t, s.cmd.Process.Pid), s.lastGC())
	}

	out, errOut, code := rssRun(t, bin, "token", "add", "--data", data, "--name", "rss", "--role", "manager")
	if code != 0 {
		t.Fatalf("token add: exit %d: %s", code, errOut)
	}
	token := strings.TrimSpace(out)

	// 1. First start on an empty directory (creates the administrator,
	// which hashes a password with argon2id: 19 MiB).
	srv := rssStart(t, bin, data)
	time.Sleep(settle)
	measure(srv, "first start, empty directory")

	api := &rssAPI{base: srv.base, token: token}
	var floorIDs []string
	for f := 0; f < benchFloors; f++ {
		var fl Floor
		api.must(t, "POST", "/api/v1/floors", Floor{Name: benchFloorName(f), Level: f + 1}, &fl)
		floorIDs = append(floorIDs, fl.ID)
	}
	var companyIDs []string
	for c := 0; c < benchCompanies; c++ {
		fs := benchCompanyFloors(c)
		var co Company
		api.must(t, "POST", "/api/v1/companies", Company{Name: benchCompanyName(c), FloorIDs: []string{floorIDs[fs[0]], floorIDs[fs[1]]}}, &co)
		companyIDs = append(companyIDs, co.ID)
	}
	srv.stop(t)

	// 2. Restart with floors and companies but no people.
	srv = rssStart(t, bin, data)
	time.Sleep(settle)
	measure(srv, fmt.Sprintf("restart, %d floors, %d companies, no people", benchFloors, benchCompanies))
	srv.stop(t)

	// 3. Import 100,000 employees with the shell command, service stopped.
	csvPath := filepath.Join(tmp, "employees.csv")
	csvData := benchEmployeesCSV(benchPeople)
	if err := os.WriteFile(csvPath, csvData, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{bin, "import", "employees", csvPath, "--data", data}
	timeTool := ""
	if p, err := exec.LookPath("/usr/bin/time"); err == nil {
		timeTool = p
		args = append([]string{p, "-v"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	var iout, ierr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &iout, &ierr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("import: %v\n%s\n%s", err, iout.String(), ierr.String())
	}
	importTime := time.Since(start)
	// wait4's rusage covers the waited-for child and its descendants.
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	var rusageMax int64
	if ru != nil {
		rusageMax = ru.Maxrss // kB on Linux
	}
	t.Logf("import of %d rows (%.1f MB CSV): %v wall, %v user, %v sys; %s",
		benchPeople, float64(len(csvData))/1e6, importTime.Round(time.Millisecond),
		cmd.ProcessState.UserTime().Round(time.Millisecond), cmd.ProcessState.SystemTime().Round(time.Millisecond),
		strings.TrimSpace(iout.String()))
	if timeTool != "" {
		if m := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`).FindStringSubmatch(ierr.String()); m != nil {
			v, _ := strconv.ParseInt(m[1], 10, 64)
			t.Logf("import peak RSS (/usr/bin/time -v): %s", kb(v))
		}
	}
	t.Logf("import peak RSS (rusage Maxrss): %s", kb(rusageMax))
	t.Logf("data directory after import: %s", rssDirSize(t, data))

	// 4. First start after the import: Badger compacts the level-0 tables
	// the import left behind.
	srv = rssStart(t, bin, data)
	time.Sleep(settle)
	measure(srv, fmt.Sprintf("first start after import, %d employees", benchPeople))
	time.Sleep(idle)
	measure(srv, fmt.Sprintf("same, %v idle", idle))
	srv.stop(t)

	// 5. Steady state: start again, then search.
	srv = rssStart(t, bin, data)
	time.Sleep(settle)
	measure(srv, fmt.Sprintf("restart with %d employees", benchPeople))
	api = &rssAPI{base: srv.base, token: token}
	searches := []struct{ name, query string }{
		{"name, rare", "q=" + url.QueryEscape(strings.ToLower(benchName(54321)))},
		{"company", "company=" + companyIDs[7]},
		{"floor", "floor=" + floorIDs[3]},
		{"all, first page", ""},
		{"all, offset 50000", "offset=50000"},
	}
	const rounds = 5
	for _, s := range searches {
		var best, total time.Duration
		var n int
		for i := 0; i < rounds; i++ {
			var pg struct {
				Total int `json:"total"`
			}
			t0 := time.Now()
			api.must(t, "GET", "/api/v1/employees?"+s.query, nil, &pg)
			d := time.Since(t0)
			total += d
			if i == 0 || d < best {
				best = d
			}
			n = pg.Total
		}
		t.Logf("GET /api/v1/employees (%s): %d matches, best %v, mean %v over %d requests",
			s.name, n, best.Round(10*time.Microsecond), (total / rounds).Round(10*time.Microsecond), rounds)
	}
	measure(srv, fmt.Sprintf("after %d searches", rounds*len(searches)))
	time.Sleep(idle)
	measure(srv, fmt.Sprintf("same, %v idle", idle))
	srv.stop(t)
}

func kb(v int64) string { return fmt.Sprintf("%.1f MiB", float64(v)/1024) }

func (m procMem) String() string {
	return fmt.Sprintf("VmRSS %s (anon %s, file-backed %s), VmHWM %s", kb(m.rss), kb(m.anon), kb(m.file), kb(m.hwm))
}

type procMem struct{ rss, hwm, anon, file int64 } // kB

func readProcMem(t *testing.T, pid int) procMem {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	var m procMem
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			m.rss = v
		case "VmHWM:":
			m.hwm = v
		case "RssAnon:":
			m.anon = v
		case "RssFile:":
			m.file = v
		}
	}
	return m
}

func rssDirSize(t *testing.T, dir string) string {
	t.Helper()
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return fmt.Sprintf("%.1f MB apparent size", float64(n)/1e6)
}

// rssBuild builds the gatehouse binary from the module root.
func rssBuild(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	gomod, err := exec.Command(goTool, "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "gatehouse")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func rssRun(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

type rssServer struct {
	cmd     *exec.Cmd
	base    string
	done    chan struct{}
	err     error
	mu      sync.Mutex
	gcLine  string // the last GODEBUG=gctrace line
	partial string
}

// Write collects the child's stderr, keeping the last gctrace line.
func (s *rssServer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lines := strings.Split(s.partial+string(p), "\n")
	s.partial = lines[len(lines)-1] // unfinished line
	for _, line := range lines[:len(lines)-1] {
		if strings.HasPrefix(line, "gc ") {
			s.gcLine = line
		}
	}
	return len(p), nil
}

var gcHeapRE = regexp.MustCompile(`(\d+)->(\d+)->(\d+) MB, (\d+) MB goal`)

// lastGC reports the Go heap at the last collection: live after it, and the
// goal for the next one (the heap may grow to the goal before collecting).
func (s *rssServer) lastGC() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := gcHeapRE.FindStringSubmatch(s.gcLine)
	if m == nil {
		return "no GC yet"
	}
	return fmt.Sprintf("Go heap at last GC: %s MB live, %s MB goal", m[3], m[4])
}

var rssListenRE = regexp.MustCompile(`Listening on (http://\S+)`)

func rssStart(t *testing.T, bin, data string) *rssServer {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &rssServer{done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--data", data, "--listen", "127.0.0.1:0")
	s.cmd.Stdout = pw
	s.cmd.Stderr = s // gctrace lines; gctrace costs little
	s.cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1")
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := rssListenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case s.base = <-addr:
	case <-s.done:
		t.Fatalf("serve exited: %v", s.err)
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not print its address")
	}
	return s
}

func (s *rssServer) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Error("serve did not stop within 30s of SIGTERM")
	}
}

type rssAPI struct{ base, token string }

func (a *rssAPI) must(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}
