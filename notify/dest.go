package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
)

// Destination delivers one notification to one service. The notifier calls Send from one
// goroutine per destination, one notification at a time, and retries what fails: Send makes one
// attempt. It returns nil when the service accepted the notification, a *SendError saying whether
// and when to retry when the service answered otherwise, and any other error (a refused
// connection, a timeout) for a failure worth retrying.
type Destination interface {
	Name() string
	Send(ctx context.Context, n *Notification) error
}

// Notification is one alert on its way to one destination.
type Notification struct {
	Alert ctc.Alert
	// Revision tells versions of one alert apart (see Revision); the delivery log and the
	// idempotency key are per (alert, revision, destination).
	Revision uint32
	// Attempt counts from 1.
	Attempt int
	// At is the wall-clock time of this attempt: what a signature's timestamp says.
	At time.Time
	// Incident is the incident revision this notification tells of, when the notifier groups
	// alerts into incidents (the default); Alert is then its Alert() and Revision its revision.
	// Nil when each alert is delivered as it comes.
	Incident *incident.Incident
}

// IdempotencyKey is "<alert_id>:<revision>": the same for every attempt and every restart that
// delivers this version of the alert, so that a receiver can drop what it has seen.
func (n *Notification) IdempotencyKey() string {
	return n.Alert.AlertID.String() + ":" + strconv.FormatUint(uint64(n.Revision), 10)
}

// Revision is the default revision of an alert: its severity. An alert detected again after a
// restart — same id, same severity, even if a live window saw slightly different trades — is the
// same revision and is not sent again; one that comes back more severe (a window re-fired with
// more volume on reprocessing) is a new revision and reaches people again. One that comes back
// less severe is not sent: the delivery log holds a later revision already.
func Revision(a *ctc.Alert) uint32 { return uint32(a.Severity) }

// SendError is a service's refusal of one attempt.
type SendError struct {
	// Status is the HTTP status, or for Telegram its error_code.
	Status int
	// RetryAfter is how long the service asked us to wait (Retry-After, Telegram's
	// parameters.retry_after, Discord's retry_after); zero if it did not say.
	RetryAfter time.Duration
	// Permanent says that trying again cannot help: a 4xx other than 408 and 429.
	Permanent bool
	// Detail is the start of the service's answer, for a person.
	Detail string
}

func (e *SendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "status %d", e.Status)
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %s", e.RetryAfter)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	return b.String()
}

// statusError classifies an HTTP status that is not a success.
func statusError(status int, retryAfter time.Duration, detail string) *SendError {
	permanent := status >= 300 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout
	return &SendError{Status: status, RetryAfter: retryAfter, Permanent: permanent, Detail: detail}
}

// maxDetail bounds how much of a service's answer an error quotes.
const maxDetail = 256

// detail is the first maxDetail bytes of a response body, on one line, cut at a rune boundary.
func detail(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > maxDetail {
		i := maxDetail
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// parseRetryAfter reads a Retry-After header: delay-seconds (Discord sends a decimal) or an
// HTTP date. It returns 0 for anything else, and caps what it returns at a day.
func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(h, 64); err == nil {
		return secondsDuration(f)
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), 24*time.Hour)
	}
	return 0
}

// secondsDuration converts a service's seconds to a duration in [0, 24h].
func secondsDuration(f float64) time.Duration {
	if math.IsNaN(f) || f <= 0 {
		return 0
	}
	return time.Duration(min(f, 24*3600) * float64(time.Second))
}

// poster is what the HTTP destinations share: posting JSON with the notifier's client, reading
// a bounded answer, and quoting their URL only without its secret part.
type poster struct {
	name   string
	client *http.Client
	now    func() time.Time
}

// maxResponse bounds how much of an answer is read: enough for any service's error, and reading
// to the end (up to it) lets the connection be reused.
const maxResponse = 64 << 10

// post sends body to u with the headers, and returns the status, the start of the answer and its
// headers. A transport error is returned without the URL, which may embed a token.
func (p *poster) post(ctx context.Context, u string, body []byte, hdr http.Header) (int, []byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("build request: %w", stripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ctc-notify/1")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, stripURL(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil && resp.StatusCode/100 != 2 {
		return 0, nil, nil, fmt.Errorf("read answer (status %d): %w", resp.StatusCode, stripURL(err))
	}
	return resp.StatusCode, b, resp.Header, nil
}

// stripURL drops the URL from a *url.Error, keeping the operation and the cause.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// httpStatus turns an HTTP answer with the Retry-After convention (Slack, the generic webhook)
// into nil or a *SendError.
func (p *poster) httpStatus(status int, body []byte, hdr http.Header) error {
	if status/100 == 2 {
		return nil
	}
	return statusError(status, parseRetryAfter(hdr.Get("Retry-After"), p.now()), detail(body))
}

// newHTTPClient is the default client: no redirects, since following one would send a signed
// alert, or a token in the path, wherever a Location pointed.
func newHTTPClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// marshal encodes v without HTML escaping, which would turn a message's < and & into \u003c.
func marshal(v any) []byte {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		panic(fmt.Sprintf("notify: encode %T: %v", v, err)) // only strings, numbers and maps of them
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}

// headline is what every chat message leads with: "HIGH whale BTC-USDT on binance".
func headline(a *ctc.Alert) string {
	return fmt.Sprintf("%s %s %s on %s", strings.ToUpper(a.Severity.String()), a.AlertType, a.Symbol, a.Exchange)
}

// facts are the numbers under a chat message.
func facts(a *ctc.Alert) string {
	var b strings.Builder
	if a.ZScore != 0 {
		fmt.Fprintf(&b, "z=%.2f · ", a.ZScore)
	}
	fmt.Fprintf(&b, "actual %s · threshold %s · detected %s",
		strconv.FormatFloat(a.ActualValue, 'g', 6, 64), strconv.FormatFloat(a.ThresholdValue, 'g', 6, 64),
		ctc.AppendTime(nil, a.DetectedAt))
	return b.String()
}

// truncate cuts s to at most n bytes at a rune boundary, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := max(n-len("…"), 0)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// escapeCut escapes s and, if the result is over n bytes, cuts it at a character boundary of s —
// never inside an escape — marking the cut with an ellipsis. Bytes that are not UTF-8 become U+FFFD. esc must escape character by
// character, as every chat markup's escaping does.
func escapeCut(s string, n int, esc func(string) string) string {
	s = strings.ToValidUTF8(s, "\uFFFD") // a service refuses, or mangles, text that is not UTF-8
	e := esc(s)
	if len(e) <= n {
		return e
	}
	var b strings.Builder
	budget := n - len("…")
	for _, r := range s {
		piece := esc(string(r))
		if b.Len()+len(piece) > budget {
			break
		}
		b.WriteString(piece)
	}
	b.WriteString("…")
	return b.String()
}

// cut is s made valid UTF-8 and cut to at most n bytes, with an ellipsis where it was cut, for a
// destination whose limit counts the text people see rather than its markup.
func cut(s string, n int) string { return escapeCut(s, n, func(s string) string { return s }) }
