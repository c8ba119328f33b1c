package api

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// dashboardFS holds the dashboard: plain HTML, CSS and JavaScript, served as they are, with no
// build step and nothing loaded from elsewhere.
//
//go:embed dashboard
var dashboardFS embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// loadAssets indexes the dashboard files by the path they are served at: index.html at / (and
// /index.html), every other file under /static/.
func loadAssets() (map[string]*asset, error) {
	m := make(map[string]*asset)
	err := fs.WalkDir(dashboardFS, "dashboard", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := dashboardFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a := &asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		name := strings.TrimPrefix(p, "dashboard/")
		if name == "index.html" {
			m["/index.html"] = a
		} else {
			m["/static/"+name] = a
		}
		return nil
	})
	return m, err
}

// contentSecurityPolicy allows the dashboard its own script, style and API, and nothing else: no
// inline script, no other origin, no framing. It backs up the page's rule of building the DOM
// from data with textContent only.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// serveAsset serves a dashboard file. The page's own query parameters (type, symbol, chart) are
// read by its script, not here.
func (h *handler) serveAsset(w http.ResponseWriter, r *http.Request, p string) int {
	a, ok := h.assets[p]
	if !ok {
		return h.serveNotFound(w, r, p)
	}
	hd := w.Header()
	hd.Set("ETag", a.etag)
	hd.Set("Cache-Control", "no-cache") // revalidate, so a new build shows at once
	if strings.HasPrefix(a.contentType, "text/html") {
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("Referrer-Policy", "no-referrer")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified
	}
	hd.Set("Content-Type", a.contentType)
	hd.Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(http.StatusOK)
	w.Write(a.body) //nolint:errcheck // the client went away
	return http.StatusOK
}
