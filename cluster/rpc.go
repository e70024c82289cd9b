package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"gatehouse/appliance/throttle"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
)

// The nodes' own HTTP service, inside the mux's TLS (transport.go).
// Forwarded writes need a client certificate signed by the site CA.

const (
	pathApply = "/cluster/v1/apply"
	pathJoin  = "/cluster/v1/join" // open to nodes without a certificate: the token proves them
	// maxCommand bounds a forwarded command: an import or a conference
	// registration is staged in chunks well below it.
	maxCommand = 8 << 20
)

var (
	errNotLeader   = errors.New("cluster: the node asked is not the leader")
	errUnreachable = errors.New("cluster: the leader cannot be reached")
)

type tlsStateKey struct{}

type rpcServer struct {
	n *Node
	// joins bounds join attempts per client address: a token's secret is
	// 160 random bits, but a stranger may not make the site work for
	// nothing either.
	joins  *throttle.Limiter
	srv    *http.Server
	client *http.Client
	done   chan struct{}
}

func newRPCServer(n *Node) *rpcServer {
	r := &rpcServer{n: n, done: make(chan struct{}), joins: throttle.New(6*time.Second, 10, 1024)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathApply, r.peerOnly(r.handleApply))
	mux.HandleFunc("POST "+pathJoin, r.handleJoin)
	mux.HandleFunc("POST "+pathToken, r.peerOnly(r.handleToken))
	mux.HandleFunc("GET "+pathStatus, r.peerOnly(r.handleStatus))
	mux.HandleFunc("POST "+pathRemove, r.peerOnly(r.handleRemove))
	mux.HandleFunc("POST "+pathPromote, r.peerOnly(r.handlePromote))
	mux.HandleFunc("GET "+pathReadIndex, r.peerOnly(r.handleReadIndex))
	r.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          nil,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*tls.Conn); ok {
				return context.WithValue(ctx, tlsStateKey{}, tc.ConnectionState())
			}
			return ctx
		},
	}
	ln := &chanListener{ch: n.mux.rpc, addr: n.mux.ln.Addr(), done: n.mux.done}
	go func() { _ = r.srv.Serve(ln) }()
	cfg := n.cfg.Identity.clientConfig()
	r.client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			c, err := dialFrom(ctx, n.cfg.Source, cfg, addr, 3*time.Second, muxRPC)
			if err != nil {
				return nil, dialError{err}
			}
			return c, nil
		},
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     time.Minute,
	}}
	return r
}

func (r *rpcServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	r.client.CloseIdleConnections()
}

// peerOnly lets through only a caller proven by a certificate of the site.
func (r *rpcServer) peerOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		cs, _ := req.Context().Value(tlsStateKey{}).(tls.ConnectionState)
		if _, err := verifyNode(r.n.cfg.Identity.CA, peerChain(cs), x509.ExtKeyUsageClientAuth); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		h(w, req)
	}
}

type applyReply struct {
	Index uint64 `json:"index,omitempty"`
	Error string `json:"error,omitempty"`
	Code  string `json:"code,omitempty"` // "not_leader", "no_quorum", "uncertain", "closed", "clock_skew"
	Skew  int64  `json:"skew,omitempty"` // clock_skew: the sender's clock minus the leader's, ns
}

// clockHeader carries the forwarding node's clock (Unix ns).
const clockHeader = "X-Gatehouse-Clock"

func (r *rpcServer) handleApply(w http.ResponseWriter, req *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxCommand))
	if err != nil {
		http.Error(w, "command too large", http.StatusRequestEntityTooLarge)
		return
	}
	reply := applyReply{}
	sent, _ := strconv.ParseInt(req.Header.Get(clockHeader), 10, 64)
	if d := skewed(sent, r.n.cfg.Now()); d != 0 && r.n.IsLeader() {
		r.n.log.Warn("refused a change from a node whose clock is off", "skew", d.Round(time.Millisecond))
		reply.Code, reply.Skew = "clock_skew", int64(d)
	} else if r.n.IsLeader() {
		index, err := r.n.commit(raw, r.n.cfg.NoQuorumAfter)
		if err == nil && r.n.cfg.loseAnswer != nil && r.n.cfg.loseAnswer(raw) {
			panic(http.ErrAbortHandler) // the connection is cut, nothing answered
		}
		switch {
		case err == nil:
			reply.Index = index
		case errors.Is(err, raft.ErrNotLeader):
			reply.Code = "not_leader"
		case errors.Is(err, ErrNoQuorum):
			reply.Code = "no_quorum"
		case errors.Is(err, ErrUncertain):
			reply.Code = "uncertain"
		case errors.Is(err, ErrClosed):
			reply.Code = "closed"
		default:
			reply.Error = err.Error()
		}
	} else {
		reply.Code = "not_leader"
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(reply)
}

// forward sends raw to the leader at addr and returns the log index it
// was committed at.
func (r *rpcServer) forward(ctx context.Context, addr string, raw []byte) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+pathApply, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set(clockHeader, strconv.FormatInt(r.n.cfg.Now().UnixNano(), 10))
	resp, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		// A connection never made is safe to try again elsewhere. Once
		// the command was sent the leader may have committed it: the
		// answer is lost, and Apply sends the same bytes again (its
		// request ID makes the site apply it once).
		var de dialError
		if errors.As(err, &de) {
			return 0, fmt.Errorf("%w: %v", errUnreachable, err)
		}
		return 0, fmt.Errorf("%w (%v)", ErrUncertain, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("cluster: the leader refused the forwarded change (%s): %s", resp.Status, b)
	}
	var reply applyReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&reply); err != nil {
		return 0, fmt.Errorf("cluster: the leader's answer: %w", err)
	}
	switch reply.Code {
	case "":
	case "not_leader":
		return 0, errNotLeader
	case "no_quorum":
		return 0, ErrNoQuorum
	case "uncertain":
		return 0, ErrUncertain
	case "closed":
		return 0, errNotLeader // it is going away: try whoever leads next
	case "clock_skew":
		return 0, skewError(time.Duration(reply.Skew))
	default:
		return 0, fmt.Errorf("cluster: the leader answered %q", reply.Code)
	}
	if reply.Error != "" {
		return 0, errors.New(reply.Error)
	}
	return reply.Index, nil
}

// dialError marks a failure to connect, before anything was sent.
type dialError struct{ err error }

func (e dialError) Error() string { return e.err.Error() }
func (e dialError) Unwrap() error { return e.err }
