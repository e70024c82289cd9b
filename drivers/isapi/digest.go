package isapi

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync"
)

// ErrAuth: the terminal refused the credentials (401 after a digest answer).
var ErrAuth = errors.New("isapi: authentication refused")

// Challenge is a WWW-Authenticate: Digest challenge (RFC 7616 §3.3).
type Challenge struct {
	Realm, Nonce, Opaque, Algorithm, QOP string
}

// ParseChallenge reads a WWW-Authenticate header's Digest challenge.
func ParseChallenge(h string) (Challenge, error) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return Challenge{}, fmt.Errorf("isapi: challenge scheme %q is not Digest", scheme)
	}
	p := authParams(rest)
	c := Challenge{Realm: p["realm"], Nonce: p["nonce"], Opaque: p["opaque"], Algorithm: p["algorithm"]}
	for q := range strings.SplitSeq(p["qop"], ",") {
		if strings.TrimSpace(q) == "auth" {
			c.QOP = "auth"
		}
	}
	if c.Nonce == "" {
		return Challenge{}, errors.New("isapi: digest challenge without nonce")
	}
	switch strings.ToUpper(c.Algorithm) {
	case "", "MD5", "SHA-256":
	default:
		return Challenge{}, fmt.Errorf("isapi: digest algorithm %q not supported", c.Algorithm)
	}
	return c, nil
}

// authParams splits `a="x, y", b=z` into its parameters.
func authParams(s string) map[string]string {
	m := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ,\t")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var v string
		if strings.HasPrefix(rest, `"`) {
			rest = rest[1:]
			var b strings.Builder
			i := 0
			for ; i < len(rest) && rest[i] != '"'; i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
				}
				b.WriteByte(rest[i])
			}
			v, s = b.String(), rest[min(i+1, len(rest)):]
		} else {
			v, s, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		m[k] = v
	}
	return m
}

func hasher(alg string) func() hash.Hash {
	if strings.EqualFold(alg, "SHA-256") {
		return sha256.New
	}
	return md5.New
}

func hx(h func() hash.Hash, s string) string {
	d := h()
	io.WriteString(d, s)
	return hex.EncodeToString(d.Sum(nil))
}

// Response is the digest response (RFC 7616 §3.4.1) for one request:
// with qop=auth KD(H(A1), nonce:nc:cnonce:qop:H(A2)), without it the
// RFC 2069 form KD(H(A1), nonce:H(A2)).
func Response(c Challenge, user, password, method, uri, nc, cnonce string) string {
	h := hasher(c.Algorithm)
	ha1 := hx(h, user+":"+c.Realm+":"+password)
	ha2 := hx(h, method+":"+uri)
	if c.QOP == "auth" {
		return hx(h, ha1+":"+c.Nonce+":"+nc+":"+cnonce+":auth:"+ha2)
	}
	return hx(h, ha1+":"+c.Nonce+":"+ha2)
}

// Authorization is the Authorization header answering c.
func Authorization(c Challenge, user, password, method, uri, nc, cnonce string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%q, realm=%q, nonce=%q, uri=%q`, user, c.Realm, c.Nonce, uri)
	if c.Algorithm != "" {
		fmt.Fprintf(&b, `, algorithm=%s`, c.Algorithm)
	}
	fmt.Fprintf(&b, `, response=%q`, Response(c, user, password, method, uri, nc, cnonce))
	if c.Opaque != "" {
		fmt.Fprintf(&b, `, opaque=%q`, c.Opaque)
	}
	if c.QOP == "auth" {
		fmt.Fprintf(&b, `, qop=auth, nc=%s, cnonce=%q`, nc, cnonce)
	}
	return b.String()
}

// Credentials are an Authorization header's digest parameters, as a
// server (the simulator) reads them.
type Credentials struct {
	Username, Realm, Nonce, URI, Response, Algorithm, QOP, NC, CNonce, Opaque string
}

// ParseAuthorization reads a Digest Authorization header.
func ParseAuthorization(h string) (Credentials, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return Credentials{}, false
	}
	p := authParams(rest)
	return Credentials{Username: p["username"], Realm: p["realm"], Nonce: p["nonce"], URI: p["uri"], Response: p["response"],
		Algorithm: p["algorithm"], QOP: p["qop"], NC: p["nc"], CNonce: p["cnonce"], Opaque: p["opaque"]}, true
}

// Digest is an http.RoundTripper that answers Digest challenges. It keeps
// the last challenge and counts its nonce's uses, so after the first
// exchange each request goes out authorised at once; a stale or expired
// nonce costs one more round trip. Request bodies must be replayable
// (GetBody), as http.NewRequest makes them for byte readers.
type Digest struct {
	User, Password string
	Next           http.RoundTripper // nil: http.DefaultTransport

	mu sync.Mutex
	ch *Challenge
	nc uint32
}

func (d *Digest) next() http.RoundTripper {
	if d.Next != nil {
		return d.Next
	}
	return http.DefaultTransport
}

func (d *Digest) authorize(req *http.Request) *http.Request {
	d.mu.Lock()
	if d.ch == nil {
		d.mu.Unlock()
		return req
	}
	c := *d.ch
	d.nc++
	nc := fmt.Sprintf("%08x", d.nc)
	d.mu.Unlock()
	var raw [12]byte
	_, _ = rand.Read(raw[:])
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		r.Body, _ = req.GetBody()
	}
	r.Header.Set("Authorization", Authorization(c, d.User, d.Password, req.Method, req.URL.RequestURI(), nc, hex.EncodeToString(raw[:])))
	return r
}

// RoundTrip implements http.RoundTripper.
func (d *Digest) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := d.next().RoundTrip(d.authorize(req))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	c, perr := ParseChallenge(resp.Header.Get("WWW-Authenticate"))
	if perr != nil {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	d.mu.Lock()
	d.ch, d.nc = &c, 0
	d.mu.Unlock()
	if req.Body != nil && req.GetBody == nil {
		return nil, errors.New("isapi: request body cannot be replayed for digest authentication")
	}
	resp, err = d.next().RoundTrip(d.authorize(req))
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		return nil, ErrAuth
	}
	return resp, err
}
