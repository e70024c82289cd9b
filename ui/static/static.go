// Package static embeds the pages' CSS and scripts and serves them under
// checksummed URLs (/static/NAME?v=HASH), so browsers may cache them for a
// year and still fetch a new build's files at once.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed *.css *.js *.svg
var files embed.FS

// Assets is the embedded file set with its checksums.
type Assets struct {
	sums map[string]string
}

// New hashes the embedded files.
func New() *Assets {
	a := &Assets{sums: map[string]string{}}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		b, _ := files.ReadFile(e.Name())
		sum := sha256.Sum256(b)
		a.sums[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return a
}

// URL returns the checksummed URL of name.
func (a *Assets) URL(name string) string { return "/static/" + name + "?v=" + a.sums[name] }

// ServeHTTP serves /static/NAME.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	sum, ok := a.sums[name]
	if !ok || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	b, _ := files.ReadFile(name)
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(name)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") == sum {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	if r.Header.Get("If-None-Match") == `"`+sum+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(b)
}
