package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"gatehouse/appliance/store"
)

// Errors a page or the shell can name. Raft's own errors are translated
// to these at the boundary (as rqlite does), so nothing above this package
// needs to know Raft.
var (
	// ErrNoQuorum: this node cannot reach a majority of the site's voters
	// (or no leader has been elected yet), so a change cannot be committed
	// now. Nothing of it was written.
	ErrNoQuorum = errors.New("cluster: this lobby cannot reach the rest of the site; the change was not saved")
	// ErrUncertain: the answer to a change was lost (the leader lost its
	// leadership while committing it, or the connection to it broke after
	// it was sent), and sending it again under its request ID found no
	// leader to answer before the retry budget ran out: it may or may not
	// be in the site's history.
	ErrUncertain = errors.New("cluster: the leader changed while the change was being saved; check whether it was")
	// ErrClosed: the node is shutting down.
	ErrClosed = errors.New("cluster: the node is shutting down")
	// ErrClockSkew: this node's clock and the leader's differ by more than
	// MaxClockSkew. Commands are stamped with their issuer's clock and a
	// lobby's gate events keep its clock's times, so the site takes no
	// change from a node whose clock is off: nothing of it was written.
	ErrClockSkew = errors.New("cluster: this appliance's clock is off from the site's; set its time (NTP) — the change was not saved")
)

// MaxClockSkew is how far a node's clock may be from the leader's before
// the site refuses its changes (and a join). NTP keeps a LAN's clocks
// within milliseconds; ten seconds is a clock nobody set.
const MaxClockSkew = 10 * time.Second

// skewError names the difference.
func skewError(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%w (%v behind the leader's)", ErrClockSkew, (-d).Round(time.Second))
	}
	return fmt.Errorf("%w (%v ahead of the leader's)", ErrClockSkew, d.Round(time.Second))
}

// skewed reports the difference of a clock reading t (Unix ns) from now
// when it is more than MaxClockSkew; 0 for none or no reading.
func skewed(t int64, now time.Time) time.Duration {
	if t == 0 {
		return 0
	}
	if d := time.Unix(0, t).Sub(now); d > MaxClockSkew || d < -MaxClockSkew {
		return d
	}
	return 0
}

// Timing is Raft's timing. LAN is tuned for lobbies on one site's network
// (DESIGN.md, Failover): a dead leader is noticed after 300–600 ms and a new
// one is elected well inside the 3 s the site allows.
type Timing struct {
	Heartbeat   time.Duration
	Election    time.Duration
	LeaderLease time.Duration
	Commit      time.Duration
}

// LAN is the timing for nodes on one site's network.
func LAN() Timing {
	return Timing{Heartbeat: 300 * time.Millisecond, Election: 300 * time.Millisecond,
		LeaderLease: 200 * time.Millisecond, Commit: 10 * time.Millisecond}
}

// Config configures a node.
type Config struct {
	Dir       string // the node's Raft directory (log, snapshots), DATA/cluster
	ID        string // the node's ID, unique in the site
	Bind      string // address to listen on, host:port
	Advertise string // address the other nodes dial (default Bind)
	// Source, if set, is the local IP address the node's connections to
	// the other nodes leave from (a box with several networks; the
	// partition tests tell the nodes apart by it).
	Source   string
	Identity *Identity
	CA       *CA    // the site CA with its key: signs joining nodes' certificates
	DataDir  string // the appliance's data directory (the site key a joining node receives)
	Timing   Timing // zero: LAN()
	Logger   *slog.Logger

	// Snapshots: after SnapshotThreshold new entries (default 8192), keeping
	// TrailingLogs entries (default 10240) for followers a little behind.
	SnapshotThreshold uint64
	TrailingLogs      uint64
	SnapshotInterval  time.Duration // how often Raft checks the threshold (default 30 s)

	// NoQuorumAfter is how long a write waits for a leader before it is
	// refused with ErrNoQuorum (default 5 s: longer than a failover).
	NoQuorumAfter time.Duration

	// BootstrapIfNew makes the node found a site of its own at its first
	// start (the node `cluster init` made).
	BootstrapIfNew bool

	// Witness: a voter that runs no pages, devices or timed rules, so it
	// hands the leadership on whenever it wins it (DESIGN.md, Witness).
	Witness bool

	// Voter: the node joined with a voter's token and asks the leader to
	// promote it once it has caught up (promote.go).
	Voter bool

	// Now is the node's wall clock (default time.Now), compared with the
	// leader's on every forwarded change (MaxClockSkew); tests skew it.
	Now func() time.Time

	// loseAnswer, in tests, loses the answer to a committed command when it
	// returns true: the leader cuts a forwarded change's connection, or
	// reports leadership lost to its own caller.
	loseAnswer func(raw []byte) bool
}

