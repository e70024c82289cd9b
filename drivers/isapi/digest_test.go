package isapi

import "testing"

// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
func TestDigestRFC7616Example(t *testing.T) {
	h := `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, ` +
		`nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
	c, err := ParseChallenge(h)
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != "http-auth@example.org" || c.QOP != "auth" || c.Opaque != "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS" {
		t.Fatalf("challenge %+v", c)
	}
	const cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
	for _, tc := range []struct{ alg, want string }{
		{"MD5", "8ca523f5e9506fed4657c9700eebdbec"},
		{"SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		c.Algorithm = tc.alg
		if got := Response(c, "Mufasa", "Circle of Life", "GET", "/dir/index.html", "00000001", cnonce); got != tc.want {
			t.Errorf("%s: response %s, want %s", tc.alg, got, tc.want)
		}
	}
	c.Algorithm = "MD5"
	a, ok := ParseAuthorization(Authorization(c, "Mufasa", "Circle of Life", "GET", "/dir/index.html", "00000001", cnonce))
	if !ok || a.Response != "8ca523f5e9506fed4657c9700eebdbec" || a.NC != "00000001" || a.CNonce != cnonce || a.QOP != "auth" || a.Opaque != c.Opaque {
		t.Fatalf("authorization round trip %+v", a)
	}
}

// RFC 2617 §3.5, the classic example (qop=auth, MD5).
func TestDigestRFC2617Example(t *testing.T) {
	c := Challenge{Realm: "testrealm@host.com", Nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093", QOP: "auth"}
	if got := Response(c, "Mufasa", "Circle Of Life", "GET", "/dir/index.html", "00000001", "0a4f113b"); got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("response %s", got)
	}
}

func TestChallengeRefused(t *testing.T) {
	for _, h := range []string{`Basic realm="x"`, `Digest realm="x"`, `Digest nonce="n", algorithm=SHA-512-256`} {
		if _, err := ParseChallenge(h); err == nil {
			t.Errorf("%q accepted", h)
		}
	}
}
