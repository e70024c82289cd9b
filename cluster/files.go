package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
)

// A node's files, in DATA/cluster (0700, files 0600): the site CA's
// certificate and key, the node's certificate and key, and node.json.
// Raft's own files (raft.db, snapshots/) live beside them.
const (
	fileNode   = "node.json"
	fileCA     = "ca.pem"
	fileCAKey  = "ca.key"
	fileCert   = "node.pem"
	fileKey    = "node.key"
	dirCluster = "cluster"
)

// Dir is a node's cluster directory inside its data directory.
func Dir(dataDir string) string { return filepath.Join(dataDir, dirCluster) }

// Member says whether the data directory belongs to a node of a site.
func Member(dataDir string) bool {
	_, err := os.Stat(filepath.Join(Dir(dataDir), fileNode))
	return err == nil
}

// Local is what a node knows about itself.
type Local struct {
	ID        string `json:"id"`
	Bind      string `json:"bind"`              // address the cluster port listens on
	Advertise string `json:"advertise"`         // address the other nodes dial
	Site      string `json:"site"`              // the site CA's pin
	Founder   bool   `json:"founder,omitempty"` // made by init: bootstraps the site at its first start
	Witness   bool   `json:"witness,omitempty"`
	Voter     bool   `json:"voter,omitempty"` // joined with a voter's token: asks to be promoted once caught up
}

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$`)

// ValidNodeID says whether id can name a node: letters, digits, - and _.
func ValidNodeID(id string) bool { return nodeIDPattern.MatchString(id) }

// save writes the node's files, refusing to overwrite a node's.
func save(dataDir string, l Local, caPEM, caKeyPEM, certPEM, keyPEM []byte) error {
	dir := Dir(dataDir)
	if Member(dataDir) {
		return fmt.Errorf("cluster: %s already belongs to a site", dataDir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	nj, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return err
	}
	// node.json last: until it exists the directory is not a node's.
	for _, f := range []struct {
		name string
		b    []byte
	}{{fileCA, caPEM}, {fileCAKey, caKeyPEM}, {fileCert, certPEM}, {fileKey, keyPEM}, {fileNode, nj}} {
		if err := writeSynced(filepath.Join(dir, f.name), f.b); err != nil {
			return err
		}
	}
	return syncDirPath(dir)
}

// Load reads a node's files.
func Load(dataDir string) (Local, *Identity, *CA, error) {
	dir := Dir(dataDir)
	var l Local
	b, err := os.ReadFile(filepath.Join(dir, fileNode))
	if err != nil {
		return l, nil, nil, fmt.Errorf("cluster: %s is not a node of a site: %w", dataDir, err)
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return l, nil, nil, fmt.Errorf("cluster: %s: %w", fileNode, err)
	}
	read := func(name string) []byte {
		if err != nil {
			return nil
		}
		var v []byte
		v, err = os.ReadFile(filepath.Join(dir, name))
		return v
	}
	caPEM, caKey, cert, key := read(fileCA), read(fileCAKey), read(fileCert), read(fileKey)
	if err != nil {
		return l, nil, nil, fmt.Errorf("cluster: %w", err)
	}
	id, err := NewIdentity(l.ID, cert, key, caPEM)
	if err != nil {
		return l, nil, nil, err
	}
	k, err := DecodeKey(caKey)
	if err != nil {
		return l, nil, nil, err
	}
	ca := &CA{Cert: id.CA, Key: k, PEM: caPEM}
	if ca.Pin() != l.Site {
		return l, nil, nil, errors.New("cluster: the CA in the node's files is not its site's")
	}
	return l, id, ca, nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func syncDirPath(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
