package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers a webhook request carries.
const (
	// SignatureHeader is "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">".
	SignatureHeader = "X-CTC-Signature"
	// IdempotencyHeader is "<alert_id>:<revision>", the same on every attempt and after restarts.
	IdempotencyHeader = "X-CTC-Idempotency-Key"
	// AttemptHeader counts attempts from 1.
	AttemptHeader = "X-CTC-Attempt"
)

// DefaultTolerance is how old a signature VerifySignature accepts by default, when a receiver
// passes 0: long enough for clock skew and a slow network, short enough that a captured request
// cannot be replayed later.
const DefaultTolerance = 5 * time.Minute

// The errors VerifySignature returns; test for them with errors.Is.
var (
	// ErrNoSignature: the header is missing or is not t=…,v1=….
	ErrNoSignature = errors.New("notify: no valid " + SignatureHeader + " header")
	// ErrSignatureMismatch: no v1 signature matches the body under the secret — a wrong secret,
	// or a body changed on the way.
	ErrSignatureMismatch = errors.New("notify: signature does not match the body")
	// ErrSignatureExpired: the signature's timestamp is further from now than the tolerance — a
	// replayed request, or a clock far off.
	ErrSignatureExpired = errors.New("notify: signature timestamp outside the tolerance")
)

// Sign returns the X-CTC-Signature header value for body signed at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// VerifySignature checks a webhook request as a receiver should, before acting on it: header is
// the X-CTC-Signature value, body the raw request body (read it whole before decoding), now the
// receiver's clock and tolerance how far from now the signed timestamp may be (0 means
// DefaultTolerance). It returns nil, or an error wrapping ErrNoSignature, ErrSignatureMismatch or
// ErrSignatureExpired. Several v1 entries are accepted, any of which may match, so that a sender
// can sign with an old and a new secret while the key is rotated. The comparison takes constant
// time. A request within the tolerance can still be a replay: drop repeats of the
// X-CTC-Idempotency-Key you have already processed.
func VerifySignature(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: part %q is not key=value", ErrNoSignature, truncate(part, 32))
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: two timestamps", ErrNoSignature)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				return fmt.Errorf("%w: v1 is not %d hex digits", ErrNoSignature, 2*sha256.Size)
			}
			sigs = append(sigs, sig)
		}
		// Other keys are future schemes; ignore them.
	}
	if ts == "" || len(sigs) == 0 {
		return fmt.Errorf("%w: want t=<unix seconds>,v1=<hex>", ErrNoSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts[0] == '+' || ts[0] == '-' {
		return fmt.Errorf("%w: t is not unix seconds", ErrNoSignature)
	}
	want := mac([]byte(secret), ts, body)
	ok := false
	for _, s := range sigs {
		// No early exit: the time taken does not tell which entry matched.
		ok = hmac.Equal(s, want) || ok
	}
	if !ok {
		return ErrSignatureMismatch
	}
	// Checked after the MAC, so that an unsigned timestamp never reaches this comparison, and
	// without time.Unix overflow: |now - t| in whole seconds.
	age := now.Unix() - sec
	if sec > now.Unix() {
		age = sec - now.Unix()
	}
	if age < 0 || age > int64(tolerance/time.Second) {
		return fmt.Errorf("%w: signed at %d, now %d, tolerance %s", ErrSignatureExpired, sec, now.Unix(), tolerance)
	}
	return nil
}

// webhook posts the alert's JSON (ctc.Alert's encoding, DESIGN §3.2), signed.
type webhook struct {
	poster
	url    string
	secret Secret
}

func (w *webhook) Name() string { return w.name }

func (w *webhook) Send(ctx context.Context, n *Notification) error {
	var body []byte
	if n.Incident != nil {
		body = n.Incident.AppendJSON(nil)
	} else {
		body = n.Alert.AppendJSON(nil)
	}
	hdr := http.Header{}
	hdr.Set(SignatureHeader, Sign([]byte(w.secret.Value()), n.At, body))
	hdr.Set(IdempotencyHeader, n.IdempotencyKey())
	hdr.Set(AttemptHeader, strconv.Itoa(n.Attempt))
	status, b, h, err := w.post(ctx, w.url, body, hdr)
	if err != nil {
		return err
	}
	return w.httpStatus(status, b, h)
}
