package cluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/raft"

	"gatehouse/appliance/secret"
	"gatehouse/appliance/store"
)

// Forming a site (DESIGN.md, Trust): `cluster init` makes the CA and the
// first node; `cluster join` brings a new, empty appliance in with a token.

// Init makes dataDir the first node of a new site: the site CA, this
// node's certificate, and node.json. The store already in dataDir becomes
// the site's state when the node first starts (serve bootstraps it).
func Init(dataDir, id, bind, advertise string, now time.Time) (Local, error) {
	if !ValidNodeID(id) {
		return Local{}, fmt.Errorf("cluster: %q cannot name a node (letters, digits, - and _)", id)
	}
	if _, _, err := net.SplitHostPort(advertise); err != nil {
		return Local{}, fmt.Errorf("cluster: the address the other lobbies dial, %q, is not host:port", advertise)
	}
	ca, err := NewCA(id, now)
	if err != nil {
		return Local{}, err
	}
	key, err := NewNodeKey()
	if err != nil {
		return Local{}, err
	}
	cert, err := ca.Issue(id, &key.PublicKey, now)
	if err != nil {
		return Local{}, err
	}
	caKey, err := EncodeKey(ca.Key)
	if err != nil {
		return Local{}, err
	}
	nodeKey, err := EncodeKey(key)
	if err != nil {
		return Local{}, err
	}
	l := Local{ID: id, Bind: bind, Advertise: advertise, Site: ca.Pin(), Founder: true}
	return l, save(dataDir, l, ca.PEM, caKey, cert, nodeKey)
}

type joinRequest struct {
	Token     string `json:"token"`
	NodeID    string `json:"node_id"`
	Address   string `json:"address"`
	PublicKey string `json:"public_key"` // PEM, PKIX
	Schema    uint32 `json:"schema"`
	Witness   bool   `json:"witness,omitempty"` // a voter that serves nothing: it gets no site key
	Clock     int64  `json:"clock,omitempty"`   // the joining node's clock, Unix ns (MaxClockSkew)
}

type joinReply struct {
	Code    string `json:"code,omitempty"` // empty: joined
	Message string `json:"message,omitempty"`
	Leader  string `json:"leader,omitempty"` // when Code is "not_leader"

	NodeCert string `json:"node_cert,omitempty"`
	CACert   string `json:"ca_cert,omitempty"`
	CAKey    string `json:"ca_key,omitempty"`
	SiteKey  []byte `json:"site_key,omitempty"`
	Voter    bool   `json:"voter,omitempty"`
}

// joinCodes name the refusals a joining node is told, and the errors they
// stand for on its side.
var joinCodes = map[string]error{
	"token_malformed": ErrTokenMalformed,
	"token_unknown":   ErrTokenUnknown,
	"token_used":      ErrTokenUsed,
	"token_expired":   ErrTokenExpired,
	"token_forged":    ErrTokenForged,
	"other_site":      ErrOtherSite,
	"no_quorum":       ErrNoQuorum,
	"schema":          ErrSchema,
	"name_taken":      ErrNameTaken,
	"bad_request":     ErrBadJoin,
	"busy":            ErrBusy,
	"clock_skew":      ErrClockSkew,
}

var (
	ErrSchema    = errors.New("cluster: the joining node's release stores data in another layout than the site's; install the site's release")
	ErrNameTaken = errors.New("cluster: a node of the site already has that name or address")
	ErrBadJoin   = errors.New("cluster: the join request is malformed")
	ErrBusy      = errors.New("cluster: too many join attempts; wait a minute")
)

func codeOf(err error) string {
	for code, e := range joinCodes {
		if errors.Is(err, e) {
			return code
		}
	}
	return ""
}

func (r *rpcServer) handleJoin(w http.ResponseWriter, req *http.Request) {
	reply := r.join(req)
	w.Header().Set("Content-Type", "application/json")
	if reply.Code != "" {
		r.n.log.Warn("cluster: refused a join", "from", req.RemoteAddr, "code", reply.Code)
	}
	_ = json.NewEncoder(w).Encode(reply)
}