// Node is one appliance in a site: a Raft peer whose state machine is the
// appliance's store.
type Node struct {
	cfg   Config
	st    *store.Store
	fsm   *fsm
	raft  *raft.Raft
	mux   *mux
	logs  *raftboltdb.BoltStore
	trans *raft.NetworkTransport
	rpc   *rpcServer
	log   *slog.Logger

	noLeaderSince atomic.Int64 // unix ns since when no leader is known; 0 while one is
}

// Start opens the node's Raft state in cfg.Dir, listens on cfg.Bind and
// joins the Raft group it knows (none yet: Bootstrap, or be added by the
// leader). Every write to st goes through the node from now on.
func Start(cfg Config, st *store.Store) (*Node, error) {
	if cfg.ID == "" || cfg.Identity == nil || cfg.Dir == "" {
		return nil, errors.New("cluster: a node needs an ID, an identity and a directory")
	}
	if cfg.Timing == (Timing{}) {
		cfg.Timing = LAN()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NoQuorumAfter == 0 {
		cfg.NoQuorumAfter = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, st: st, log: cfg.Logger.With("component", "cluster", "node", cfg.ID)}
	var err error
	if n.fsm, err = newFSM(st, cfg.Dir, n.log); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("cluster: listen on %s: %w", cfg.Bind, err)
	}
	adv := cfg.Advertise
	if adv == "" {
		adv = ln.Addr().String()
	}
	advAddr, err := net.ResolveTCPAddr("tcp", adv)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("cluster: advertise address %q: %w", adv, err)
	}
	n.cfg.Advertise = adv
	n.mux = newMux(ln, cfg.Identity, n.log)
	layer := &streamLayer{chanListener: chanListener{ch: n.mux.raft, addr: advAddr, done: n.mux.done}, id: cfg.Identity, source: cfg.Source}
	hl := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: slogWriter{n.log}, DisableTime: true})
	n.trans = raft.NewNetworkTransportWithLogger(layer, 3, 10*time.Second, hl)

	n.logs, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		n.closeTransport()
		return nil, fmt.Errorf("cluster: open the Raft log: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hl)
	if err != nil {
		n.closeTransport()
		_ = n.logs.Close()
		return nil, fmt.Errorf("cluster: open the snapshot store: %w", err)
	}
	// The store keeps its state across restarts, so Raft need not restore
	// its last snapshot at start — unless the store is behind it (a
	// power cut lost writes Badger had not synced; Raft may have dropped
	// the log entries the snapshot covers).
	if err := n.catchUpFromSnapshot(snaps); err != nil {
		n.closeTransport()
		_ = n.logs.Close()
		return nil, err
	}

	existing, err := raft.HasExistingState(n.logs, n.logs, snaps)
	if err != nil {
		n.closeTransport()
		_ = n.logs.Close()
		return nil, err
	}

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = cfg.Timing.Heartbeat
	rc.ElectionTimeout = cfg.Timing.Election
	rc.LeaderLeaseTimeout = cfg.Timing.LeaderLease
	rc.CommitTimeout = cfg.Timing.Commit
	rc.NoSnapshotRestoreOnStart = true
	rc.Logger = hl
	if cfg.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = cfg.SnapshotThreshold
	}
	if cfg.TrailingLogs > 0 {
		rc.TrailingLogs = cfg.TrailingLogs
	}
	if cfg.SnapshotInterval > 0 {
		rc.SnapshotInterval = cfg.SnapshotInterval
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, n.logs, n.logs, snaps, n.trans)
	if err != nil {
		n.closeTransport()
		_ = n.logs.Close()
		return nil, fmt.Errorf("cluster: start Raft: %w", err)
	}
	n.rpc = newRPCServer(n)
	st.SetReplicator(n)
	n.noLeaderSince.Store(time.Now().UnixNano())
	go n.watchLeader()
	if cfg.Witness {
		go n.handOffLeadership()
	}
	if cfg.Voter {
		go n.promoteWhenCaughtUp()
	}
	if !existing && cfg.BootstrapIfNew {
		if err := n.found(); err != nil {
			_ = n.Close()
			return nil, err
		}
	}
	return n, nil
}

