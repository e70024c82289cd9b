package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// nodeName is the DNS name every node certificate carries and every node
// asks for: nodes are reached by address, and what proves a peer is the
// site's CA signature, not a host name (DESIGN.md, Trust).
const nodeName = "node.gatehouse.site"

// CA is the site's certificate authority, made by `cluster init`. Every
// voter holds it so that any leader can sign a joining node's certificate.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	PEM  []byte // the certificate
}

// NewCA makes a site CA valid for 20 years.
func NewCA(site string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Gatehouse site CA " + site, Organization: []string{"Gatehouse"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}, nil
}

// Pin identifies the CA the way a join token carries it: the SHA-256 of
// its public key (as kubeadm's discovery hash does).
func (ca *CA) Pin() string { return pinOf(ca.Cert) }

func pinOf(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Issue signs a node certificate for pub, valid for 10 years, naming the
// node by its ID.
func (ca *CA) Issue(nodeID string, pub crypto.PublicKey, now time.Time) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: nodeID, Organization: []string{"Gatehouse"}},
		DNSNames:     []string{nodeName},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// NewNodeKey makes a node's private key.
func NewNodeKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// Identity is what a node proves itself with: its certificate and key,
// and the site CA it trusts.
type Identity struct {
	NodeID string
	Cert   tls.Certificate
	CA     *x509.Certificate
}

// NewIdentity builds an identity from PEM blocks.
func NewIdentity(nodeID string, certPEM, keyPEM, caPEM []byte) (*Identity, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster: node certificate: %w", err)
	}
	ca, err := parseCert(caPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster: site CA: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, err
	}
	cert.Leaf = leaf
	// The CA goes with the leaf, so that a joining node can check the
	// chain against the pin in its token.
	cert.Certificate = append(cert.Certificate, ca.Raw)
	return &Identity{NodeID: nodeID, Cert: cert, CA: ca}, nil
}

func parseCert(p []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(p)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

// EncodeKey is a private key in PEM.
func EncodeKey(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// DecodeKey is the inverse of EncodeKey.
func DecodeKey(p []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(p)
	if b == nil || b.Type != "EC PRIVATE KEY" {
		return nil, errors.New("cluster: not a PEM EC private key")
	}
	return x509.ParseECPrivateKey(b.Bytes)
}

// verifyNode checks a peer's chain against the site CA: signed by it,
// current, usable for TLS.
func verifyNode(ca *x509.Certificate, raw [][]byte, usage x509.ExtKeyUsage) (*x509.Certificate, error) {
	if len(raw) == 0 {
		return nil, errNoCert
	}
	leaf, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return nil, fmt.Errorf("%w: %v", errForeignCert, err)
	}
	return leaf, nil
}

var (
	errNoCert      = errors.New("cluster: the peer showed no certificate")
	errForeignCert = errors.New("cluster: the peer's certificate is not from this site")
)

// serverConfig accepts every TLS client (a joining node has no
// certificate yet) but records whether the client proved itself: the mux
// lets only proven peers reach Raft and forwarding (transport.go).
func (id *Identity) serverConfig() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{id.Cert},
		ClientAuth:   tls.RequestClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

// clientConfig proves this node and accepts only a peer signed by the
// site CA.
func (id *Identity) clientConfig() *tls.Config {
	ca := id.CA
	return &tls.Config{
		Certificates:       []tls.Certificate{id.Cert},
		MinVersion:         tls.VersionTLS13,
		ServerName:         nodeName,
		InsecureSkipVerify: true, // replaced by the check below, which pins the site CA
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			_, err := verifyNode(ca, raw, x509.ExtKeyUsageServerAuth)
			return err
		},
	}
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func (id *Identity) caPin() string { return pinOf(id.CA) }
