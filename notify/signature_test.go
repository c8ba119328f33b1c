package notify_test

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/notify/notifytest"
)

func TestVerifySignature(t *testing.T) {
	t.Parallel()
	body := []byte(`{"alert_id":"x"}`)
	at := time.Unix(1_710_252_000, 0)
	good := notify.Sign([]byte(hmacKey), at, body)
	old := notify.Sign([]byte("the-previous-key-0123456789"), at, body)
	sig := good[strings.Index(good, "v1="):]
	for _, c := range []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		tolerance            time.Duration
		want                 error
	}{
		{"valid", hmacKey, good, body, at, 0, nil},
		{"valid within tolerance", hmacKey, good, body, at.Add(4 * time.Minute), 0, nil},
		{"clock behind", hmacKey, good, body, at.Add(-4 * time.Minute), 0, nil},
		{"rotation: old and new", hmacKey, old + "," + sig, body, at, 0, nil},
		{"unknown scheme ignored", hmacKey, good + ",v0=abc", body, at, 0, nil},
		{"wrong secret", "not-the-key-0123456789", good, body, at, 0, notify.ErrSignatureMismatch},
		{"body changed", hmacKey, good, []byte(`{"alert_id":"y"}`), at, 0, notify.ErrSignatureMismatch},
		{"replayed later", hmacKey, good, body, at.Add(5*time.Minute + time.Second), 0, notify.ErrSignatureExpired},
		{"replayed, tight tolerance", hmacKey, good, body, at.Add(31 * time.Second), 30 * time.Second, notify.ErrSignatureExpired},
		{"from the future", hmacKey, good, body, at.Add(-6 * time.Minute), 0, notify.ErrSignatureExpired},
		{"timestamp changed", hmacKey, strings.Replace(good, "t=1710252000", "t=1710252100", 1), body, at.Add(100 * time.Second), 0, notify.ErrSignatureMismatch},
		{"missing", hmacKey, "", body, at, 0, notify.ErrNoSignature},
		{"no timestamp", hmacKey, sig, body, at, 0, notify.ErrNoSignature},
		{"no v1", hmacKey, "t=1710252000", body, at, 0, notify.ErrNoSignature},
		{"short v1", hmacKey, "t=1710252000,v1=abcd", body, at, 0, notify.ErrNoSignature},
		{"signed t", hmacKey, "t=+1710252000," + sig, body, at, 0, notify.ErrNoSignature},
		{"two t", hmacKey, "t=1," + good, body, at, 0, notify.ErrNoSignature},
		{"garbage", hmacKey, "Bearer abc", body, at, 0, notify.ErrNoSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := notify.VerifySignature(c.secret, c.header, c.body, c.now, c.tolerance)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("VerifySignature = %v, want %v", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), c.secret) {
				t.Errorf("the error quotes the secret: %v", err)
			}
		})
	}
}

// A receiver verifying signatures takes the notifier's requests, and rejects a request signed
// with another secret and one replayed after the tolerance.
func TestReceiverRejectsWrongSecretAndReplay(t *testing.T) {
	t.Parallel()
	wh := notifytest.NewWebhook(t, hmacKey)
	n, _ := setup{dests: []string{webhookDest("hook", wh)}, secrets: map[string]string{"hmac": hmacKey}, delivery: fast}.open(t)
	mustWrite(t, n, alert(1, ctc.High))
	mustFlush(t, n)
	got := wh.Accepted()
	if len(got) != 1 {
		t.Fatalf("%d accepted", len(got))
	}
	orig := got[0]

	replay := func(sig string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, wh.URL(), bytes.NewReader(orig.Body))
		req.Header.Set(notify.SignatureHeader, sig)
		req.Header.Set(notify.IdempotencyHeader, orig.Header.Get(notify.IdempotencyHeader))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Within the tolerance a replay verifies: the receiver must drop it by its idempotency key.
	if resp := replay(orig.Header.Get(notify.SignatureHeader)); resp.StatusCode != http.StatusOK {
		t.Errorf("an immediate replay got %d", resp.StatusCode)
	}
	if last := wh.Requests()[1]; !last.Duplicate {
		t.Error("the immediate replay should be seen as a duplicate key")
	}
	// Later, the same request is refused.
	wh.SetClock(func() time.Time { return time.Now().Add(notify.DefaultTolerance + time.Minute) })
	if resp := replay(orig.Header.Get(notify.SignatureHeader)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a replay after the tolerance got %d, want 401", resp.StatusCode)
	}
	wh.SetClock(time.Now)
	// Signed with another secret: refused.
	if resp := replay(notify.Sign([]byte("an-attackers-guess-0123456789"), time.Now(), orig.Body)); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong secret got %d, want 401", resp.StatusCode)
	}
	reqs := wh.Requests()
	if !strings.Contains(reqs[2].Problem, "outside the tolerance") || !strings.Contains(reqs[3].Problem, "does not match") {
		t.Errorf("problems: %q, %q", reqs[2].Problem, reqs[3].Problem)
	}
}

// Each attempt is signed anew, so that a retry long after the first attempt — here ten minutes
// later on both clocks, past the receiver's tolerance — is not refused as stale.
func TestRetrySignedAnew(t *testing.T) {
	t.Parallel()
	wh := notifytest.NewWebhook(t, hmacKey)
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	wh.SetClock(now)
	wh.OnRequest(func(notifytest.Request) {
		mu.Lock()
		clock = clock.Add(10 * time.Minute)
		mu.Unlock()
	})
	n, _ := setup{dests: []string{webhookDest("hook", wh)}, secrets: map[string]string{"hmac": hmacKey},
		delivery: `{"backoff_base": "1ms", "backoff_max": "2ms", "max_age": "24h"}`,
		opts:     []notify.Option{notify.WithClock(now)}}.open(t)
	wh.Fail(notifytest.Fault{Status: 503})
	mustWrite(t, n, alert(1, ctc.High))
	mustFlush(t, n)
	reqs := wh.Requests()
	if len(reqs) != 2 || !reqs[1].Accepted {
		t.Fatalf("want a 503 then an accepted retry, got %+v", reqs)
	}
	if reqs[1].Header.Get(notify.AttemptHeader) != "2" {
		t.Errorf("attempt header %q", reqs[1].Header.Get(notify.AttemptHeader))
	}
}
