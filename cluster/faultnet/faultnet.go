// Package faultnet is a fault-injecting TCP proxy for the site's partition
// tests: every node is reached through a front the network owns, and dials
// the others from its own loopback address (cluster.Config.Source), so the
// network knows who talks to whom and can cut any pair, both ways, live
// connections included. It is test support, not used by the appliance.
package faultnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Net is a set of nodes' fronts and the cuts between them.
type Net struct {
	mu      sync.Mutex
	sources map[string]string // source IP -> node
	ips     map[string]string // node -> source IP
	cut     map[[2]string]bool
	links   map[*link]struct{}
	fronts  []net.Listener
	wg      sync.WaitGroup
	closed  bool
	refused int
}

type link struct {
	from, to string
	a, b     net.Conn
}

// New returns an empty network.
func New() *Net {
	return &Net{sources: map[string]string{}, ips: map[string]string{}, cut: map[[2]string]bool{}, links: map[*link]struct{}{}}
}

// Source is the loopback address node dials from (127.0.0.10 and up).
func (n *Net) Source(node string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ip, ok := n.ips[node]; ok {
		return ip
	}
	ip := fmt.Sprintf("127.0.0.%d", 10+len(n.ips))
	n.ips[node], n.sources[ip] = ip, node
	return ip
}

// Front listens for node's inbound connections on loopback and forwards
// them to target (where node listens); it returns the address to
// advertise.
func (n *Net) Front(node, target string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	n.mu.Lock()
	n.fronts = append(n.fronts, ln)
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go n.serve(c, node, target)
		}
	}()
	return ln.Addr().String(), nil
}

// serve forwards one inbound connection of node to, unless cut.
func (n *Net) serve(c net.Conn, to, target string) {
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	n.mu.Lock()
	from := n.sources[host]
	if n.closed || n.cut[[2]string{from, to}] {
		n.refused++
		n.mu.Unlock()
		_ = c.Close()
		return
	}
	n.mu.Unlock()
	b, err := net.Dial("tcp", target)
	if err != nil {
		_ = c.Close()
		return
	}
	l := &link{from: from, to: to, a: c, b: b}
	n.mu.Lock()
	if n.closed || n.cut[[2]string{from, to}] {
		n.mu.Unlock()
		_ = c.Close()
		_ = b.Close()
		return
	}
	n.links[l] = struct{}{}
	n.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(b, c)
	go pipe(c, b)
	<-done
	_ = c.Close()
	_ = b.Close()
	<-done
	n.mu.Lock()
	delete(n.links, l)
	n.mu.Unlock()
}

// Partition cuts every pair of nodes in different groups, both ways, and
// closes their open connections. Nodes in no group keep their links.
func (n *Net) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, g := range groups {
		for j, h := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					n.cut[[2]string{a, b}] = true
				}
			}
		}
	}
	for l := range n.links {
		if n.cut[[2]string{l.from, l.to}] {
			_ = l.a.Close()
			_ = l.b.Close()
		}
	}
}

// Refused counts the connections a cut refused.
func (n *Net) Refused() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.refused
}

// Heal removes every cut.
func (n *Net) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut = map[[2]string]bool{}
}

// Close stops every front and connection.
func (n *Net) Close() error {
	n.mu.Lock()
	n.closed = true
	var errs []error
	for _, ln := range n.fronts {
		errs = append(errs, ln.Close())
	}
	for l := range n.links {
		_ = l.a.Close()
		_ = l.b.Close()
	}
	n.mu.Unlock()
	n.wg.Wait()
	return errors.Join(errs...)
}
