package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// One TCP port per node carries everything between nodes, always in TLS
// 1.3. After the handshake the client sends one byte naming the service:
// Raft's own RPCs, or HTTP for forwarded writes and joins. Raft and
// forwarding need a client certificate signed by the site CA; only the
// join service answers a node that has none yet (it proves itself with a
// token instead).
const (
	muxRaft byte = 'R'
	muxRPC  byte = 'H'
)

// handshakeTimeout bounds how long a stranger may hold a connection open
// before it has finished TLS and named a service.
const handshakeTimeout = 5 * time.Second

// mux accepts TLS connections on one listener and hands each to the
// service it names.
type mux struct {
	ln   net.Listener
	id   *Identity
	log  *slog.Logger
	raft chan net.Conn
	rpc  chan net.Conn
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func newMux(ln net.Listener, id *Identity, log *slog.Logger) *mux {
	m := &mux{ln: ln, id: id, log: log, raft: make(chan net.Conn), rpc: make(chan net.Conn), done: make(chan struct{})}
	m.wg.Add(1)
	go m.serve()
	return m
}

func (m *mux) serve() {
	defer m.wg.Done()
	cfg := m.id.serverConfig()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			select {
			case <-m.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			m.log.Warn("cluster listener stopped", "err", err)
			return
		}
		go m.route(tls.Server(c, cfg))
	}
}

// route finishes the handshake, reads the service byte and delivers the
// connection; anything wrong closes it.
func (m *mux) route(c *tls.Conn) {
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := c.Handshake(); err != nil {
		_ = c.Close()
		return
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		_ = c.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	var to chan net.Conn
	switch b[0] {
	case muxRaft:
		if _, err := verifyNode(m.id.CA, peerChain(c.ConnectionState()), x509.ExtKeyUsageClientAuth); err != nil {
			m.log.Warn("cluster: refused a Raft connection", "from", c.RemoteAddr().String(), "err", err)
			_ = c.Close()
			return
		}
		to = m.raft
	case muxRPC:
		to = m.rpc // each handler checks the peer itself (rpc.go)
	default:
		_ = c.Close()
		return
	}
	select {
	case to <- c:
	case <-m.done:
		_ = c.Close()
	}
}

func (m *mux) Close() error {
	var err error
	m.once.Do(func() {
		close(m.done)
		err = m.ln.Close()
	})
	return err
}

// chanListener is a net.Listener fed by the mux.
type chanListener struct {
	ch   chan net.Conn
	addr net.Addr
	done chan struct{}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { return nil } // the mux closes
func (l *chanListener) Addr() net.Addr { return l.addr }

// streamLayer is Raft's view of the mux: it dials peers with this node's
// certificate and accepts the Raft connections the mux hands over.
type streamLayer struct {
	chanListener
	id     *Identity
	source string
}

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return dialFrom(context.Background(), s.source, s.id.clientConfig(), string(addr), timeout, muxRaft)
}

// dialService opens a TLS connection to addr and names the service.
func dialService(ctx context.Context, cfg *tls.Config, addr string, timeout time.Duration, service byte) (net.Conn, error) {
	return dialFrom(ctx, "", cfg, addr, timeout, service)
}

// dialFrom is dialService leaving from the local IP source ("" for any).
func dialFrom(ctx context.Context, source string, cfg *tls.Config, addr string, timeout time.Duration, service byte) (net.Conn, error) {
	nd := &net.Dialer{Timeout: timeout}
	if source != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(source)}
	}
	d := &tls.Dialer{NetDialer: nd, Config: cfg}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{service}); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// peerChain is the raw certificates a TLS peer showed.
func peerChain(cs tls.ConnectionState) [][]byte {
	raw := make([][]byte, len(cs.PeerCertificates))
	for i, c := range cs.PeerCertificates {
		raw[i] = c.Raw
	}
	return raw
}
