package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/klauspost/compress/zstd"

	"gatehouse/appliance/store"
)

// fsm is Raft's state machine: a thin wrapper over the store's one
// applier (store.ApplyReplicated), as rqlite's is over its database.
type fsm struct {
	st      *store.Store
	dir     string // the node's Raft directory: a snapshot being restored is spooled there
	log     *slog.Logger
	applied atomic.Uint64 // last log index applied (or skipped as already in the store)

	mu      sync.Mutex
	results map[uint64]applied // recent outcomes by log index, for forwarded writes (see wait)
	waiters map[uint64][]chan struct{}
}

// applied is the outcome of one command on this node: the same on every
// node, since every node applies the same commands in the same order.
type applied struct {
	res store.Result
	err error
}

// keepResults bounds the outcomes kept for forwarded writes to collect.
const keepResults = 4096

func newFSM(st *store.Store, dir string, log *slog.Logger) (*fsm, error) {
	idx, err := st.AppliedIndex()
	if err != nil {
		return nil, err
	}
	f := &fsm{st: st, dir: dir, log: log, results: make(map[uint64]applied), waiters: make(map[uint64][]chan struct{})}
	f.applied.Store(idx)
	return f, nil
}

func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	res, skipped, err := f.st.ApplyReplicated(l.Index, l.Data)
	out := applied{res: res, err: err}
	if skipped {
		out.err = errSkipped
	}
	f.done(l.Index, out)
	return out
}

var errSkipped = errors.New("cluster: the command was applied before this restart; its outcome is not kept")

// done records the outcome of index and wakes whoever waits for it.
func (f *fsm) done(index uint64, out applied) {
	f.mu.Lock()
	f.results[index] = out
	if len(f.results) > 2*keepResults {
		for at := range f.results {
			if at+keepResults < index {
				delete(f.results, at)
			}
		}
	}
	f.applied.Store(index)
	for at, chs := range f.waiters {
		if at <= index {
			for _, ch := range chs {
				close(ch)
			}
			delete(f.waiters, at)
		}
	}
	f.mu.Unlock()
}

// wait blocks until index is applied here, and returns its outcome.
func (f *fsm) wait(ctx context.Context, index uint64) (applied, error) {
	f.mu.Lock()
	if f.applied.Load() < index {
		ch := make(chan struct{})
		f.waiters[index] = append(f.waiters[index], ch)
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return applied{}, ctx.Err()
		}
		f.mu.Lock()
	}
	out, ok := f.results[index]
	f.mu.Unlock()
	if !ok {
		// Applied, but so long ago (or before a snapshot replaced the
		// state) that its outcome is gone: it is in the state.
		return applied{}, nil
	}
	return out, nil
}

// Snapshot makes everything applied so far durable in Badger (Raft may
// drop the log entries a snapshot covers), then lets Persist stream the
// store. Raft calls it on the goroutine that applies, so no command is
// half-applied; Persist runs beside later commands, and the stream may
// include some of them: their log index is recorded with them, so when
// the log after the snapshot is replayed over it they are skipped.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	if err := f.st.Sync(); err != nil {
		return nil, err
	}
	return &snapshot{st: f.st}, nil
}

// Restore replaces the whole state with a snapshot from the leader (a node
// that fell behind, or a new one). The snapshot is spooled to a file in
// the node's directory and read whole first (zstd's checksums, every
// frame, the audit head: store.CheckSnapshot); only a sound one replaces
// the state, so a damaged snapshot leaves the node's state as it was, and
// Raft sends the snapshot again.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	spool, err := os.CreateTemp(f.dir, "restore-*.snap")
	if err != nil {
		return err
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	if _, err := io.Copy(spool, rc); err != nil {
		return fmt.Errorf("cluster: receive snapshot: %w", err)
	}
	zr, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(64<<20), zstd.WithDecoderMaxWindow(32<<20))
	if err != nil {
		return err
	}
	defer zr.Close()
	pass := func() (io.Reader, error) {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return zr, zr.Reset(bufio.NewReaderSize(spool, 64<<10))
	}
	r, err := pass()
	if err == nil {
		err = store.CheckSnapshot(r)
	}
	if err != nil {
		f.log.Error("a snapshot from the leader is damaged; the state is kept as it was", "err", err)
		return fmt.Errorf("cluster: restore snapshot: %w", err)
	}
	if r, err = pass(); err != nil {
		return err
	}
	if err := f.st.ReplaceFrom(r); err != nil {
		return fmt.Errorf("cluster: restore snapshot: %w", err)
	}
	idx, err := f.st.AppliedIndex()
	if err != nil {
		return err
	}
	f.mu.Lock()
	clear(f.results)
	f.mu.Unlock()
	f.done(idx, applied{})
	return nil
}

type snapshot struct{ st *store.Store }

func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	zw, err := zstd.NewWriter(sink, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20))
	if err != nil {
		_ = sink.Cancel()
		return err
	}
	if _, err := s.st.WriteSnapshot(context.Background(), zw); err != nil {
		_ = zw.Close()
		_ = sink.Cancel()
		return err
	}
	if err := zw.Close(); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *snapshot) Release() {}