// found bootstraps a new site on this node's store. The store may hold a
// single appliance's history, which is in no log entry: so the site is
// recorded in a first command, and a snapshot then replaces the whole log,
// so that every node that joins later receives the state by snapshot.
func (n *Node) found() error {
	if err := n.Bootstrap(); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for !n.IsLeader() {
		if time.Now().After(deadline) {
			return errors.New("cluster: the founding node did not become its site's leader")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := store.Issue(ctx, n, CmdSiteFound, "node:"+n.cfg.ID, time.Now(),
		SiteRecord{Founder: n.cfg.ID, Pin: n.cfg.Identity.caPin()}); err != nil {
		return fmt.Errorf("cluster: found the site: %w", err)
	}
	rc := n.raft.ReloadableConfig()
	keep := rc
	rc.TrailingLogs = 0
	if err := n.raft.ReloadConfig(rc); err != nil {
		return err
	}
	defer func() { _ = n.raft.ReloadConfig(keep) }()
	if err := n.raft.Snapshot().Error(); err != nil {
		return fmt.Errorf("cluster: first snapshot of the site: %w", err)
	}
	return nil
}

// StartLocal starts the node whose files are in dataDir over st.
func StartLocal(dataDir string, st *store.Store, log *slog.Logger, tune func(*Config)) (*Node, error) {
	l, id, ca, err := Load(dataDir)
	if err != nil {
		return nil, err
	}
	cfg := Config{Dir: Dir(dataDir), ID: l.ID, Bind: l.Bind, Advertise: l.Advertise, Identity: id, CA: ca,
		DataDir: dataDir, Logger: log, BootstrapIfNew: l.Founder, Witness: l.Witness, Voter: l.Voter}
	if tune != nil {
		tune(&cfg)
	}
	return Start(cfg, st)
}

// WaitReady waits until the node knows a leader and has applied what the
// site had committed when it learnt of it: a node that starts (or joins)
// serves its pages from a state that is caught up. It gives up after
// timeout (a lobby cut off from the site still starts, on its replica) and
// says so.
func (n *Node) WaitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, addr := n.Leader(); addr != "" {
			ci := n.raft.CommitIndex()
			if ci > 0 && n.raft.AppliedIndex() >= ci {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return ErrNoQuorum
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (n *Node) catchUpFromSnapshot(snaps *raft.FileSnapshotStore) error {
	list, err := snaps.List()
	if err != nil || len(list) == 0 {
		return err
	}
	if list[0].Index <= n.fsm.applied.Load() {
		return nil
	}
	n.log.Warn("the store is behind the last snapshot; restoring it", "store", n.fsm.applied.Load(), "snapshot", list[0].Index)
	_, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("cluster: open snapshot %s: %w", list[0].ID, err)
	}
	return n.fsm.Restore(rc)
}

func (n *Node) closeTransport() {
	_ = n.mux.Close()
	if n.trans != nil {
		_ = n.trans.Close()
	}
}

// Server is a member of the site.
type Server struct {
	ID      string
	Address string
	Voter   bool
}

// Bootstrap makes this node the first of a new site (`cluster init`), or
// of a site whose members are all given (tests). A node that has Raft
// state already is refused.
func (n *Node) Bootstrap(servers ...Server) error {
	if len(servers) == 0 {
		servers = []Server{{ID: n.cfg.ID, Address: n.cfg.Advertise, Voter: true}}
	}
	var c raft.Configuration
	for _, s := range servers {
		sfx := raft.Voter
		if !s.Voter {
			sfx = raft.Nonvoter
		}
		c.Servers = append(c.Servers, raft.Server{ID: raft.ServerID(s.ID), Address: raft.ServerAddress(s.Address), Suffrage: sfx})
	}
	if err := n.raft.BootstrapCluster(c).Error(); err != nil {
		return fmt.Errorf("cluster: bootstrap: %w", err)
	}
	return nil
}

// handOffLeadership passes the leadership to another voter whenever this
// witness wins it: the site's timed rules and its outbox run on the
// leader, and a witness runs neither.
func (n *Node) handOffLeadership() {
	ch := n.raft.LeaderCh()
	for {
		var leading bool
		select {
		case leading = <-ch:
		case <-n.mux.done:
			return
		}
		for leading && n.IsLeader() {
			if err := n.raft.LeadershipTransfer().Error(); err == nil {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
}

// Witness says whether this node is its site's witness.
func (n *Node) Witness() bool { return n.cfg.Witness }

// watchLeader keeps noLeaderSince: the pages of a lobby cut off from the
// site say since when.
func (n *Node) watchLeader() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.mux.done:
			return
		case <-t.C:
		}
		if _, addr := n.Leader(); addr != "" {
			n.noLeaderSince.Store(0)
		} else {
			n.noLeaderSince.CompareAndSwap(0, time.Now().UnixNano())
		}
	}
}

// CutOffSince is since when this node has known no leader (it cannot
// commit changes), or the zero time while it knows one.
func (n *Node) CutOffSince() time.Time {
	if ns := n.noLeaderSince.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Founder says whether this node founded its site (cluster init).
func (n *Node) Founder() bool { return n.cfg.BootstrapIfNew }

// ID is the node's ID; Address the one the others dial.
func (n *Node) ID() string      { return n.cfg.ID }
func (n *Node) Address() string { return n.cfg.Advertise }

// IsLeader says whether this node leads the site now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader is the current leader's ID and address ("" when none is known).
func (n *Node) Leader() (id, addr string) {
	a, i := n.raft.LeaderWithID()
	return string(i), string(a)
}

// AppliedIndex is the last log index applied to this node's store.
func (n *Node) AppliedIndex() uint64 { return n.fsm.applied.Load() }

// Apply commits cmd to the site and returns its outcome on this node: on
// the leader directly, from a follower by forwarding it to the leader and
// then waiting until this node has applied it too, so that the page that
// made a change reads it when it returns. The error, if the command was
// refused, is the handler's own (errors.Is works as on one appliance).
//
// The node stamps cmd with a request ID (store.NewRequestID) unless it has
// one. When an answer is lost — the connection to the leader broke after
// the command was sent, or the leader lost its leadership while committing
// it — the same bytes are sent again to whoever leads next: the applier
// answers a request it applied before with that first result (store's
// request.go), so the command is applied once. The retry budget is
// NoQuorumAfter from the loss (or the context); only when it runs out is
// the answer ErrUncertain.
func (n *Node) Apply(ctx context.Context, cmd store.Command) (store.Result, error) {
	if cmd.Req == "" {
		cmd.Req = store.NewRequestID()
	}
	raw, err := cmd.Encode()
	if err != nil {
		return store.Result{}, err
	}
	deadline := time.Now().Add(n.cfg.NoQuorumAfter)
	var lost error // the last answer lost: the command may be in the log
	// fail ends the call with err, unless an earlier attempt may have been
	// committed: then nothing is known but that.
	fail := func(err error) (store.Result, error) {
		if lost != nil && !errors.Is(err, ErrUncertain) {
			return store.Result{}, fmt.Errorf("%w (%v; then: %v)", ErrUncertain, lost, err)
		}
		return store.Result{}, err
	}
	lose := func(err error) {
		if lost == nil { // the retry's own budget, counted from the loss
			if t := time.Now().Add(n.cfg.NoQuorumAfter); t.After(deadline) {
				deadline = t
			}
		}
		lost = err
	}
	for {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if n.raft.State() == raft.Leader {
			index, err := n.commit(raw, time.Until(deadline))
			if err == nil && n.cfg.loseAnswer != nil && n.cfg.loseAnswer(raw) {
				err = ErrUncertain
			}
			switch {
			case err == nil:
				out, err := n.fsm.wait(ctx, index)
				if err != nil {
					return fail(err)
				}
				return out.res, out.err
			case errors.Is(err, raft.ErrNotLeader):
				continue
			case errors.Is(err, ErrUncertain):
				lose(err)
			default:
				return fail(err)
			}
		} else if _, addr := n.Leader(); addr != "" {
			index, err := n.rpc.forward(ctx, addr, raw)
			switch {
			case err == nil:
				out, err := n.fsm.wait(ctx, index)
				if err != nil {
					return fail(err)
				}
				return out.res, out.err
			case errors.Is(err, ErrUncertain):
				lose(err)
			case errors.Is(err, errNotLeader), errors.Is(err, errUnreachable):
			default:
				return fail(err)
			}
		}
		if time.Now().After(deadline) {
			if lost != nil {
				return store.Result{}, lost
			}
			return store.Result{}, ErrNoQuorum
		}
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// commit appends raw to the log as leader and waits until it is
// committed on a majority and applied here; it returns the log index.
func (n *Node) commit(raw []byte, timeout time.Duration) (uint64, error) {
	if timeout < time.Second {
		timeout = time.Second
	}
	f := n.raft.Apply(raw, timeout)
	if err := f.Error(); err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader):
			return 0, err // nothing appended: the caller tries the new leader
		case errors.Is(err, raft.ErrLeadershipLost):
			return 0, ErrUncertain
		case errors.Is(err, raft.ErrEnqueueTimeout):
			return 0, ErrNoQuorum
		case errors.Is(err, raft.ErrRaftShutdown):
			return 0, ErrClosed
		}
		return 0, fmt.Errorf("cluster: commit: %w", err)
	}
	return f.Index(), nil
}

// Close leaves Raft running nowhere: it stops this node (the others carry
// on) and restores local writes to nothing — the store refuses writes
// until it is closed too.
func (n *Node) Close() error {
	n.st.SetReplicator(closedApplier{})
	err := n.raft.Shutdown().Error()
	n.closeTransport() // first: it ends the RPC server's Accept
	n.rpc.close()
	if cerr := n.logs.Close(); err == nil {
		err = cerr
	}
	return err
}

type closedApplier struct{}

func (closedApplier) Apply(context.Context, store.Command) (store.Result, error) {
	return store.Result{}, ErrClosed
}

// slogWriter carries hclog's lines (Raft's own messages) to slog.
type slogWriter struct{ log *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.log.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}

// ErrOffline: a node's store was opened without its node (the shell while
// the service is stopped): it reads, but a change made there alone would
// leave the site's history.
var ErrOffline = errors.New("cluster: this appliance is a node of a site of several lobbies: make changes with the service running (its pages), not on its data directory alone")

// Offline refuses every write to a node's store opened without its node.
type Offline struct{}

// Apply refuses.
func (Offline) Apply(context.Context, store.Command) (store.Result, error) {
	return store.Result{}, ErrOffline
}
