package main

// End-to-end durability test: the real binary is started, hammered with API
// writes, killed with SIGKILL while requests are in flight, and restarted.
// Every write the server acknowledged with 201 Created must still be there,
// and the audit chain must verify. A second part tampers with one audit
// entry directly in Badger and checks that `gatehouse audit verify` names it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Built once per test binary, removed by TestMain.
var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// gatehouseBinary builds the gatehouse binary from this module once.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found in PATH; cannot build the binary")
	}
	buildOnce.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			buildErr = err
			return
		}
		buildDir, buildErr = os.MkdirTemp("", "gatehouse-bin-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "gatehouse")
		cmd := exec.Command(goTool, "build", "-o", buildBin, ".")
		cmd.Dir = wd
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// run runs a short gatehouse subcommand and returns its output and exit status.
func run(t *testing.T, bin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("gatehouse %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// syncBuffer is a bytes.Buffer safe to read while a child writes to it.
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

// server is a running `gatehouse serve` child.
type server struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:PORT
	stderr *syncBuffer
	done   chan struct{} // closed once Wait has returned
	err    error         // Wait's result, valid after done
}

var listenRE = regexp.MustCompile(`Listening on (http://\S+)`)

// startServer starts `gatehouse serve` on a free port and returns once it
// has printed its address. The child is killed in t.Cleanup if still running.
func startServer(t *testing.T, bin, data string) *server {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve", "--data", data, "--listen", "127.0.0.1:0")
	s.cmd.Stdout = pw // an *os.File: the child writes to the pipe directly
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		t.Fatal(err)
	}
	pw.Close()
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() { s.kill() })

	addr := make(chan string, 1)
	go func() {
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sent := false
		for sc.Scan() { // keep draining stdout until the child exits
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
	}()
	select {
	case a := <-addr:
		s.base = a
	case <-s.done:
		t.Fatalf("gatehouse serve exited before listening: %v\nstderr:\n%s", s.err, s.stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("gatehouse serve did not print its address within 20s\nstderr:\n%s", s.stderr.String())
	}
	return s
}

// kill sends SIGKILL (if the child still runs) and waits for it.
func (s *server) kill() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// stop asks the child to shut down cleanly and waits for it.
func (s *server) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if s.err != nil {
			t.Errorf("gatehouse serve exited with %v after SIGTERM\nstderr:\n%s", s.err, s.stderr.String())
		}
	case <-time.After(15 * time.Second):
		s.kill()
		t.Errorf("gatehouse serve did not stop within 15s of SIGTERM")
	}
}

type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func newAPIClient(base, token string) *apiClient {
	tr := &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}
	return &apiClient{base: base, token: token, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// do sends a request and decodes a JSON answer into out (if non-nil).
func (c *apiClient) do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s %s answer %q: %w", method, path, b, err)
		}
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return resp.StatusCode, nil
}

type idRecord struct {
	ID         string `json:"id"`
	EmployeeNo string `json:"employee_no"`
	Name       string `json:"name"`
}

