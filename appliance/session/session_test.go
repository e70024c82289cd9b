package session

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

func limits(idle, maxAge time.Duration) Limits {
	return func() (time.Duration, time.Duration) { return idle, maxAge }
}

var std = limits(30*time.Minute, 12*time.Hour)

func open(t *testing.T, dir string, now time.Time) *Store {
	t.Helper()
	s, err := Open(dir, std, now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestASessionSurvivesReopening(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, t0)
	tok, _, err := s.Create("acc1", "reception", t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, t0.Add(time.Minute))
	defer s.Close()
	ss, ok := s.Get(tok, t0.Add(time.Minute))
	if !ok || ss.Account != "acc1" || ss.Role != "reception" || !ss.Created.Equal(t0) {
		t.Fatalf("after reopening: %+v %v", ss, ok)
	}
	if _, ok := s.Get(tok+"x", t0.Add(time.Minute)); ok {
		t.Fatal("another token found the session")
	}
}

// The file holds the token's hash only: a copy of the directory signs
// nobody in.
func TestTheFileHoldsNoToken(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, t0)
	defer s.Close()
	tok, _, err := s.Create("acc1", "admin", t0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	h := Hash(tok)
	if bytes.Contains(b, []byte(tok)) || !bytes.Contains(b, h[:]) {
		t.Fatal("the log holds the token, or not its hash")
	}
}

func TestTimeoutsHoldAcrossReopening(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, t0)
	idleTok, _, _ := s.Create("idle", "host", t0)
	busyTok, _, _ := s.Create("busy", "reception", t0)
	// The busy one is used every 10 minutes for 11 h 50 min, the idle one
	// never; then a crash (no Close: what the log has is what counts).
	now := t0
	for now.Before(t0.Add(11*time.Hour + 50*time.Minute)) {
		now = now.Add(10 * time.Minute)
		if _, ok := s.Get(busyTok, now); !ok {
			t.Fatalf("busy session ended at %v", now.Sub(t0))
		}
	}
	s.f.Close() // as a kill -9 leaves it
	s = open(t, dir, now.Add(5*time.Minute))
	if _, ok := s.Get(idleTok, now.Add(5*time.Minute)); ok {
		t.Fatal("the idle session came back after the restart")
	}
	if _, ok := s.Get(busyTok, now.Add(5*time.Minute)); !ok {
		t.Fatal("the busy session was lost in the restart")
	}
	s.Close()
	// 12 hours after the sign-in it ends, however busy.
	s = open(t, dir, t0.Add(12*time.Hour+time.Second))
	defer s.Close()
	if _, ok := s.Get(busyTok, t0.Add(12*time.Hour+time.Second)); ok {
		t.Fatal("the session outlived the absolute timeout across a restart")
	}
}

// The last-seen time reaches the file at most once a Coarse: a crash
// shortens the idle window by less than that, never lengthens it.
func TestLastSeenIsWrittenCoarsely(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, t0)
	tok, _, _ := s.Create("a", "reception", t0)
	before := s.records
	for i := 1; i <= 60; i++ { // a request a second for a minute
		s.Get(tok, t0.Add(time.Duration(i)*time.Second))
	}
	if w := s.records - before; w != 1 {
		t.Fatalf("%d last-seen writes in a minute of requests, want 1", w)
	}
	s.Get(tok, t0.Add(89*time.Second))
	s.f.Close() // crash: the write at 60 s is in the file, 89 s is not
	// Idle 30 min counted from 60 s: alive at 30 min 59 s, not at 31 min 1 s.
	s = open(t, dir, t0)
	defer s.Close()
	if _, ok := s.Get(tok, t0.Add(30*time.Minute+59*time.Second)); !ok {
		t.Fatal("the session lost more than the coarse minute")
	}
}

func TestSignOutIsFinalAcrossReopening(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, t0)
	tok, _, _ := s.Create("a", "reception", t0)
	keep, _, _ := s.Create("b", "reception", t0)
	if err := s.Delete(tok); err != nil {
		t.Fatal(err)
	}
	s.f.Close() // crash right after the sign-out was answered
	s = open(t, dir, t0)
	defer s.Close()
	if _, ok := s.Get(tok, t0); ok {
		t.Fatal("a signed-out session came back")
	}
	if _, ok := s.Get(keep, t0); !ok {
		t.Fatal("the other session was lost")
	}
}

