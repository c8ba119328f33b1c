package api

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

const testKey = "k-0123456789abcdef0123456789abcdef"

// withCookie returns the cookie of a Set-Cookie header as a request's Cookie header value.
func sessionOf(t *testing.T, r response) (*http.Cookie, string) {
	t.Helper()
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == SessionCookie {
			return c, c.Name + "=" + c.Value
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, r.header)
	return nil, ""
}

// With Keys, data needs a key or a session; liveness and the dashboard's files do not.
func TestKeysRequired(t *testing.T) {
	t.Parallel()
	now := testNow
	h := newTestHandler(t, Config{Keys: []string{"another-key-0123456789abcdef", testKey}, Now: func() time.Time { return now }})
	for _, p := range []string{"/alerts", "/alerts/stream", "/metrics/BTC-USDT", "/volumes", "/spreads", "/symbols", "/prometheus", "/evidence"} {
		r := get(t, h, p)
		if r.code != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") != `Bearer realm="ctc"` ||
			!strings.Contains(decode[apiError](t, r).Message, "API key is required") {
			t.Errorf("GET %s without a key: %d %v %s", p, r.code, r.header, r.body)
		}
		if r := do(t, h, http.MethodGet, p, "Authorization", "Bearer "+testKey+"x"); r.code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong key: %d", p, r.code)
		}
	}
	if r := do(t, h, http.MethodGet, "/alerts", "Authorization", "Bearer "+testKey); r.code != http.StatusOK {
		t.Errorf("GET /alerts with the key: %d %s", r.code, r.body)
	}
	for _, p := range []string{"/healthz", "/", "/static/app.js", "/nowhere"} {
		if r := get(t, h, p); r.code == http.StatusUnauthorized {
			t.Errorf("GET %s needs no key, got 401", p)
		}
	}
	if r := do(t, h, http.MethodOptions, "/alerts"); r.code != http.StatusNoContent {
		t.Errorf("OPTIONS /alerts (a preflight carries no credentials): %d", r.code)
	}
}

// POST /session turns a key into a cookie that opens the API (and the event stream) until it
// expires, renews itself in its second half, and says nothing of the key.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	now := testNow
	h := newTestHandler(t, Config{Keys: []string{testKey}, Now: func() time.Time { return now }, SessionTTL: 10 * time.Minute})
	if r := do(t, h, http.MethodPost, "/session"); r.code != http.StatusUnauthorized {
		t.Fatalf("POST /session without a key: %d", r.code)
	}
	r := do(t, h, http.MethodPost, "/session", "Authorization", "Bearer "+testKey, "X-Forwarded-Proto", "https")
	if r.code != http.StatusNoContent {
		t.Fatalf("POST /session: %d %s", r.code, r.body)
	}
	c, cookie := sessionOf(t, r)
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 600 || strings.Contains(c.Value, testKey) {
		t.Errorf("cookie %+v", c)
	}
	if r := do(t, h, http.MethodGet, "/alerts", "Cookie", cookie); r.code != http.StatusOK || r.header.Get("Set-Cookie") != "" {
		t.Errorf("GET /alerts with a fresh session: %d, Set-Cookie %q (too soon to renew)", r.code, r.header.Get("Set-Cookie"))
	}
	// The event stream opens with the cookie alone, as an EventSource sends it.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/alerts/stream", nil)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Errorf("the stream with the cookie: %d %v", rec.Code, rec.Header())
	}

	now = now.Add(6 * time.Minute) // in the second half: renewed
	r = do(t, h, http.MethodGet, "/symbols", "Cookie", cookie)
	if r.code != http.StatusOK {
		t.Fatalf("GET /symbols at 6 min: %d", r.code)
	}
	_, renewed := sessionOf(t, r)
	now = now.Add(5 * time.Minute) // the first cookie has expired, the renewed one has not
	if r := do(t, h, http.MethodGet, "/symbols", "Cookie", cookie); r.code != http.StatusUnauthorized {
		t.Errorf("an expired session: %d", r.code)
	}
	if r := do(t, h, http.MethodGet, "/symbols", "Cookie", renewed); r.code != http.StatusOK {
		t.Errorf("the renewed session: %d", r.code)
	}
	for _, bad := range []string{
		strings.Replace(renewed, ".", ".9", 1),               // a later expiry, the old signature
		renewed[:len(renewed)-2] + "AA",                      // another signature
		SessionCookie + "=" + strings.Repeat("x", 40),        // garbage
		SessionCookie + "=0000000000000000.99999999999.abcd", // an unknown key
	} {
		if r := do(t, h, http.MethodGet, "/symbols", "Cookie", bad); r.code != http.StatusUnauthorized {
			t.Errorf("cookie %q: %d", bad, r.code)
		}
	}
	// A key taken out of the list ends its sessions.
	rotated := newTestHandler(t, Config{Keys: []string{"the-next-key-0123456789abcdef"}, Now: func() time.Time { return now }})
	if r := do(t, rotated, http.MethodGet, "/symbols", "Cookie", renewed); r.code != http.StatusUnauthorized {
		t.Errorf("a session of a removed key: %d", r.code)
	}
	r = do(t, h, http.MethodDelete, "/session", "Cookie", renewed)
	if c, _ := sessionOf(t, r); r.code != http.StatusNoContent || c.MaxAge >= 0 {
		t.Errorf("DELETE /session: %d, cookie %+v", r.code, c)
	}
}

// Keys and cookies never reach the log, even when a request fails.
func TestKeysStayOutOfLogs(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	st := newFixture(testNow).store(t)
	st.FailQueries(-1, errors.New("store down"))
	h := newTestHandler(t, Config{Store: st, Keys: []string{testKey}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_, cookie := sessionOf(t, do(t, h, http.MethodPost, "/session", "Authorization", "Bearer "+testKey))
	do(t, h, http.MethodGet, "/alerts", "Authorization", "Bearer "+testKey)
	do(t, h, http.MethodGet, "/symbols", "Cookie", cookie)
	if !strings.Contains(logs.String(), "store down") {
		t.Fatalf("nothing logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), testKey) || strings.Contains(logs.String(), strings.TrimPrefix(cookie, SessionCookie+"=")) {
		t.Errorf("the log holds a key or a cookie:\n%s", logs.String())
	}
}

func TestKeysConfig(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"short", "has space 0123456789abcdef", "comma,0123456789abcdef"} {
		if _, err := New(Config{Store: newFixture(testNow).store(t), Keys: []string{k}}); err == nil || strings.Contains(err.Error(), k) {
			t.Errorf("key %q: %v (want an error that does not quote the key)", k, err)
		}
	}
}

func TestReadKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	if err := os.WriteFile(path, []byte("# the desk\n  key-one-0123456789abcdef  \n\n#key-commented-out-0123456789\nkey-two-0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := ReadKeyFile(path)
	if err != nil || !slices.Equal(keys, []string{"key-one-0123456789abcdef", "key-two-0123456789abcdef"}) {
		t.Fatalf("keys %q, err %v", keys, err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("# nothing yet\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadKeyFile(empty); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Errorf("a file with no key: %v", err)
	}
	if _, err := ReadKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "localhost:0": true, "[::1]:80": true,
		"0.0.0.0:8080": false, ":8080": false, "10.0.0.5:8080": false, "example.com:80": false, "nonsense": false} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}
