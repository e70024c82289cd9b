package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// Reads are local: a page reads its own appliance's copy, which trails the
// leader by at most the commits in flight (and, on a lobby cut off from
// the quorum, by everything since the cut). Barrier is for the reads that
// must see every change acknowledged anywhere before them (a linearizable
// read, as etcd's ReadIndex): the leader confirms it still leads and has
// applied all it committed, and tells its applied index; this node waits
// until it has applied as far. The porcupine test checks reads made after
// a barrier against the writes (DESIGN.md, "Reads").

const pathReadIndex = "/cluster/v1/readindex"

// Barrier waits until this node has applied every change the site had
// acknowledged when it was called. Without a leader it fails with
// ErrNoQuorum after NoQuorumAfter.
func (n *Node) Barrier(ctx context.Context) error {
	deadline := time.Now().Add(n.cfg.NoQuorumAfter)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var index uint64
		var err error
		if n.raft.State() == raft.Leader {
			index, err = n.readIndex(time.Until(deadline))
		} else if _, addr := n.Leader(); addr != "" {
			index, err = n.rpc.askReadIndex(ctx, addr)
		} else {
			err = errNotLeader
		}
		if err == nil {
			_, err = n.fsm.wait(ctx, index)
			return err
		}
		if !errors.Is(err, errNotLeader) && !errors.Is(err, errUnreachable) && !errors.Is(err, raft.ErrNotLeader) &&
			!errors.Is(err, raft.ErrLeadershipLost) {
			return err
		}
		if time.Now().After(deadline) {
			return ErrNoQuorum
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// readIndex, on the leader: it still leads (a quorum answered), and every
// command it committed is applied here; the index of the last one.
func (n *Node) readIndex(timeout time.Duration) (uint64, error) {
	if timeout < time.Second {
		timeout = time.Second
	}
	if err := n.raft.VerifyLeader().Error(); err != nil {
		return 0, err
	}
	if err := n.raft.Barrier(timeout).Error(); err != nil {
		return 0, err
	}
	return n.fsm.applied.Load(), nil
}

type readIndexReply struct {
	Index uint64 `json:"index"`
	Code  string `json:"code,omitempty"` // "not_leader"
}

func (r *rpcServer) handleReadIndex(w http.ResponseWriter, _ *http.Request) {
	var reply readIndexReply
	index, err := r.n.readIndex(r.n.cfg.NoQuorumAfter)
	if err != nil {
		reply.Code = "not_leader"
	}
	reply.Index = index
	writeJSON(w, reply)
}

func (r *rpcServer) askReadIndex(ctx context.Context, addr string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+pathReadIndex, nil)
	if err != nil {
		return 0, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errUnreachable, err) // a read: safe to ask again
	}
	defer resp.Body.Close()
	var reply readIndexReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&reply); err != nil {
		return 0, fmt.Errorf("%w: the leader's answer: %v", errUnreachable, err)
	}
	if reply.Code != "" {
		return 0, errNotLeader
	}
	return reply.Index, nil
}
