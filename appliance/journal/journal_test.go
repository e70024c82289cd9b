package journal

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func appendN(t *testing.T, j *Journal, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := j.Append([]byte(fmt.Sprintf("event %d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReopenReturnsWhatIsNotShipped(t *testing.T) {
	dir := t.TempDir()
	j, recs, err := Open(dir)
	if err != nil || len(recs) != 0 {
		t.Fatalf("fresh journal: %v, %d records", err, len(recs))
	}
	appendN(t, j, 0, 10)
	if err := j.Shipped(4); err != nil { // records 1..3 shipped
		t.Fatal(err)
	}
	if w := j.Waiting(); w != 7 {
		t.Errorf("waiting %d, want 7", w)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, recs, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	// One segment: the shipped records in it come back too (shipping is
	// idempotent); none is lost and the numbering goes on.
	if len(recs) != 10 || recs[0].Seq != 1 || string(recs[9].Data) != "event 9" {
		t.Fatalf("reopened: %d records, first %+v", len(recs), recs[0])
	}
	seq, err := j.Append([]byte("after"))
	if err != nil || seq != 11 {
		t.Fatalf("append after reopen: seq %d, %v", seq, err)
	}
}

func TestShippedSegmentsAreDeleted(t *testing.T) {
	dir := t.TempDir()
	j, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 60<<10)
	for i := 0; i < 80; i++ { // ~4.8 MB: more than one segment's worth
		if _, err := j.Append(big); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Shipped(81); err != nil { // all shipped: the full segment is replaced
		t.Fatal(err)
	}
	if _, err := j.Append([]byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := j.Shipped(81); err != nil {
		t.Fatal(err)
	}
	j.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Fatalf("segments left: %v", segs)
	}
	j, recs, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if len(recs) != 1 || recs[0].Seq != 81 || string(recs[0].Data) != "new" {
		t.Fatalf("after rotation: %+v", recs)
	}
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	j, _, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 0, 3)
	j.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	// A power cut in the middle of a write: half a record at the end.
	rec := encode(4, []byte("half written"))
	f, _ := os.OpenFile(segs[0], os.O_WRONLY|os.O_APPEND, 0)
	f.Write(rec[:len(rec)-5])
	f.Close()
	j, recs, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || j.Damaged != 1 {
		t.Fatalf("torn tail: %d records, damaged %d", len(recs), j.Damaged)
	}
	// The next record follows the last good one and reads back.
	if seq, err := j.Append([]byte("next")); err != nil || seq != 4 {
		t.Fatalf("append after cut: %d %v", seq, err)
	}
	j.Close()
	_, recs, err = Open(dir)
	if err != nil || len(recs) != 4 || string(recs[3].Data) != "next" {
		t.Fatalf("after cut and append: %v %+v", err, recs)
	}
}

func TestAppendRefusesTooLarge(t *testing.T) {
	j, _, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Append(make([]byte, MaxRecord+1)); err != ErrTooLarge {
		t.Fatalf("too large: %v", err)
	}
	if err := j.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestKill9KeepsAppended appends in a child process, which prints each
// acknowledged number, and kills it without warning: every acknowledged
// record is there after reopening.
func TestKill9KeepsAppended(t *testing.T) {
	if dir := os.Getenv("JOURNAL_CHILD_DIR"); dir != "" {
		j, _, err := Open(dir)
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		w := bufio.NewWriter(os.Stdout)
		for i := 0; ; i++ {
			seq, err := j.Append([]byte("gate event " + strconv.Itoa(i)))
			if err != nil {
				fmt.Println("error", err)
				os.Exit(1)
			}
			fmt.Fprintln(w, seq)
			w.Flush()
		}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9KeepsAppended$")
	cmd.Env = append(os.Environ(), "JOURNAL_CHILD_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked uint64
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(300 * time.Millisecond)
	for sc.Scan() {
		n, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			t.Fatalf("child: %s", sc.Text())
		}
		acked = n
		if time.Now().After(deadline) && acked > 100 {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	j, recs, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if uint64(len(recs)) < acked {
		t.Fatalf("acknowledged %d records, %d after kill -9", acked, len(recs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) || string(r.Data) != "gate event "+strconv.Itoa(i) {
			t.Fatalf("record %d: %d %q", i, r.Seq, r.Data)
		}
	}
	t.Logf("%d acknowledged, %d kept", acked, len(recs))
}

func FuzzParse(f *testing.F) {
	f.Add(append(encode(1, []byte("a")), encode(2, []byte("bc"))...))
	f.Add([]byte{0, 0, 0, 9, 1, 2, 3, 4, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, n := Parse(b)
		if n > len(b) {
			t.Fatalf("took %d of %d bytes", n, len(b))
		}
		// What was parsed encodes back to exactly the bytes it took.
		var again []byte
		for _, r := range recs {
			again = append(again, encode(r.Seq, r.Data)...)
		}
		if !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
