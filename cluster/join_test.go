package cluster

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gatehouse/appliance/clock"
	"gatehouse/appliance/directory"
	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"

	"github.com/hashicorp/raft"
)

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	_ = ln.Close()
	return a
}

type appliance struct {
	dir string
	st  *store.Store
	n   *Node
}

// openAppliance opens the store in dir as the appliance does (site key
// first), and starts its node if it belongs to a site.
func openAppliance(t *testing.T, dir string) *appliance {
	t.Helper()
	if _, err := secret.LoadOrCreate(dir); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: dir, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	directory.Register(st)
	Register(st)
	a := &appliance{dir: dir, st: st}
	t.Cleanup(a.close)
	if Member(dir) {
		a.n, err = StartLocal(dir, st, quietLogger(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.n.WaitReady(context.Background(), 10*time.Second); err != nil {
			t.Fatalf("%s not ready: %v", dir, err)
		}
	}
	return a
}

func (a *appliance) close() {
	if a.n != nil {
		_ = a.n.Close()
		a.n = nil
	}
	if a.st != nil {
		_ = a.st.Close()
		a.st = nil
	}
}

func TestFormingASiteWithInitTokenAndJoin(t *testing.T) {
	ctx := context.Background()
	north := t.TempDir()
	// A single appliance with its history...
	a := openAppliance(t, north)
	dir := directory.New(a.st, clock.System{}, nil)
	if _, err := dir.SaveFloor(ctx, "admin", directory.Floor{Name: "1F", Level: 1}); err != nil {
		t.Fatal(err)
	}
	a.close()
	// ... becomes the first node of a site, its data the site's.
	northAddr := freeAddr(t)
	if _, err := Init(north, "north", northAddr, northAddr, time.Now()); err != nil {
		t.Fatal(err)
	}
	a = openAppliance(t, north)
	if !a.n.IsLeader() {
		t.Fatal("the founding node does not lead its site")
	}
	_, _, ca, err := Load(north)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := IssueToken(ctx, a.st, ca, "admin", time.Now(), 0, true)
	if err != nil {
		t.Fatal(err)
	}

	south := t.TempDir()
	southAddr := freeAddr(t)
	if _, err := Join(ctx, south, JoinOptions{Addr: northAddr, Token: tok.String(), ID: "south", Bind: southAddr, Advertise: southAddr}); err != nil {
		t.Fatal(err)
	}
	b := openAppliance(t, south)
	// The new node holds the site's state, its audit chain and its key.
	if fs, err := directory.New(b.st, clock.System{}, nil).Floors(true); err != nil || len(fs) != 1 {
		t.Fatalf("the joined node has floors %v (%v), want the site's one", fs, err)
	}
	k1, _ := secret.ReadMaster(north)
	k2, _ := secret.ReadMaster(south)
	if !bytes.Equal(k1, k2) {
		t.Fatal("the joined node does not hold the site key")
	}
	// Writes on the new node reach the site.
	if _, err := directory.New(b.st, clock.System{}, nil).SaveFloor(ctx, "admin", directory.Floor{Name: "2F", Level: 2}); err != nil {
		t.Fatal(err)
	}
	waitHeadsEqual(t, a, b)

	// Bad tokens: each is refused with its reason and nothing changes.
	other, _ := NewCA("another site", time.Now())
	foreign, _ := NewToken(other)
	forged := tok
	forged.Secret = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	expiring, _, err := IssueToken(ctx, a.st, ca, "admin", time.Now(), time.Millisecond, true)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	unknown, _ := NewToken(ca)
	fresh := func() string {
		tok, _, err := IssueToken(ctx, a.st, ca, "admin", time.Now(), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		return tok.String()
	}
	for _, c := range []struct {
		name   string
		token  string
		want   error
		schema uint32
		now    func() time.Time
	}{
		// A good token, but another release's data layout, or a clock
		// nobody set: refused, with the reason.
		{"older release", fresh(), ErrSchema, store.SchemaVersion - 1, nil},
		{"newer release", fresh(), ErrSchema, store.SchemaVersion + 1, nil},
		{"clock ahead", fresh(), ErrClockSkew, 0, func() time.Time { return time.Now().Add(3 * time.Minute) }},
		{"used", tok.String(), ErrTokenUsed, 0, nil},
		{"forged", forged.String(), ErrTokenForged, 0, nil},
		{"expired", expiring.String(), ErrTokenExpired, 0, nil},
		{"unknown", unknown.String(), ErrTokenUnknown, 0, nil},
		{"another site", foreign.String(), ErrOtherSite, 0, nil},
		{"malformed", "gh1.nonsense", ErrTokenMalformed, 0, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			addr := freeAddr(t)
			_, err := Join(ctx, d, JoinOptions{Addr: northAddr, Token: c.token, ID: "east", Bind: addr, Advertise: addr,
				schema: c.schema, now: c.now})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if Member(d) {
				t.Fatal("a refused node has a node's files")
			}
			if _, err := os.Stat(filepath.Join(d, secret.FileName)); !os.IsNotExist(err) {
				t.Fatal("a refused node received the site key")
			}
		})
	}
	servers := a.n.raft.GetConfiguration().Configuration().Servers
	if len(servers) != 2 {
		t.Fatalf("the site has %d members after refused joins, want 2", len(servers))
	}
	// A directory that holds an appliance's data does not join.
	if _, err := Join(ctx, north, JoinOptions{Addr: northAddr, Token: tok.String(), ID: "again", Bind: northAddr, Advertise: northAddr}); err == nil {
		t.Fatal("a data directory that belongs to a site joined again")
	}
}

func waitHeadsEqual(t *testing.T, nodes ...*appliance) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var heads [][]byte
		for _, a := range nodes {
			var h []byte
			if err := a.st.View(func(r *store.Reader) error {
				if _, err := store.VerifyAudit(r); err != nil {
					return err
				}
				_, hh, err := store.AuditHead(r)
				h = hh
				return err
			}); err != nil {
				t.Fatal(err)
			}
			heads = append(heads, h)
		}
		same := true
		for _, h := range heads[1:] {
			same = same && bytes.Equal(h, heads[0])
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit heads differ: %x", heads)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestATwoLobbySiteWithAWitnessSurvivesEitherLobby(t *testing.T) {
	ctx := context.Background()
	north, south, witness := t.TempDir(), t.TempDir(), t.TempDir()
	northAddr, southAddr, witnessAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	if _, err := Init(north, "north", northAddr, northAddr, time.Now()); err != nil {
		t.Fatal(err)
	}
	a := openAppliance(t, north)
	_, _, ca, _ := Load(north)
	join := func(dir, id, addr string, witness bool) {
		t.Helper()
		tok, _, err := IssueToken(ctx, a.st, ca, "admin", time.Now(), 0, true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Join(ctx, dir, JoinOptions{Addr: northAddr, Token: tok.String(), ID: id, Bind: addr, Advertise: addr, Witness: witness}); err != nil {
			t.Fatal(err)
		}
	}
	join(south, "south", southAddr, false)
	b := openAppliance(t, south)
	join(witness, "witness", witnessAddr, true)
	if _, err := os.Stat(filepath.Join(witness, secret.FileName)); !os.IsNotExist(err) {
		t.Fatal("the witness received the site key: it must hold the records sealed only")
	}
	wst, err := store.Open(store.Options{Dir: witness, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	directory.Register(wst)
	Register(wst)
	w := &appliance{dir: witness, st: wst}
	t.Cleanup(w.close)
	if w.n, err = StartLocal(witness, wst, quietLogger(), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.n.WaitReady(ctx, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !w.n.Witness() {
		t.Fatal("the witness does not know it is one")
	}
	if _, err := directory.New(b.st, clock.System{}, nil).SaveFloor(ctx, "admin", directory.Floor{Name: "1F", Level: 1}); err != nil {
		t.Fatal(err)
	}
	waitHeadsEqual(t, a, b, w)
	waitFor(t, 15*time.Second, "three voters", func() bool { return a.n.Status().Voters() == 3 })
	// Try to hand the witness the leadership: it passes it on.
	if a.n.IsLeader() {
		_ = a.n.raft.LeadershipTransferToServer("witness", raft.ServerAddress(witnessAddr)).Error()
	}
	waitFor(t, 10*time.Second, "a lobby leads, not the witness", func() bool {
		id, _ := b.n.Leader()
		return id == "north" || id == "south"
	})
	// Either lobby may die: the other and the witness carry on.
	a.close()
	waitFor(t, 10*time.Second, "south leads", func() bool { return b.n.IsLeader() })
	if _, err := directory.New(b.st, clock.System{}, nil).SaveFloor(ctx, "admin", directory.Floor{Name: "2F", Level: 2}); err != nil {
		t.Fatalf("south with the witness, north dead: %v", err)
	}
	waitHeadsEqual(t, b, w)
}
