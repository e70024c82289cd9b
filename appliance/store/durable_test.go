package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// kill9Env makes the test binary the child of TestKill9ConcurrentWriters:
// it applies commands from many goroutines into the directory it names and
// prints each acknowledged one, until it is killed.
const kill9Env = "GATEHOUSE_STORE_KILL9_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(kill9Env); dir != "" {
		os.Exit(kill9Child(dir))
	}
	os.Exit(m.Run())
}

// kill9Child: 16 writers; every fourth command is applied without waiting
// for the disk (ApplyAsync, the gate's way). A line "ack ID SEQ" is written
// once Apply (or ApplyAsync) has returned.
func kill9Child(dir string) int {
	s, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	registerNote(s)
	var out sync.Mutex
	var n atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := n.Add(1)
				id := fmt.Sprintf("w%02d-%06d", w, i)
				cmd, _ := NewCommand("note.put", "writer", i, note{ID: id, Text: "x" + id})
				apply := s.Apply
				if i%4 == 0 {
					apply = s.ApplyAsync
				}
				res, err := apply(context.Background(), cmd)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				out.Lock()
				fmt.Fprintf(os.Stdout, "ack %s %d\n", id, res.Seq)
				out.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

func registerNote(s *Store) {
	s.Register("note.put", func(tx *Tx, cmd Command) (Effect, error) {
		var n note
		if err := cmd.Decode(&n); err != nil {
			return Effect{}, err
		}
		if n.Text == "" {
			return Effect{}, errEmpty
		}
		if err := tx.SetJSON(Key(KindFloor, n.ID), n); err != nil {
			return Effect{}, err
		}
		return Effect{Subject: "note:" + n.ID}, tx.Set(Key(KindCompanyByName, n.Text, n.ID), nil)
	})
}

// TestKill9ConcurrentWriters: a child process applies commands from 16
// goroutines and prints each acknowledged one; it is killed with SIGKILL at
// a random moment. Reopened, the store holds every acknowledged command
// (at the sequence number it was acknowledged with), and the audit chain
// and the deep audit verify: group commit loses nothing acknowledged and
// leaves no hole in the chain.
func TestKill9ConcurrentWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process for a second or two")
	}
	for round := range 3 {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), kill9Env+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]uint64{}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill once some commands are through, at a random moment.
		wait := time.Duration(300+rand.IntN(1200)) * time.Millisecond
		timer := time.After(30 * time.Second)
		var killAt <-chan time.Time
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				var id string
				var seq uint64
				if _, err := fmt.Sscanf(l, "ack %s %d", &id, &seq); err != nil {
					continue // a line cut by the kill
				}
				acked[id] = seq
				if killAt == nil {
					killAt = time.After(wait)
				}
			case <-killAt:
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
				killAt = nil
			case <-timer:
				cmd.Process.Kill()
				t.Fatalf("child printed nothing; stderr: %s", stderr.String())
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child was not killed by SIGKILL: %v; stderr: %s", err, stderr.String())
		}
		if len(acked) == 0 {
			t.Fatal("nothing acknowledged before the kill")
		}

		s := openTest(t, dir)
		var entries uint64
		err = s.View(func(r *Reader) error {
			for id, seq := range acked {
				var n note
				if err := r.GetJSON(Key(KindFloor, id), &n); err != nil {
					t.Errorf("acknowledged %s (seq %d) lost: %v", id, seq, err)
					continue
				}
				var e AuditEntry
				if err := r.GetJSON(auditKey(seq), &e); err != nil || e.Subject != "note:"+id {
					t.Errorf("audit entry %d is %q, acknowledged for %s (%v)", seq, e.Subject, id, err)
				}
			}
			rep, err := VerifyDeep(r)
			entries = rep.Entries
			return err
		})
		if err != nil {
			t.Fatalf("after kill -9: %v", err)
		}
		s.Close()
		if entries < uint64(len(acked)) {
			t.Fatalf("%d audit entries, %d acknowledged", entries, len(acked))
		}
		t.Logf("round %d: killed after %v: %d acknowledged, %d in the chain (verified)", round, wait, len(acked), entries)
	}
}

// syncWatch counts the syncs and when the last ended.
type syncWatch struct {
	mu    sync.Mutex
	syncs int
	cmds  int
}

func (w *syncWatch) Applied(string, time.Duration, time.Duration) {}
func (w *syncWatch) Synced(n int, _ time.Duration) {
	w.mu.Lock()
	w.syncs++
	w.cmds += n
	w.mu.Unlock()
}

// TestApplyAsyncVisibleAtOnceSyncedSoon: a command applied without
// waiting is visible to the next read and command at once, and a sync
// covering it follows without anyone else applying anything.
func TestApplyAsyncVisibleAtOnceSyncedSoon(t *testing.T) {
	var w syncWatch
	s, err := Open(Options{Dir: t.TempDir(), Observer: &w})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	registerNote(s)
	for i := range 20 {
		cmd, _ := NewCommand("note.put", "gate", int64(i), note{ID: fmt.Sprint("n", i), Text: "x"})
		start := time.Now()
		if _, err := s.ApplyAsync(context.Background(), cmd); err != nil {
			t.Fatal(err)
		}
		n := s.committed.Load()
		if err := s.View(func(r *Reader) error { return r.GetJSON(Key(KindFloor, fmt.Sprint("n", i)), &note{}) }); err != nil {
			t.Fatalf("async command %d not visible: %v", i, err)
		}
		for {
			s.durable.mu.Lock()
			synced := s.durable.synced
			s.durable.mu.Unlock()
			if synced >= n {
				break
			}
			if time.Since(start) > 2*time.Second { // only a broken flusher takes this long
				t.Fatalf("async command %d not synced after %v", i, time.Since(start))
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.syncs == 0 || w.cmds < 20 {
		t.Fatalf("observer saw %d syncs of %d commands", w.syncs, w.cmds)
	}
}

// TestSyncFollowsRotatedFiles: Badger's DB.Sync syncs only the current
// memtable WAL and value-log file; the store syncs the ones rotated out
// since its last sync. This fills both past a rotation and checks that the
// store noticed (by Badger's file names, which a Badger upgrade could
// change).
func TestSyncFollowsRotatedFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("writes about 100 MB")
	}
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mem0, vlog0 := s.durable.memFid, s.durable.vlogFid
	if mem0 == 0 || vlog0 == 0 {
		t.Fatalf("no WAL or value log found at open: %d, %d", mem0, vlog0)
	}
	// Small values (WAL) and large ones (value log), 1 MB a command.
	s.Register("bulk", func(tx *Tx, cmd Command) (Effect, error) {
		var p struct{ N, Size int }
		if err := cmd.Decode(&p); err != nil {
			return Effect{}, err
		}
		v := make([]byte, p.Size)
		for i := range 1 << 20 / p.Size {
			if err := tx.Set(Key(KindFloor, fmt.Sprintf("%d-%d", p.N, i)), v); err != nil {
				return Effect{}, err
			}
		}
		return Effect{}, nil
	})
	for i := 0; s.durable.memFid == mem0 || s.durable.vlogFid == vlog0; i++ {
		if i > 200 {
			t.Fatalf("no rotation seen after %d MB: mem %d→%d, vlog %d→%d", i, mem0, s.durable.memFid, vlog0, s.durable.vlogFid)
		}
		size := 256 << 10 // value log
		if i%4 == 0 {
			size = 512 // WAL
		}
		if _, err := Issue(context.Background(), s, "bulk", "t", time.Now(), map[string]int{"N": i, "Size": size}); err != nil {
			t.Fatal(err)
		}
	}
}
