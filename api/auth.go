package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// SessionCookie is the name of the cookie POST /session sets.
const SessionCookie = "ctc_session"

// DefaultSessionTTL is how long a session cookie lasts without use; each authenticated request
// in its second half renews it.
const DefaultSessionTTL = 15 * time.Minute

// minKeyBytes is the shortest API key accepted: 128 bits of a random token, hex or base64.
const minKeyBytes = 16

// auth checks API keys and session cookies. The zero value (no keys) lets every request in.
type auth struct {
	keys []apiKey
	ttl  time.Duration
	now  func() time.Time
}

type apiKey struct {
	key []byte
	// id names the key in a session cookie (the first 8 bytes of its SHA-256, hex), so that a
	// cookie says which key signed it without saying anything of the key.
	id string
	// mac is the key's session-signing key: HMAC-SHA256(key, "ctc-session"). Replicas with the
	// same keys accept each other's cookies; a key removed from the list ends its sessions.
	mac []byte
}

func newAuth(keys []string, ttl time.Duration, now func() time.Time) (auth, error) {
	a := auth{ttl: ttl, now: now}
	if a.ttl <= 0 {
		a.ttl = DefaultSessionTTL
	}
	for i, k := range keys {
		if len(k) < minKeyBytes || strings.ContainsAny(k, " \t\r\n,;") {
			return auth{}, fmt.Errorf("api: Config.Keys[%d] must be at least %d bytes without spaces, commas or semicolons (a random token: openssl rand -hex 32)", i, minKeyBytes)
		}
		sum := sha256.Sum256([]byte(k))
		m := hmac.New(sha256.New, []byte(k))
		m.Write([]byte("ctc-session"))
		a.keys = append(a.keys, apiKey{key: []byte(k), id: hex.EncodeToString(sum[:8]), mac: m.Sum(nil)})
	}
	return a, nil
}

func (a *auth) enabled() bool { return len(a.keys) > 0 }

// bearer returns the key a request's Authorization header presents, if it is one of the keys.
func (a *auth) bearer(r *http.Request) (*apiKey, bool) {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, false
	}
	var found *apiKey
	for i := range a.keys { // every key compared, in constant time each
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(v)), a.keys[i].key) == 1 {
			found = &a.keys[i]
		}
	}
	return found, found != nil
}

// session returns the expiry of a valid session cookie, and the key that signed it.
func (a *auth) session(r *http.Request) (*apiKey, time.Time, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil, time.Time{}, false
	}
	id, rest, ok1 := strings.Cut(c.Value, ".")
	exp, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return nil, time.Time{}, false
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return nil, time.Time{}, false
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil {
		return nil, time.Time{}, false
	}
	for i := range a.keys {
		k := &a.keys[i]
		if k.id == id && hmac.Equal(got, k.sign(id, exp)) {
			t := time.Unix(secs, 0)
			if a.now().Before(t) {
				return k, t, true
			}
			return nil, time.Time{}, false
		}
	}
	return nil, time.Time{}, false
}

func (k *apiKey) sign(id, exp string) []byte {
	m := hmac.New(sha256.New, k.mac)
	m.Write([]byte(id + "." + exp))
	return m.Sum(nil)
}

// setSession sets a session cookie signed by k, valid for the TTL from now.
func (a *auth) setSession(w http.ResponseWriter, r *http.Request, k *apiKey) {
	exp := strconv.FormatInt(a.now().Add(a.ttl).Unix(), 10)
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: k.id + "." + exp + "." + base64.RawURLEncoding.EncodeToString(k.sign(k.id, exp)),
		Path: "/", MaxAge: int(a.ttl / time.Second), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	})
}

// secure says whether the client reached us over TLS (directly, or as a proxy in front says).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// open says whether a route is served without a key: liveness, the dashboard's own files (which
// hold no data: the page asks for a key when the API answers 401), the session endpoint and
// unknown paths (a 404 says nothing).
func open(rt *route) bool {
	return rt == routeHealthz || rt == routeDashboard || rt == routeStatic || rt == routeSession || rt == routeOpenAPI || rt == routeNotFound
}

// authorize lets a request in with a key or a live session (renewing a session in its second
// half), or answers 401.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request) (int, bool) {
	if _, ok := h.auth.bearer(r); ok {
		return 0, true
	}
	if k, exp, ok := h.auth.session(r); ok {
		if exp.Sub(h.auth.now()) < h.auth.ttl/2 {
			h.auth.setSession(w, r, k)
		}
		return 0, true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="ctc"`)
	return writeError(w, http.StatusUnauthorized, apiError{
		Message: "an API key is required: send Authorization: Bearer <key>, or POST /session with it for a session cookie",
	}), false
}

var errNoKeys = errors.New("this API requires no key: Config.Keys is empty")

// POST /session with Authorization: Bearer <key> sets the session cookie (204); DELETE /session
// clears it (204). The dashboard uses it because a browser's EventSource cannot send a header.
func (h *handler) serveSession(w http.ResponseWriter, r *http.Request, _ string) int {
	switch r.Method {
	case http.MethodPost:
		if !h.auth.enabled() {
			return writeError(w, http.StatusNotFound, apiError{Message: errNoKeys.Error()})
		}
		k, ok := h.auth.bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ctc"`)
			return writeError(w, http.StatusUnauthorized, apiError{Message: "POST /session needs Authorization: Bearer <one of the API's keys>"})
		}
		h.auth.setSession(w, r, k)
	case http.MethodDelete:
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	default:
		w.Header().Set("Allow", "POST, DELETE, OPTIONS")
		return writeError(w, http.StatusMethodNotAllowed, apiError{
			Message: fmt.Sprintf("method %s is not allowed on /session; use POST or DELETE", quoteTrunc(r.Method)),
			Allowed: "POST, DELETE, OPTIONS",
		})
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return http.StatusNoContent
}

// ReadKeyFile reads API keys for Config.Keys from a file, one a line; blank lines and lines
// starting with # are skipped. Keep keys in a file, not on a command line, which ps and shell
// history show. A file with no key is an error: an empty list would leave the API open.
func ReadKeyFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []string
	for line := range strings.Lines(string(b)) {
		if k := strings.TrimSpace(line); k != "" && !strings.HasPrefix(k, "#") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no key", path)
	}
	return keys, nil
}

// Loopback says whether addr (host:port, as given to NewServer) listens on the loopback
// interface only: a server without keys elsewhere is open to anyone who can reach it, which
// a command should warn of.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
