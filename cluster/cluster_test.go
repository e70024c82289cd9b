package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/store"
)

// A test site: N real nodes in one process, each with its own Badger store
// on disk and its own Raft log, talking mutual TLS over loopback (as
// rqlite's system tests run real clusters).
type testSite struct {
	t     testing.TB
	ca    *CA
	nodes []*testNode
	cfg   func(*Config)
}

type testNode struct {
	id   string
	dir  string
	addr string
	st   *store.Store
	n    *Node
	dir_ *directory.Service
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newTestSite(t *testing.T, size int, tune func(*Config)) *testSite {
	t.Helper()
	ca, err := NewCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := &testSite{t: t, ca: ca, cfg: tune}
	var servers []Server
	for i := 0; i < size; i++ {
		tn := &testNode{id: fmt.Sprintf("lobby-%d", i+1), dir: t.TempDir()}
		s.nodes = append(s.nodes, tn)
		s.start(tn, "127.0.0.1:0")
		servers = append(servers, Server{ID: tn.id, Address: tn.addr, Voter: true})
	}
	if err := s.nodes[0].n.Bootstrap(servers...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, tn := range s.nodes {
			s.stop(tn)
		}
	})
	s.leader(10 * time.Second)
	return s
}

func (s *testSite) identity(id string) *Identity {
	s.t.Helper()
	key, err := NewNodeKey()
	if err != nil {
		s.t.Fatal(err)
	}
	cert, err := s.ca.Issue(id, &key.PublicKey, time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	kp, err := EncodeKey(key)
	if err != nil {
		s.t.Fatal(err)
	}
	ident, err := NewIdentity(id, cert, kp, s.ca.PEM)
	if err != nil {
		s.t.Fatal(err)
	}
	return ident
}

// start opens tn's store and node (again, after stop: same directories).
func (s *testSite) start(tn *testNode, bind string) {
	s.t.Helper()
	st, err := store.Open(store.Options{Dir: filepath.Join(tn.dir, "store"), Logger: quietLogger()})
	if err != nil {
		s.t.Fatal(err)
	}
	directory.Register(st)
	registerCounter(st)
	cfg := Config{Dir: filepath.Join(tn.dir, "cluster"), ID: tn.id, Bind: bind, Identity: s.identity(tn.id), Logger: quietLogger()}
	if s.cfg != nil {
		s.cfg(&cfg)
	}
	n, err := Start(cfg, st)
	if err != nil {
		_ = st.Close()
		s.t.Fatal(err)
	}
	tn.st, tn.n, tn.addr = st, n, n.Address()
	tn.dir_ = directory.New(st, clock.System{}, nil)
}

// stop stops tn's node and store, as a shut-down appliance.
func (s *testSite) stop(tn *testNode) {
	if tn.n == nil {
		return
	}
	_ = tn.n.Close()
	_ = tn.st.Close()
	tn.n, tn.st = nil, nil
}

// leader waits for a leader among the running nodes and returns it.
func (s *testSite) leader(within time.Duration) *testNode {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, tn := range s.nodes {
			if tn.n != nil && tn.n.IsLeader() {
				return tn
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("no leader within %s", within)
	return nil
}

func (s *testSite) follower() *testNode {
	for _, tn := range s.nodes {
		if tn.n != nil && !tn.n.IsLeader() {
			return tn
		}
	}
	s.t.Fatal("no follower")
	return nil
}

// converged waits until every running node has applied the same index,
// then checks that their audit chains verify and end at the same head.
func (s *testSite) converged(within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var idx []uint64
		for _, tn := range s.nodes {
			if tn.n != nil {
				idx = append(idx, tn.n.AppliedIndex())
			}
		}
		same := true
		for _, i := range idx {
			same = same && i == idx[0]
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("nodes did not converge: applied %v", idx)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var want []byte
	for _, tn := range s.nodes {
		if tn.st == nil {
			continue
		}
		var head []byte
		err := tn.st.View(func(r *store.Reader) error {
			if _, err := store.VerifyAudit(r); err != nil {
				return err
			}
			_, h, err := store.AuditHead(r)
			head = h
			return err
		})
		if err != nil {
			s.t.Fatalf("%s: %v", tn.id, err)
		}
		if want == nil {
			want = head
		} else if !bytes.Equal(head, want) {
			s.t.Fatalf("%s: audit head %x, another node's %x", tn.id, head, want)
		}
	}
}

func TestReplicatedCommandsGiveEveryNodeTheSameState(t *testing.T) {
	s := newTestSite(t, 3, nil)
	ctx := context.Background()
	lead := s.leader(5 * time.Second)
	var made []string
	for i := 0; i < 10; i++ {
		tn := s.nodes[i%3] // leader and followers alike
		f, err := tn.dir_.SaveFloor(ctx, "admin:"+tn.id, directory.Floor{Name: fmt.Sprintf("%dF", i+1), Level: i + 1})
		if err != nil {
			t.Fatalf("save on %s (leader %s): %v", tn.id, lead.id, err)
		}
		// The node that answered reads its own write at once.
		if got, err := tn.dir_.Floor(f.ID); err != nil || got.Name != f.Name {
			t.Fatalf("%s does not read its own write: %+v %v", tn.id, got, err)
		}
		made = append(made, f.ID)
	}
	s.converged(5 * time.Second)
	for _, tn := range s.nodes {
		fs, err := tn.dir_.Floors(true)
		if err != nil || len(fs) != len(made) {
			t.Fatalf("%s has %d floors (%v), want %d", tn.id, len(fs), err, len(made))
		}
	}
}

func TestARefusedCommandIsRefusedWithItsOwnErrorOnAFollower(t *testing.T) {
	s := newTestSite(t, 3, nil)
	f := s.follower()
	err := f.dir_.SetCompanyActive(context.Background(), "admin", "no-such-company", false)
	if !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("err = %v, want directory.ErrNotFound through the forward", err)
	}
	s.converged(5 * time.Second)
}

func TestConcurrentWritersOnEveryNode(t *testing.T) {
	s := newTestSite(t, 3, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 12; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tn := s.nodes[w%3]
			for i := 0; i < 10; i++ {
				if _, err := tn.dir_.SaveFloor(ctx, "admin", directory.Floor{Name: fmt.Sprintf("W%d-%d", w, i), Level: i}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s.converged(10 * time.Second)
	for _, tn := range s.nodes {
		if fs, _ := tn.dir_.Floors(true); len(fs) != 120 {
			t.Fatalf("%s has %d floors, want 120", tn.id, len(fs))
		}
	}
}

func TestWhenTheLeaderStopsANewOneTakesWrites(t *testing.T) {
	s := newTestSite(t, 3, nil)
	ctx := context.Background()
	old := s.leader(5 * time.Second)
	if _, err := old.dir_.SaveFloor(ctx, "admin", directory.Floor{Name: "1F", Level: 1}); err != nil {
		t.Fatal(err)
	}
	s.stop(old)
	start := time.Now()
	survivor := s.follower()
	if _, err := survivor.dir_.SaveFloor(ctx, "admin", directory.Floor{Name: "2F", Level: 2}); err != nil {
		t.Fatalf("write after the leader stopped: %v", err)
	}
	t.Logf("first write accepted %s after the leader stopped", time.Since(start).Round(time.Millisecond))
	s.converged(5 * time.Second)
	// The old leader comes back as a follower and catches up.
	s.start(old, old.addr)
	s.converged(10 * time.Second)
	if fs, _ := old.dir_.Floors(true); len(fs) != 2 {
		t.Fatalf("the returning node has %d floors, want 2", len(fs))
	}
}

func TestANodeThatFellBehindCatchesUpFromASnapshot(t *testing.T) {
	s := newTestSite(t, 3, func(c *Config) {
		c.SnapshotThreshold, c.TrailingLogs, c.SnapshotInterval = 16, 4, 100*time.Millisecond
	})
	ctx := context.Background()
	behind := s.follower()
	s.stop(behind)
	lead := s.leader(5 * time.Second)
	for i := 0; i < 60; i++ {
		if _, err := lead.dir_.SaveFloor(ctx, "admin", directory.Floor{Name: fmt.Sprintf("F%d", i), Level: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := lead.n.raft.Snapshot().Error(); err != nil {
		t.Fatal(err)
	}
	first, err := lead.n.logs.FirstIndex()
	if err != nil || first <= 2 {
		t.Fatalf("the leader's log was not compacted (first index %d, %v): the test would not need a snapshot", first, err)
	}
	s.start(behind, behind.addr)
	s.converged(15 * time.Second)
	if fs, _ := behind.dir_.Floors(true); len(fs) != 60 {
		t.Fatalf("the node that fell behind has %d floors, want 60", len(fs))
	}
	// And it goes on applying after the snapshot.
	if _, err := behind.dir_.SaveFloor(ctx, "admin", directory.Floor{Name: "after", Level: 99}); err != nil {
		t.Fatal(err)
	}
	s.converged(5 * time.Second)
}

func TestAStrangerIsRefused(t *testing.T) {
	s := newTestSite(t, 3, nil)
	lead := s.leader(5 * time.Second)
	other, err := NewCA("another site", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	foreign := &testSite{t: t, ca: other}
	ident := foreign.identity("intruder")

	// Raft: the connection is closed before Raft sees it.
	c, err := dialService(context.Background(), ident.clientConfig(), lead.addr, time.Second, muxRaft)
	if err == nil {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, rerr := c.Read(make([]byte, 1))
		_ = c.Close()
		if rerr == nil {
			t.Fatal("a node of another site got an answer from Raft")
		}
	}
	// The client check refuses the site's node too: the intruder's CA did
	// not sign it. With the site CA pinned but its own certificate foreign,
	// forwarding answers 403.
	cfg := ident.clientConfig()
	cfg.VerifyPeerCertificate = nil
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return dialService(ctx, cfg, addr, time.Second, muxRPC)
	}}}
	resp, err := hc.Post("http://"+lead.addr+pathApply, "application/octet-stream", bytes.NewReader([]byte(`{"type":"directory.floor.save"}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forwarding from a foreign node answered %d, want 403", resp.StatusCode)
	}
	// Without any certificate.
	bare := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
	hc = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return dialService(ctx, bare, addr, time.Second, muxRPC)
	}}}
	resp, err = hc.Post("http://"+lead.addr+pathApply, "application/octet-stream", bytes.NewReader(nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("forwarding without a certificate answered %d, want 403", resp.StatusCode)
	}
	// Nothing changed in the site.
	if fs, _ := lead.dir_.Floors(true); len(fs) != 0 {
		t.Fatalf("a stranger's change was applied: %d floors", len(fs))
	}
}

// A node whose clock is minutes off from the leader's gets its changes
// refused with the reason, and nothing of them is written anywhere; a node
// whose clock agrees goes on as before.
func TestANodeWithAClockOffIsRefusedChanges(t *testing.T) {
	skewed := "lobby-3"
	s := newTestSite(t, 3, func(c *Config) {
		if c.ID == skewed {
			c.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
		}
	})
	ctx := context.Background()
	lead := s.leader(5 * time.Second)
	var off, ok *testNode // a follower whose clock differs from the leader's, and one whose agrees
	for _, tn := range s.nodes {
		switch {
		case tn == lead:
		case (tn.id == skewed) != (lead.id == skewed):
			off = tn
		default:
			ok = tn
		}
	}
	_, err := off.dir_.SaveFloor(ctx, "admin", directory.Floor{Name: "9F", Level: 9})
	if !errors.Is(err, ErrClockSkew) || !strings.Contains(err.Error(), "2m0s") {
		t.Fatalf("a change from %s (leader %s): %v, want ErrClockSkew naming the 2 minutes", off.id, lead.id, err)
	}
	if ok != nil {
		if _, err := ok.dir_.SaveFloor(ctx, "admin", directory.Floor{Name: "1F", Level: 1}); err != nil {
			t.Fatalf("a change from %s, whose clock agrees: %v", ok.id, err)
		}
	}
	s.converged(5 * time.Second)
	for _, tn := range s.nodes {
		fs, err := tn.dir_.Floors(true)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Name == "9F" {
				t.Fatalf("%s holds the refused change", tn.id)
			}
		}
	}
}