func (r *rpcServer) join(req *http.Request) joinReply {
	n := r.n
	refuse := func(err error) joinReply {
		code := codeOf(err)
		if code == "" {
			return joinReply{Code: "error", Message: err.Error()}
		}
		return joinReply{Code: code, Message: err.Error()}
	}
	host, _, _ := net.SplitHostPort(req.RemoteAddr)
	if !r.joins.Allow(host, time.Now()) {
		return refuse(ErrBusy)
	}
	var jr joinRequest
	if err := json.NewDecoder(io.LimitReader(req.Body, 64<<10)).Decode(&jr); err != nil {
		return refuse(ErrBadJoin)
	}
	tok, err := ParseToken(jr.Token)
	if err != nil {
		return refuse(err)
	}
	if n.cfg.CA == nil || tok.Pin != n.cfg.CA.Pin() {
		return refuse(ErrOtherSite)
	}
	if !n.IsLeader() {
		_, addr := n.Leader()
		if addr == "" {
			return refuse(ErrNoQuorum)
		}
		return joinReply{Code: "not_leader", Leader: addr}
	}
	if jr.Witness && !tokenVoter(n, tok.ID) {
		return refuse(fmt.Errorf("%w: a witness votes; issue a voter's token", ErrBadJoin))
	}
	if jr.Schema != store.SchemaVersion {
		return refuse(fmt.Errorf("%w (it stores version %d, the site %d)", ErrSchema, jr.Schema, store.SchemaVersion))
	}
	if d := skewed(jr.Clock, n.cfg.Now()); d != 0 {
		return refuse(skewError(d))
	}
	if !ValidNodeID(jr.NodeID) {
		return refuse(ErrBadJoin)
	}
	if _, _, err := net.SplitHostPort(jr.Address); err != nil {
		return refuse(ErrBadJoin)
	}
	pub, err := parsePublicKey(jr.PublicKey)
	if err != nil {
		return refuse(ErrBadJoin)
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return refuse(err)
	}
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == jr.NodeID || string(s.Address) == jr.Address {
			return refuse(ErrNameTaken)
		}
	}
	// Spend the token through the log: a use is final site-wide, and two
	// nodes racing with one token cannot both win.
	now := time.Now()
	if _, err := store.Issue(req.Context(), n, CmdTokenUse, "node:"+jr.NodeID, now,
		tokenUse{ID: tok.ID, Hash: secretHash(tok.Secret), NodeID: jr.NodeID}); err != nil {
		return refuse(err)
	}
	var rec TokenRecord
	if err := n.st.View(func(rd *store.Reader) error {
		return rd.GetJSON(store.Key(store.KindJoinToken, tok.ID), &rec)
	}); err != nil {
		return refuse(err)
	}
	cert, err := n.cfg.CA.Issue(jr.NodeID, pub, now)
	if err != nil {
		return refuse(err)
	}
	caKey, err := EncodeKey(n.cfg.CA.Key)
	if err != nil {
		return refuse(err)
	}
	// A witness applies the site's commands but never reads personal
	// data: it gets no site key, and holds the sealed records only.
	var master []byte
	if !jr.Witness {
		if master, err = secret.ReadMaster(n.cfg.DataDir); err != nil {
			return refuse(err)
		}
	}
	// Every node joins as a non-voter and is promoted once it has caught
	// up (promote.go): a voter added before it runs would count against
	// the quorum, and a one-lobby site would stop taking changes until
	// the new appliance started.
	if err := n.raft.AddNonvoter(raft.ServerID(jr.NodeID), raft.ServerAddress(jr.Address), 0, 10*time.Second).Error(); err != nil {
		return refuse(fmt.Errorf("cluster: add the node: %w", err))
	}
	n.log.Info("a node joined the site", "node", jr.NodeID, "address", jr.Address, "voter", rec.Voter)
	return joinReply{NodeCert: string(cert), CACert: string(n.cfg.CA.PEM), CAKey: string(caKey), SiteKey: master, Voter: rec.Voter}
}

func parsePublicKey(p string) (*ecdsa.PublicKey, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil || b.Type != "PUBLIC KEY" {
		return nil, ErrBadJoin
	}
	k, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, ErrBadJoin
	}
	return ek, nil
}

// JoinOptions are what `cluster join` is given.
type JoinOptions struct {
	Addr      string // a node of the site, host:port of its cluster port
	Token     string
	ID        string // this node's name
	Bind      string
	Advertise string
	Witness   bool // a voter with no pages and no devices (two-lobby sites)

	schema uint32           // tests: another release's layout (0: this one's)
	now    func() time.Time // tests: a skewed clock (nil: time.Now)
}