func TestATornTailIsCutOff(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, t0)
	tok, _, _ := s.Create("a", "reception", t0)
	s.Close()
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(Record{Op: OpCreate, Session: Session{Account: "half"}}.encode(nil)[:20])
	f.Close()
	s = open(t, dir, t0)
	defer s.Close()
	if !s.Damaged || s.Len() != 1 {
		t.Fatalf("damaged %v, %d sessions", s.Damaged, s.Len())
	}
	if _, ok := s.Get(tok, t0); !ok {
		t.Fatal("the good session was lost with the torn tail")
	}
}

func TestSweepRewritesAGrownLog(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, t0)
	defer s.Close()
	for i := 0; i < 300; i++ {
		tok, _, err := s.Create(fmt.Sprint(i), "host", t0)
		if err != nil {
			t.Fatal(err)
		}
		s.Delete(tok)
	}
	live, _, _ := s.Create("live", "host", t0)
	if err := s.Sweep(t0); err != nil {
		t.Fatal(err)
	}
	if s.records != 1 {
		t.Fatalf("%d records after the rewrite, want 1", s.records)
	}
	if _, ok := s.Get(live, t0); !ok {
		t.Fatal("the rewrite lost the live session")
	}
}

func TestAFullStoreEndsTheLeastRecentlyUsed(t *testing.T) {
	s, err := Open("", std, t0)
	if err != nil {
		t.Fatal(err)
	}
	s.max = 20
	var toks []string
	for i := 0; i < 20; i++ {
		tok, _, _ := s.Create(fmt.Sprint(i), "host", t0.Add(time.Duration(i)*time.Second))
		toks = append(toks, tok)
	}
	s.Create("new", "host", t0.Add(time.Minute))
	if _, ok := s.Get(toks[0], t0.Add(time.Minute)); ok {
		t.Fatal("the oldest session stayed in a full store")
	}
	if _, ok := s.Get(toks[19], t0.Add(time.Minute)); !ok {
		t.Fatal("a recent session was evicted")
	}
}

// TestKill9KeepsSignIns creates sessions in a child process, which prints
// each token once Create returned, and kills it without warning: every
// printed token still signs in after reopening.
func TestKill9KeepsSignIns(t *testing.T) {
	if dir := os.Getenv("SESSION_CHILD_DIR"); dir != "" {
		s, err := Open(dir, std, t0)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		for i := 0; ; i++ {
			tok, _, err := s.Create(fmt.Sprint(i), "reception", t0)
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Println(tok)
		}
	}
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9KeepsSignIns$")
	cmd.Env = append(os.Environ(), "SESSION_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	var toks []string
	for sc.Scan() && len(toks) < 50 {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatal(line)
		}
		toks = append(toks, line)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(toks) < 50 {
		t.Fatalf("the child acknowledged %d sign-ins", len(toks))
	}
	s := open(t, dir, t0)
	defer s.Close()
	for i, tok := range toks {
		if ss, ok := s.Get(tok, t0); !ok || ss.Account != fmt.Sprint(i) {
			t.Fatalf("acknowledged sign-in %d lost by kill -9", i)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Record{Op: OpCreate, Session: Session{Account: "a", Role: "host", Created: t0, LastSeen: t0}}.encode(nil))
	f.Add(Record{Op: OpTouch, Session: Session{LastSeen: t0}}.encode(Record{Op: OpDelete}.encode(nil)))
	f.Add([]byte{0, 0, 0, 33, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, used := Parse(b)
		if used > len(b) {
			t.Fatalf("used %d of %d", used, len(b))
		}
		// What was read is written back byte for byte.
		var again []byte
		for _, r := range recs {
			again = r.encode(again)
		}
		if !bytes.Equal(again, b[:used]) {
			t.Fatal("records do not encode back to what was read")
		}
	})
}
