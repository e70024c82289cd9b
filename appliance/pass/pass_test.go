package pass

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	key      = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	otherKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	t0       = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	claims   = Claims{PassID: "01jd3k5v7x9z2b4c", VisitID: "01jd3k5v7x9z2b4d", NotBefore: t0, NotAfter: t0.Add(2 * time.Hour)}
)

func TestSignVerifyRoundTrip(t *testing.T) {
	tok, err := Sign(key, claims)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > 140 {
		t.Errorf("token is %d characters", len(tok))
	}
	c, err := Verify(key.Public().(ed25519.PublicKey), tok, t0.Add(time.Minute))
	if err != nil || c != claims {
		t.Fatalf("verify = %+v %v", c, err)
	}
}

func TestRejectionReasons(t *testing.T) {
	pub := key.Public().(ed25519.PublicKey)
	tok, _ := Sign(key, claims)
	forged, _ := Sign(otherKey, claims)
	// Alter the pass ID: flip bits in the middle of the body.
	raw := []byte(tok)
	i := len(prefix) + 10
	if raw[i] == 'A' {
		raw[i] = 'B'
	} else {
		raw[i] = 'A'
	}
	altered := string(raw)
	state := func(s State) func(Claims) (State, error) { return func(Claims) (State, error) { return s, nil } }
	tests := []struct {
		name  string
		token string
		at    time.Time
		in    bool
		st    State
		want  Reason
	}{
		{"good entry", tok, t0, true, State{Known: true, Usable: true, Outside: true}, ""},
		{"good exit", tok, t0, false, State{Known: true, Usable: true, Inside: true}, ""},
		{"malformed", "GH1.abc", t0, true, State{}, Malformed},
		{"not a pass", "https://example.com", t0, true, State{}, Malformed},
		{"forged", forged, t0, true, State{Known: true, Usable: true}, Forged},
		{"altered", altered, t0, true, State{Known: true, Usable: true}, Altered},
		{"not yet valid", tok, t0.Add(-time.Second), true, State{Known: true, Usable: true}, NotYetValid},
		{"expired at the end", tok, t0.Add(2 * time.Hour), true, State{Known: true, Usable: true}, Expired},
		{"revoked", tok, t0, true, State{Known: true, Usable: false}, Revoked},
		{"unknown pass", tok, t0, true, State{}, Revoked},
		{"replayed entry", tok, t0, true, State{Known: true, Usable: true, Inside: true}, Replayed},
		{"replayed exit", tok, t0, false, State{Known: true, Usable: true, Outside: true}, Replayed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(pub, tc.token, tc.at, tc.in, state(tc.st))
			if got := ReasonOf(err); got != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("reason = %q (%v), want %q", got, err, tc.want)
			}
		})
	}
}

func TestSignRefusesBadClaims(t *testing.T) {
	bad := claims
	bad.PassID = "short"
	if _, err := Sign(key, bad); !errors.Is(err, ErrBadClaims) {
		t.Error("bad pass ID accepted")
	}
	bad = claims
	bad.NotAfter = bad.NotBefore.Add(-time.Minute)
	if _, err := Sign(key, bad); !errors.Is(err, ErrBadClaims) {
		t.Error("inverted window accepted")
	}
}

// TestQRDecodesWithARealReader renders the pass as PNG and has zbarimg (a
// real QR decoder) read it back.
func TestQRDecodesWithARealReader(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("zbarimg missing in CI")
		}
		t.Skip("zbarimg not installed")
	}
	tok, _ := Sign(key, claims)
	png, err := PNG(tok, 320)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pass.png")
	os.WriteFile(p, png, 0o600)
	out, err := exec.Command(zbar, "--raw", "-q", p).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != tok {
		t.Fatalf("decoded %q, want %q", got, tok)
	}
	svg, err := SVG(tok)
	if err != nil || !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "M") {
		t.Fatalf("svg: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	tok, _ := Sign(key, claims)
	f.Add(tok)
	f.Add("GH1.")
	f.Add(strings.Repeat("A", 200))
	pub := key.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Verify(pub, s, t0)
		if err == nil && s != tok && c != claims {
			// Any accepted token must re-sign to itself: no malleability.
			again, _ := Sign(key, c)
			if again != strings.TrimSpace(s) {
				t.Fatalf("accepted a token that is not the signed one: %q", s)
			}
		}
		if err != nil && ReasonOf(err) == "" {
			t.Fatalf("refusal without a reason: %v", err)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	tok, _ := Sign(key, claims)
	pub := key.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(pub, tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}