// Join brings the new appliance in dataDir (which must hold no store yet)
// into a site. It checks that it reached the site the token names before
// it sends the token, and writes the node's files and the site key only
// when the site has accepted it.
func Join(ctx context.Context, dataDir string, o JoinOptions) (Local, error) {
	tok, err := ParseToken(o.Token)
	if err != nil {
		return Local{}, err
	}
	if !ValidNodeID(o.ID) {
		return Local{}, fmt.Errorf("cluster: %q cannot name a node (letters, digits, - and _)", o.ID)
	}
	if Member(dataDir) {
		return Local{}, fmt.Errorf("cluster: %s already belongs to a site", dataDir)
	}
	if has, err := holdsData(dataDir); err != nil || has {
		if err == nil {
			err = fmt.Errorf("cluster: %s already holds an appliance's data; a node joins with an empty data directory and gets the site's", dataDir)
		}
		return Local{}, err
	}
	key, err := NewNodeKey()
	if err != nil {
		return Local{}, err
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return Local{}, err
	}
	schema, now := o.schema, o.now
	if schema == 0 {
		schema = store.SchemaVersion
	}
	if now == nil {
		now = time.Now
	}
	body, _ := json.Marshal(joinRequest{Token: o.Token, NodeID: o.ID, Address: o.Advertise,
		PublicKey: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), Schema: schema, Witness: o.Witness,
		Clock: now().UnixNano()})

	addr := o.Addr
	var reply joinReply
	for hop := 0; ; hop++ {
		reply, err = postJoin(ctx, addr, tok.Pin, body)
		if err != nil {
			return Local{}, err
		}
		if reply.Code == "not_leader" && reply.Leader != "" && hop < 3 {
			addr = reply.Leader
			continue
		}
		break
	}
	if reply.Code != "" {
		if e, ok := joinCodes[reply.Code]; ok {
			return Local{}, e
		}
		return Local{}, fmt.Errorf("cluster: the site refused the join: %s", reply.Message)
	}
	caCert, err := parseCert([]byte(reply.CACert))
	if err != nil || pinOf(caCert) != tok.Pin {
		return Local{}, ErrOtherSite
	}
	nodeKey, err := EncodeKey(key)
	if err != nil {
		return Local{}, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return Local{}, err
	}
	if !o.Witness {
		if err := secret.WriteMaster(dataDir, reply.SiteKey); err != nil {
			return Local{}, fmt.Errorf("cluster: keep the site key: %w", err)
		}
	}
	l := Local{ID: o.ID, Bind: o.Bind, Advertise: o.Advertise, Site: tok.Pin, Witness: o.Witness, Voter: reply.Voter}
	return l, save(dataDir, l, []byte(reply.CACert), []byte(reply.CAKey), []byte(reply.NodeCert), nodeKey)
}

// postJoin sends the join request to addr over TLS, having checked that
// the server's certificate chain ends at the CA the pin names.
func postJoin(ctx context.Context, addr, pin string, body []byte) (joinReply, error) {
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // replaced by the pin check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			for _, c := range raw[1:] {
				ca, err := x509.ParseCertificate(c)
				if err != nil || pinOf(ca) != pin {
					continue
				}
				_, err = verifyNode(ca, raw, x509.ExtKeyUsageServerAuth)
				return err
			}
			return ErrOtherSite
		},
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, a string) (net.Conn, error) {
			return dialService(ctx, cfg, a, 5*time.Second, muxRPC)
		},
	}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+pathJoin, bytes.NewReader(body))
	if err != nil {
		return joinReply{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, ErrOtherSite) || strings.Contains(err.Error(), ErrOtherSite.Error()) {
			return joinReply{}, ErrOtherSite
		}
		return joinReply{}, fmt.Errorf("cluster: reach %s: %w", addr, err)
	}
	defer resp.Body.Close()
	var reply joinReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&reply); err != nil {
		return joinReply{}, fmt.Errorf("cluster: %s answered something else than a site: %w", addr, err)
	}
	return reply, nil
}

// holdsData says whether dataDir already holds an appliance's store.
func holdsData(dataDir string) (bool, error) {
	ents, err := os.ReadDir(dataDir)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sst") || strings.HasSuffix(e.Name(), ".vlog") || e.Name() == "MANIFEST" || e.Name() == secret.FileName {
			return true, nil
		}
	}
	return false, nil
}

// tokenVoter says whether the token id is a voter's. An unknown token
// counts as one here: spending it then refuses it with its own reason.
func tokenVoter(n *Node, id string) bool {
	var rec TokenRecord
	err := n.st.View(func(r *store.Reader) error {
		return r.GetJSON(store.Key(store.KindJoinToken, id), &rec)
	})
	return err != nil || rec.Voter
}
