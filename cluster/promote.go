package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// A node joins as a non-voter and becomes a voter (if its token said so)
// only once it holds the site's state: so adding a lobby never costs the
// site its quorum while the new appliance is still being set up.

const pathPromote = "/cluster/v1/promote"

// promoteWhenCaughtUp asks the leader to make this node a voter once it
// has applied what the site committed, until it is one.
func (n *Node) promoteWhenCaughtUp() {
	for {
		select {
		case <-n.mux.done:
			return
		case <-time.After(500 * time.Millisecond):
		}
		if n.isVoter() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if n.WaitReady(ctx, 2*time.Second) == nil {
			if _, addr := n.Leader(); addr != "" {
				if err := n.rpc.promote(ctx, addr); err != nil {
					n.log.Warn("cluster: asking to become a voter", "err", err)
				}
			}
		}
		cancel()
	}
}

func (n *Node) isVoter() bool {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == n.cfg.ID {
			return s.Suffrage == raft.Voter
		}
	}
	return false
}

func (r *rpcServer) promote(ctx context.Context, leader string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+leader+pathPromote, http.NoBody)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the leader answered %s", resp.Status)
	}
	return nil
}

var errNotAVoter = errors.New("cluster: the node's token did not make it a voter")

// handlePromote makes the calling node (named by its certificate, so a
// node can promote only itself) a voter, if the token it joined with was
// a voter's.
func (r *rpcServer) handlePromote(w http.ResponseWriter, req *http.Request) {
	n := r.n
	if !n.IsLeader() {
		http.Error(w, errNotLeader.Error(), http.StatusConflict)
		return
	}
	cs, _ := req.Context().Value(tlsStateKey{}).(tls.ConnectionState)
	if len(cs.PeerCertificates) == 0 {
		http.Error(w, errNoCert.Error(), http.StatusForbidden)
		return
	}
	id := cs.PeerCertificates[0].Subject.CommonName
	toks, err := Tokens(n.st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	voter := false
	for _, t := range toks {
		voter = voter || (t.UsedBy == id && t.Voter)
	}
	if !voter {
		http.Error(w, errNotAVoter.Error(), http.StatusForbidden)
		return
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) != id {
			continue
		}
		if s.Suffrage != raft.Voter {
			if err := n.raft.AddVoter(s.ID, s.Address, 0, 10*time.Second).Error(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			n.log.Info("a node became a voter", "node", id)
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Error(w, ErrUnknownNode.Error(), http.StatusNotFound)
}
