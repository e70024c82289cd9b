package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// The site's administration, for the shell (which talks to the running
// node over the cluster port with the node's own certificate, so it works
// while the service runs) and for the administrator's pages.

// MemberStatus is one node of the site as the status shows it.
type MemberStatus struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Voter   bool   `json:"voter"`
	Leader  bool   `json:"leader"`
	Self    bool   `json:"self"`
}

// Status is a node's view of the site.
type Status struct {
	Node         string         `json:"node"`
	State        string         `json:"state"` // Leader, Follower, Candidate, Shutdown
	Leader       string         `json:"leader"`
	Members      []MemberStatus `json:"members"`
	AppliedIndex uint64         `json:"applied_index"`
	CommitIndex  uint64         `json:"commit_index"`
	LastContact  string         `json:"last_contact"` // with the leader, as Raft reports it ("0" on the leader)
}

// Voters counts the members that vote.
func (s Status) Voters() int {
	n := 0
	for _, m := range s.Members {
		if m.Voter {
			n++
		}
	}
	return n
}

// Status reports the node's view of the site.
func (n *Node) Status() Status {
	st := Status{Node: n.cfg.ID, State: n.raft.State().String(), AppliedIndex: n.raft.AppliedIndex(), CommitIndex: n.raft.CommitIndex()}
	leaderID, _ := n.Leader()
	st.Leader = leaderID
	st.LastContact = n.raft.Stats()["last_contact"]
	if f := n.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			st.Members = append(st.Members, MemberStatus{ID: string(s.ID), Address: string(s.Address), Voter: s.Suffrage == raft.Voter,
				Leader: string(s.ID) == leaderID, Self: string(s.ID) == n.cfg.ID})
		}
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].ID < st.Members[j].ID })
	return st
}

// IssueToken issues a join token for the site (through the log).
func (n *Node) IssueToken(ctx context.Context, actor string, ttl time.Duration, voter bool) (Token, time.Time, error) {
	return IssueToken(ctx, n, n.cfg.CA, actor, time.Now(), ttl, voter)
}

// ErrUnknownNode: no member of the site has that ID.
var ErrUnknownNode = errors.New("cluster: no node of the site has that name")

// Remove takes a node out of the site (on the leader).
func (n *Node) Remove(id string) error {
	if !n.IsLeader() {
		return errNotLeader
	}
	f := n.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return n.raft.RemoveServer(s.ID, 0, 10*time.Second).Error()
		}
	}
	return ErrUnknownNode
}

const (
	pathToken  = "/cluster/v1/token"
	pathStatus = "/cluster/v1/status"
	pathRemove = "/cluster/v1/remove"
)

type tokenReply struct {
	Token   string `json:"token,omitempty"`
	Expires int64  `json:"expires,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (r *rpcServer) handleToken(w http.ResponseWriter, req *http.Request) {
	ttl, _ := strconv.Atoi(req.URL.Query().Get("ttl"))
	voter := req.URL.Query().Get("voter") != "no"
	tok, exp, err := r.n.IssueToken(req.Context(), "shell:"+req.URL.Query().Get("by"), time.Duration(ttl)*time.Second, voter)
	reply := tokenReply{Token: tok.String(), Expires: exp.UnixNano()}
	if err != nil {
		reply = tokenReply{Error: err.Error()}
	}
	writeJSON(w, reply)
}

func (r *rpcServer) handleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, r.n.Status())
}

type removeReply struct {
	Leader string `json:"leader,omitempty"`
	Error  string `json:"error,omitempty"`
}

func (r *rpcServer) handleRemove(w http.ResponseWriter, req *http.Request) {
	id := req.URL.Query().Get("id")
	err := r.n.Remove(id)
	switch {
	case errors.Is(err, errNotLeader):
		_, addr := r.n.Leader()
		writeJSON(w, removeReply{Leader: addr, Error: ErrNoQuorum.Error()})
	case err != nil:
		writeJSON(w, removeReply{Error: err.Error()})
	default:
		writeJSON(w, removeReply{})
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Local administration: the shell on a node's machine, with the node's
// files (readable by root and the service's account only).

type localClient struct {
	addr string
	hc   *http.Client
}

func dialLocal(dataDir string) (*localClient, error) {
	l, id, _, err := Load(dataDir)
	if err != nil {
		return nil, err
	}
	cfg := id.clientConfig()
	addr := l.Advertise
	if host, port, err := net.SplitHostPort(l.Bind); err == nil && (host == "" || host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return &localClient{addr: addr, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, a string) (net.Conn, error) {
			return dialService(ctx, cfg, a, 3*time.Second, muxRPC)
		},
	}}}, nil
}

func (c *localClient) call(ctx context.Context, method, addr, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, bytes.NewReader(nil))
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("cluster: the node at %s does not answer (is the service running?): %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("cluster: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// RequestToken asks the running node in dataDir for a join token.
func RequestToken(ctx context.Context, dataDir, by string, ttl time.Duration, voter bool) (string, time.Time, error) {
	c, err := dialLocal(dataDir)
	if err != nil {
		return "", time.Time{}, err
	}
	v := "yes"
	if !voter {
		v = "no"
	}
	var reply tokenReply
	path := fmt.Sprintf("%s?ttl=%d&voter=%s&by=%s", pathToken, int(ttl.Seconds()), v, by)
	if err := c.call(ctx, http.MethodPost, c.addr, path, &reply); err != nil {
		return "", time.Time{}, err
	}
	if reply.Error != "" {
		return "", time.Time{}, errors.New(reply.Error)
	}
	return reply.Token, time.Unix(0, reply.Expires), nil
}

// LocalStatus asks the running node in dataDir for its view of the site.
func LocalStatus(ctx context.Context, dataDir string) (Status, error) {
	c, err := dialLocal(dataDir)
	if err != nil {
		return Status{}, err
	}
	var st Status
	err = c.call(ctx, http.MethodGet, c.addr, pathStatus, &st)
	return st, err
}

// RemoveNode asks the site (through the running node in dataDir) to take
// node id out.
func RemoveNode(ctx context.Context, dataDir, id string) error {
	c, err := dialLocal(dataDir)
	if err != nil {
		return err
	}
	addr := c.addr
	for hop := 0; hop < 3; hop++ {
		var reply removeReply
		if err := c.call(ctx, http.MethodPost, addr, pathRemove+"?id="+id, &reply); err != nil {
			return err
		}
		if reply.Leader != "" {
			addr = reply.Leader
			continue
		}
		if reply.Error != "" {
			return errors.New(reply.Error)
		}
		return nil
	}
	return ErrNoQuorum
}
