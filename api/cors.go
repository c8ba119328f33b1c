package api

import (
	"net/http"
	"slices"
	"strings"
)

// corsPolicy decides which browser origins may read the API.
type corsPolicy struct {
	any     bool     // "*" was configured
	origins []string // exact origins, e.g. https://dash.example.com
}

func newCORSPolicy(origins []string) corsPolicy {
	var p corsPolicy
	for _, o := range origins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		switch {
		case o == "*":
			p.any = true
		case o != "":
			p.origins = append(p.origins, o)
		}
	}
	return p
}

func (p corsPolicy) enabled() bool { return p.any || len(p.origins) > 0 }

// apply sets the CORS response headers for an allowed origin and reports whether the request is
// a preflight from one. With CORS enabled for specific origins every response varies by Origin,
// so that a shared cache never serves one origin's answer to another.
func (p corsPolicy) apply(h http.Header, r *http.Request) (preflight bool) {
	if !p.enabled() {
		return false
	}
	if len(p.origins) > 0 {
		h.Add("Vary", "Origin")
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	switch {
	case slices.Contains(p.origins, origin):
		h.Set("Access-Control-Allow-Origin", origin)
	case p.any:
		h.Set("Access-Control-Allow-Origin", "*")
	default:
		return false
	}
	return r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a preflight request from an allowed origin. The API is read-only and takes
// no credentials, so any request header the browser asks about may be sent.
func (p corsPolicy) preflight(h http.Header, r *http.Request) {
	h.Set("Access-Control-Allow-Methods", allowedMethods)
	if hs := r.Header.Get("Access-Control-Request-Headers"); hs != "" {
		h.Set("Access-Control-Allow-Headers", hs)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	h.Set("Access-Control-Max-Age", "600")
}
