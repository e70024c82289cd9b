package ui

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gatehouse/appliance/auth"
)

// residentKB reads this process's resident set size.
func residentKB(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// peakResident runs f while sampling resident memory, and returns the rise
// of the peak over the level before f, in MB.
func peakResident(t *testing.T, f func()) float64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	base := residentKB(t)
	var peak atomic.Int64
	peak.Store(base)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if n := residentKB(t); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	wg.Wait()
	return float64(peak.Load()-base) / 1024
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// bigMultipart streams a multipart body with one file part of n bytes, as a
// stranger's script would send it, without holding it in memory.
func bigMultipart(n int64) (io.Reader, string, int64) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	_ = mw.WriteField("name", "x")
	_, _ = mw.CreateFormFile("photo", "big.bin")
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	size := int64(head.Len()) + n + int64(len(tail))
	return io.MultiReader(bytes.NewReader(head.Bytes()), io.LimitReader(zeros{}, n), strings.NewReader(tail)), mw.FormDataContentType(), size
}

// TestStrangersBodiesRefusedBeforeParsing: eight concurrent 20 MB multipart
// posts to /book without a CSRF token, with and without a Content-Length,
// raise resident memory by less than 32 MB. Before, each was read whole by
// the CSRF check first (62 → 501 MB on the device).
func TestStrangersBodiesRefusedBeforeParsing(t *testing.T) {
	h := newHarness(t)
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			var refused atomic.Int32
			rise := peakResident(t, func() {
				var wg sync.WaitGroup
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						body, ctype, size := bigMultipart(20 << 20)
						r, _ := http.NewRequest("POST", h.ts.URL+"/book", body)
						r.Header.Set("Content-Type", ctype)
						if !chunked {
							r.ContentLength = size
						}
						resp, err := http.DefaultClient.Do(r)
						if err != nil {
							refused.Add(1) // the server hung up on the body: refused too
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusRequestEntityTooLarge || resp.StatusCode == http.StatusForbidden {
							refused.Add(1)
						} else {
							t.Errorf("20 MB post = %d, want refused", resp.StatusCode)
						}
					}()
				}
				wg.Wait()
			})
			t.Logf("resident memory rose by %.1f MB", rise)
			if refused.Load() != 8 {
				t.Fatalf("%d of 8 refused", refused.Load())
			}
			if rise >= 32 {
				t.Fatalf("resident memory rose by %.1f MB, want < 32", rise)
			}
		})
	}
}

// TestBodyLimitsPerRoute: each route reads what it needs; uploads only for
// a signed-in role the route allows, and a body over the limit is 413.
func TestBodyLimitsPerRoute(t *testing.T) {
	h := newHarness(t)
	post := func(path, session string, n int64) int {
		body, ctype, size := bigMultipart(n)
		r, _ := http.NewRequest("POST", h.ts.URL+path, body)
		r.Header.Set("Content-Type", ctype)
		r.ContentLength = size
		r.Header.Set("X-CSRF-Token", h.csrfToken(session))
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: testCSRF})
		if session != "" {
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
		}
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(r)
		if err != nil {
			return -1
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	admin, host := h.session(auth.Admin), h.session(auth.Host)
	tests := []struct {
		name, path, session string
		n                   int64
		tooLarge            bool
	}{
		{"a booking form of 20 KB", "/book", "", 20 << 10, true},
		{"a signed-in form of 100 KB", "/directory/floors", admin, 100 << 10, true},
		{"a picture upload by a role the route refuses", "/notices/images", host, 1 << 20, true},
		{"a picture upload by a stranger", "/notices/images", "", 1 << 20, true},
		{"a picture upload over its limit", "/notices/images", admin, 6 << 20, true},
		{"a picture upload within its limit", "/notices/images", admin, 1 << 20, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := post(tc.path, tc.session, tc.n)
			if tc.tooLarge && got != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 413", got)
			}
			if !tc.tooLarge && got == http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want the body read", got)
			}
		})
	}
}