func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := gatehouseBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil { // shell commands never make a data directory
		t.Fatal(err)
	}

	out, errOut, code := run(t, bin, "token", "add", "--data", data, "--name", "t", "--role", "manager")
	if code != 0 {
		t.Fatalf("token add: exit %d\n%s", code, errOut)
	}
	token := strings.TrimSpace(out)

	srv := startServer(t, bin, data)
	api := newAPIClient(srv.base, token)
	var floor, company idRecord
	if _, err := api.do("POST", "/api/v1/floors", map[string]any{"name": "9F", "level": 9}, &floor); err != nil {
		t.Fatal(err)
	}
	if _, err := api.do("POST", "/api/v1/companies", map[string]any{"name": "Kill Nine Ltd", "floor_ids": []string{floor.ID}}, &company); err != nil {
		t.Fatal(err)
	}

	// Writers: POST employees until the server dies under them.
	const writers = 4
	var (
		mu        sync.Mutex
		acked     = map[string]string{} // id -> employee number
		seq       atomic.Int64
		sent      atomic.Int64
		failed    atomic.Int64 // transport errors: requests cut off by the kill
		killed    atomic.Bool
		badBefore []string // non-201 answers or errors before the kill
		wg        sync.WaitGroup
	)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := seq.Add(1)
				no := fmt.Sprintf("K-%d", n)
				body := map[string]any{"kind": "employee", "name": fmt.Sprintf("K %d", n), "mobile": "13800138000",
					"company_id": company.ID, "floor_id": floor.ID, "employee_no": no, "can_host": true}
				var p idRecord
				sent.Add(1)
				status, err := api.do("POST", "/api/v1/employees", body, &p)
				if status == http.StatusCreated && err == nil {
					mu.Lock()
					acked[p.ID] = no
					mu.Unlock()
					continue
				}
				if killed.Load() {
					if status == 0 {
						failed.Add(1)
					}
					return
				}
				mu.Lock()
				badBefore = append(badBefore, fmt.Sprintf("%s: status %d, %v", no, status, err))
				mu.Unlock()
				return
			}
		}()
	}
	time.Sleep(2 * time.Second)
	killed.Store(true)
	if err := srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	wg.Wait()
	if ws, ok := srv.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("server was not killed by SIGKILL: %v", srv.err)
	}
	if len(badBefore) > 0 {
		t.Fatalf("writes failed before the kill:\n%s", strings.Join(badBefore, "\n"))
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged before the kill")
	}
	t.Logf("kill -9 after 2s: %d requests sent, %d acknowledged (201), %d cut off in flight",
		sent.Load(), len(acked), failed.Load())

	// Restart and look for every acknowledged employee through the API.
	srv2 := startServer(t, bin, data)
	api2 := newAPIClient(srv2.base, token)
	missing := 0
	for id, no := range acked {
		var p idRecord
		status, err := api2.do("GET", "/api/v1/employees/"+id, nil, &p)
		switch {
		case status == http.StatusNotFound:
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged employee %s (%s) is missing after kill -9", id, no)
			}
		case err != nil:
			t.Fatalf("GET employee %s: %v", id, err)
		case p.ID != id || p.EmployeeNo != no:
			t.Errorf("employee %s: got id %s number %s, want number %s", id, p.ID, p.EmployeeNo, no)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged employees lost", missing, len(acked))
	}
	var list struct {
		Total int `json:"total"`
	}
	if _, err := api2.do("GET", "/api/v1/employees?company="+company.ID+"&limit=1", nil, &list); err != nil {
		t.Fatal(err)
	}
	if list.Total < len(acked) {
		t.Errorf("search by company finds %d employees, %d were acknowledged", list.Total, len(acked))
	}
	t.Logf("after restart: all %d acknowledged employees present; %d employees listed (%d written but not acknowledged)",
		len(acked), list.Total, list.Total-len(acked))
	srv2.stop(t)

	out, errOut, code = run(t, bin, "audit", "verify", "--data", data)
	if code != 0 {
		t.Fatalf("audit verify after kill -9: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	m := regexp.MustCompile(`intact: (\d+) entries`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("audit verify: unexpected output %q", out)
	}
	entries, _ := strconv.ParseUint(m[1], 10, 64)
	// the flow counters' start (report.flow.begin, at the first open), the
	// host search's index mark (directory.person.reindex, at the first
	// open), token, first-start administrator, floor, company, then one
	// entry per employee written.
	if want := uint64(6 + list.Total); entries != want {
		t.Errorf("audit verify counts %d entries, want %d", entries, want)
	}

	t.Run("tampered entry is named", func(t *testing.T) {
		seq := entries / 2
		tamperAuditActor(t, data, seq, "token:forged")
		out, errOut, code := run(t, bin, "audit", "verify", "--data", data)
		if code == 0 {
			t.Fatalf("audit verify passed a tampered trail:\n%s", out)
		}
		if want := fmt.Sprintf("entry %d", seq); !strings.Contains(errOut, want) {
			t.Fatalf("audit verify (exit %d) does not name %q:\n%s", code, want, errOut)
		}
		t.Logf("after tampering with entry %d: exit %d, %s", seq, code, strings.TrimSpace(errOut))
	})
}

// tamperAuditActor rewrites the actor of audit entry seq straight in Badger,
// as someone with access to the data directory might.
func tamperAuditActor(t *testing.T, dir string, seq uint64, actor string) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	key := make([]byte, 9)
	key[0] = 0x01 // store.KindAudit
	for i := 0; i < 8; i++ {
		key[1+i] = byte(seq >> (56 - 8*i))
	}
	err = db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get(key)
		if err != nil {
			return fmt.Errorf("audit entry %d: %w", seq, err)
		}
		val, err := it.ValueCopy(nil)
		if err != nil {
			return err
		}
		// RawMessage keeps every other field byte for byte (a float64
		// round trip would alter the nanosecond time).
		var e map[string]json.RawMessage
		if err := json.Unmarshal(val, &e); err != nil {
			return err
		}
		if _, ok := e["actor"]; !ok {
			return fmt.Errorf("audit entry %d has no actor: %s", seq, val)
		}
		e["actor"], _ = json.Marshal(actor)
		nv, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return txn.Set(key, nv)
	})
	if err != nil {
		t.Fatal(err)
	}
}
