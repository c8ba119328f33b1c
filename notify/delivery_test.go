package notify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/notify/notifytest"
)

// services builds one fake of each kind and the destination entries that reach them.
type service struct {
	kind string
	srv  *notifytest.Server
	dest string
}

const (
	tgToken = "123456789:AAH-tElEgRaMbOtToKeN_0123456789abcde"
	tgChat  = "-1001234567890"
)

func allServices(t *testing.T, parseMode string) ([]service, map[string]string) {
	wh := notifytest.NewWebhook(t, hmacKey)
	sl := notifytest.NewSlack(t)
	dc := notifytest.NewDiscord(t)
	tg := notifytest.NewTelegram(t, tgToken, tgChat)
	if parseMode == "" {
		parseMode = notify.ParseHTML
	}
	return []service{
			{notify.KindWebhook, wh, webhookDest("hook", wh)},
			{notify.KindSlack, sl, `{"name": "slack", "kind": "slack", "url": "file:slack_url"}`},
			{notify.KindDiscord, dc, `{"name": "discord", "kind": "discord", "url": "file:discord_url"}`},
			{notify.KindTelegram, tg, fmt.Sprintf(`{"name": "telegram", "kind": "telegram", "token": "file:tg_token", "chat_id": %q, "parse_mode": %q, "api_url": %q}`, tgChat, parseMode, tg.URL())},
		}, map[string]string{
			"hmac": hmacKey, "slack_url": sl.URL(), "discord_url": dc.URL(), "tg_token": tgToken,
		}
}

// Every kind of destination delivers an alert its service accepts, showing the message as
// written, with the idempotency key.
func TestEveryServiceAccepts(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{notify.ParseHTML, notify.ParseMarkdownV2} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			svcs, secrets := allServices(t, mode)
			var dests []string
			for _, s := range svcs {
				dests = append(dests, s.dest)
			}
			n, _ := setup{dests: dests, secrets: secrets, delivery: fast}.open(t)
			a := alert(1, ctc.High)
			a.Message = `whale "bought" 15 BTC \ $1.2M <@everyone> & *bold* _it_ [x](y) ~s~ ||sp|| ` + "`c` #1 +-=|{}.! 🐋 \u2028"
			mustWrite(t, n, a)
			mustFlush(t, n)
			key := a.AlertID.String() + ":3"
			for _, s := range svcs {
				got := s.srv.Accepted()
				if len(got) != 1 {
					t.Errorf("%s: %d accepted, want 1; requests: %+v", s.kind, len(got), s.srv.Requests())
					continue
				}
				if got[0].Text != a.Message {
					t.Errorf("%s shows %q, want %q", s.kind, got[0].Text, a.Message)
				}
				if got[0].Key != key {
					t.Errorf("%s: key %q, want %q", s.kind, got[0].Key, key)
				}
			}
			if got := svcs[0].srv.Accepted()[0].Alert; !cmp.Equal(*got, a) {
				t.Errorf("webhook alert differs (-sent +received):\n%s", cmp.Diff(a, *got))
			}
			for name, st := range n.Stats() {
				if st != (notify.Stats{Sent: 1}) {
					t.Errorf("%s stats %+v, want Sent 1", name, st)
				}
			}
		})
	}
}

// A 429 is retried after the wait the service asks for, said the way each service says it:
// Retry-After (Slack, the webhook), Retry-After and a JSON retry_after (Discord), only
// parameters.retry_after in the JSON body (Telegram).
func TestRateLimitRetryAfter(t *testing.T) {
	t.Parallel()
	svcs, secrets := allServices(t, "")
	for _, s := range svcs {
		t.Run(s.kind, func(t *testing.T) {
			t.Parallel()
			n, _ := setup{dests: []string{s.dest}, secrets: secrets, delivery: fast}.open(t)
			s.srv.Fail(notifytest.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
			mustWrite(t, n, alert(1, ctc.High))
			mustFlush(t, n)
			reqs := s.srv.Requests()
			if len(reqs) != 2 || reqs[0].Status != 429 || !reqs[1].Accepted {
				t.Fatalf("want a 429 then an accepted request, got %+v", reqs)
			}
			if s.kind == notify.KindTelegram && reqs[0].Header.Get("Retry-After") != "" {
				t.Fatal("the Telegram fake should say retry_after only in its body")
			}
			// The back-off alone would have waited milliseconds.
			if gap := reqs[1].At.Sub(reqs[0].At); gap < 900*time.Millisecond {
				t.Errorf("retried after %s, want the 1s the service asked for", gap)
			}
			st := n.Stats()[name(s.dest)]
			if st.Sent != 1 || st.Retried != 1 {
				t.Errorf("stats %+v, want Sent 1 Retried 1", st)
			}
		})
	}
}

func name(dest string) string {
	_, rest, _ := strings.Cut(dest, `"name": "`)
	n, _, _ := strings.Cut(rest, `"`)
	return n
}

// 5xx answers are retried with back-off until one succeeds.
func TestServerErrorsThenSuccess(t *testing.T) {
	t.Parallel()
	svcs, secrets := allServices(t, "")
	for _, s := range svcs {
		t.Run(s.kind, func(t *testing.T) {
			t.Parallel()
			n, dir := setup{dests: []string{s.dest}, secrets: secrets, delivery: fast}.open(t)
			s.srv.Fail(notifytest.Fault{Status: 500}, notifytest.Fault{Status: 503}, notifytest.Fault{Status: 502})
			mustWrite(t, n, alert(1, ctc.High))
			mustFlush(t, n)
			if got := len(s.srv.Accepted()); got != 1 || len(s.srv.Requests()) != 4 {
				t.Fatalf("%d accepted of %d requests, want 1 of 4", got, len(s.srv.Requests()))
			}
			if st := n.Stats()[name(s.dest)]; st.Sent != 1 || st.Retried != 3 || st.DeadLettered != 0 {
				t.Errorf("stats %+v", st)
			}
			if _, err := os.Stat(filepath.Join(dir, "dead.ndjson")); err != nil {
				t.Errorf("dead-letter file should exist, empty: %v", err)
			}
		})
	}
}

// An answer slower than the timeout is retried. The service may still have acted on the slow
// request: the receiver sees the retry as a duplicate, with the same idempotency key — the
// at-least-once window receivers deduplicate.
func TestSlowResponseBeyondTimeout(t *testing.T) {
	t.Parallel()
	wh := notifytest.NewWebhook(t, hmacKey)
	n, _ := setup{dests: []string{webhookDest("hook", wh)}, secrets: map[string]string{"hmac": hmacKey},
		// A timeout far above a loopback answer even on a loaded machine under the race detector,
		// and a delay far above the timeout.
		delivery: `{"timeout": "750ms", "backoff_base": "1ms", "backoff_max": "2ms"}`}.open(t)
	wh.Fail(notifytest.Fault{Delay: 2 * time.Second})
	start := time.Now()
	mustWrite(t, n, alert(1, ctc.High))
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("Write took %s with a slow destination", d)
	}
	mustFlush(t, n)
	if st := n.Stats()["hook"]; st.Sent != 1 || st.Retried != 1 {
		t.Fatalf("stats %+v, want Sent 1 after 1 retry", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := wh.Wait(ctx, 2); err != nil { // the slow one is processed when its delay ends
		t.Fatal(err)
	}
	got := wh.Accepted()
	if got[0].Key != got[1].Key {
		t.Errorf("keys differ: %q %q", got[0].Key, got[1].Key)
	}
	if !got[0].Duplicate && !got[1].Duplicate {
		t.Error("the receiver should have seen the key twice")
	}
	if got[0].Header.Get(notify.AttemptHeader) == got[1].Header.Get(notify.AttemptHeader) {
		t.Error("both requests say the same attempt")
	}
}

// A service's permanent refusal is dead-lettered at once, with the reason and the attempts.
func TestRejectedIsDeadLettered(t *testing.T) {
	t.Parallel()
	wh := notifytest.NewWebhook(t, "another-receivers-secret-0123456789")
	sl := notifytest.NewSlack(t)
	tg := notifytest.NewTelegram(t, "999:a-different-bot-token-abcdefghij", tgChat)
	n, dir := setup{
		dests: []string{webhookDest("hook", wh), `{"name": "slack", "kind": "slack", "url": "file:slack_url"}`,
			fmt.Sprintf(`{"name": "tg", "kind": "telegram", "token": "file:tg_token", "chat_id": %q, "api_url": %q}`, tgChat, tg.URL())},
		secrets:  map[string]string{"hmac": hmacKey, "slack_url": sl.URL() + "-revoked", "tg_token": tgToken},
		delivery: fast,
	}.open(t)
	a := alert(1, ctc.Critical)
	mustWrite(t, n, a)
	mustFlush(t, n)
	dl := deadLetters(t, dir)
	if len(dl) != 3 {
		t.Fatalf("%d dead letters, want 3: %+v", len(dl), dl)
	}
	want := map[string]string{"hook": "status 401", "slack": "status 404", "tg": "status 401"}
	for _, d := range dl {
		if d.Reason != notify.ReasonRejected || d.Attempts != 1 || d.AlertID != a.AlertID || d.Revision != 4 ||
			!strings.Contains(d.Error, want[d.Destination]) || !cmp.Equal(d.Alert, a) {
			t.Errorf("dead letter %+v", d)
		}
	}
	if r := wh.Requests(); len(r) != 1 || !strings.Contains(r[0].Problem, "does not match") {
		t.Errorf("the receiver should have refused one request for its signature: %+v", r)
	}
}

// After Attempts failures the alert is dead-lettered; a wait past MaxAge dead-letters it at once.
func TestGiveUp(t *testing.T) {
	t.Parallel()
	t.Run("Attempts", func(t *testing.T) {
		t.Parallel()
		wh := notifytest.NewWebhook(t, hmacKey)
		n, dir := setup{dests: []string{webhookDest("hook", wh)}, secrets: map[string]string{"hmac": hmacKey},
			delivery: `{"attempts": 3, "backoff_base": "1ms", "backoff_max": "2ms", "dead_letter_path": "dead.ndjson"}`}.open(t)
		for range 5 {
			wh.Fail(notifytest.Fault{Status: 500})
		}
		mustWrite(t, n, alert(1, ctc.Low))
		mustFlush(t, n)
		dl := deadLetters(t, dir)
		if len(dl) != 1 || dl[0].Reason != notify.ReasonAttempts || dl[0].Attempts != 3 || !strings.Contains(dl[0].Error, "status 500") {
			t.Fatalf("dead letters %+v", dl)
		}
		if st := n.Stats()["hook"]; st.Retried != 2 || st.DeadLettered != 1 || st.Sent != 0 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("MaxAge", func(t *testing.T) {
		t.Parallel()
		wh := notifytest.NewWebhook(t, hmacKey)
		n, dir := setup{dests: []string{webhookDest("hook", wh)}, secrets: map[string]string{"hmac": hmacKey},
			delivery: `{"max_age": "30s", "backoff_base": "1ms", "backoff_max": "2ms", "dead_letter_path": "dead.ndjson"}`}.open(t)
		wh.Fail(notifytest.Fault{Status: 429, RetryAfter: time.Hour})
		start := time.Now()
		mustWrite(t, n, alert(1, ctc.Low))
		mustFlush(t, n)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s: should give up at once rather than wait past max age", d)
		}
		dl := deadLetters(t, dir)
		if len(dl) != 1 || dl[0].Reason != notify.ReasonExpired || !strings.Contains(dl[0].Error, "retry after 1h0m0s") {
			t.Fatalf("dead letters %+v", dl)
		}
	})
}

// blocker is a destination that holds every Send until released, recording what it got.
type blocker struct {
	name    string
	release chan struct{}
	started chan struct{}
	mu      sync.Mutex
	got     []notify.Notification
	fail    func(n *notify.Notification) error
}

func newBlocker(name string) *blocker {
	return &blocker{name: name, release: make(chan struct{}), started: make(chan struct{}, 1000)}
}

func (b *blocker) Name() string { return b.name }

func (b *blocker) Send(ctx context.Context, n *notify.Notification) error {
	b.started <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	if b.fail != nil {
		if err := b.fail(n); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, *n)
	return nil
}

func (b *blocker) sent() []notify.Notification {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]notify.Notification(nil), b.got...)
}

// A full queue drops its oldest alert, counts it and dead-letters it, and Write never waits.
func TestQueueFullDropsOldest(t *testing.T) {
	t.Parallel()
	b := newBlocker("slow")
	n, dir := setup{rules: `[{"to": ["slow"]}]`, delivery: `{"queue": 2, "dead_letter_path": "dead.ndjson"}`,
		opts: []notify.Option{notify.WithDestination(b)}}.open(t)
	mustWrite(t, n, alert(0, ctc.High))
	<-b.started // alert 0 is in flight; the queue is empty
	start := time.Now()
	for i := 1; i <= 4; i++ {
		mustWrite(t, n, alert(i, ctc.High))
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("4 Writes took %s with a blocked destination", d)
	}
	if st := n.Stats()["slow"]; st.Dropped != 2 || st.DeadLettered != 2 || st.Queued != 3 {
		t.Errorf("stats %+v, want 2 dropped and dead-lettered, 3 queued (one in flight)", st)
	}
	close(b.release)
	mustFlush(t, n)
	var got []string
	for _, s := range b.sent() {
		got = append(got, s.Alert.Message[strings.LastIndex(s.Alert.Message, "#"):])
	}
	if diff := cmp.Diff([]string{"#0)", "#3)", "#4)"}, got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
	dl := deadLetters(t, dir)
	if len(dl) != 2 || dl[0].Reason != notify.ReasonQueueFull || dl[0].AlertID != alert(1, 0).AlertID || dl[1].AlertID != alert(2, 0).AlertID {
		t.Errorf("dead letters %+v, want alerts 1 and 2 as queue_full", dl)
	}
}

// The delivery log keeps an alert written again after a restart — a new Notifier on the same log
// — from being sent again; a revision more severe is sent, one less severe is not.
func TestDeliveryLogAcrossRestart(t *testing.T) {
	t.Parallel()
	wh := notifytest.NewWebhook(t, hmacKey)
	dir := t.TempDir()
	writeFile(t, dir, "hmac", hmacKey)
	cfg := writeFile(t, dir, "notify.json", `{"destinations": [`+webhookDest("hook", wh)+`], "rules": [{"to": ["hook"]}],
		"delivery": {"log_path": "delivered.ndjson", "backoff_base": "1ms", "backoff_max": "2ms"}, "incidents": {"off": true}}`)
	first := []ctc.Alert{alert(1, ctc.Medium), alert(2, ctc.High), alert(3, ctc.Low)}

	n1, err := notify.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, n1, first...)
	if err := n1.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(wh.Accepted()); got != 3 {
		t.Fatalf("first run delivered %d, want 3", got)
	}

	n2, err := notify.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close(context.Background())
	again := append([]ctc.Alert(nil), first...)
	for i := range again {
		again[i].EmittedAt = again[i].EmittedAt.Add(time.Hour) // detected again, later
		again[i].ActualValue *= 1.01                           // from a live window that saw other trades
	}
	again[1].Severity = ctc.Medium   // less severe: not sent
	again[2].Severity = ctc.Critical // more severe: a new revision
	mustWrite(t, n2, again...)
	mustFlush(t, n2)
	got := wh.Accepted()
	if len(got) != 4 || got[3].Key != again[2].AlertID.String()+":4" {
		t.Fatalf("after the restart, want only alert 3's critical revision sent; got %d requests, last %q", len(got), got[len(got)-1].Key)
	}
	if st := n2.Stats()["hook"]; st.Deduplicated != 2 || st.Sent != 1 {
		t.Errorf("stats %+v, want 2 deduplicated, 1 sent", st)
	}
	for _, r := range got {
		if r.Duplicate {
			t.Errorf("the receiver saw key %s twice", r.Key)
		}
	}
}

// An alert written twice before it is delivered is sent once.
func TestDuplicateWhileQueued(t *testing.T) {
	t.Parallel()
	b := newBlocker("b")
	n, _ := setup{rules: `[{"to": ["b"]}]`, opts: []notify.Option{notify.WithDestination(b)}}.open(t)
	mustWrite(t, n, alert(1, ctc.High), alert(1, ctc.High))
	mustWrite(t, n, alert(1, ctc.High))
	close(b.release)
	mustFlush(t, n)
	if got := len(b.sent()); got != 1 {
		t.Errorf("sent %d times", got)
	}
	if st := n.Stats()["b"]; st.Deduplicated != 2 {
		t.Errorf("stats %+v", st)
	}
}

// A crash while appending leaves a torn last line: the log opens without it (that delivery may be
// sent again, as documented). A damaged line before the last is an error that says what to do.
func TestDeliveryLogDamage(t *testing.T) {
	t.Parallel()
	wh := notifytest.NewWebhook(t, hmacKey)
	open := func(log string) (*notify.Notifier, error) {
		dir := t.TempDir()
		writeFile(t, dir, "hmac", hmacKey)
		writeFile(t, dir, "delivered.ndjson", log)
		return notify.Open(writeFile(t, dir, "notify.json", `{"destinations": [`+webhookDest("hook", wh)+`], "rules": [{"to": ["hook"]}],
			"delivery": {"log_path": "delivered.ndjson"}, "incidents": {"off": true}}`))
	}
	a := alert(1, ctc.High)
	line := fmt.Sprintf(`{"alert_id":%q,"revision":3,"destination":"hook","delivered_at":"2024-03-12T14:02:00Z"}`+"\n", a.AlertID)
	n, err := open(line + line[:40])
	if err != nil {
		t.Fatalf("torn last line: %v", err)
	}
	mustWrite(t, n, a)
	mustFlush(t, n)
	if st := n.Stats()["hook"]; st.Deduplicated != 1 {
		t.Errorf("the whole line before the torn one should still count: %+v", st)
	}
	n.Close(context.Background())

	_, err = open(line[:40] + "\n" + line)
	var le *notify.LogError
	if !errors.As(err, &le) || le.Line != 1 || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("damaged first line: got %v", err)
	}
}

// Flush waits for the queues (bounded by ctx); FlushTimeout caps the wait and returns nil.
// Close with an expired context dead-letters what is left as shutdown.
func TestFlushAndClose(t *testing.T) {
	t.Parallel()
	t.Run("FlushBoundedByContext", func(t *testing.T) {
		t.Parallel()
		b := newBlocker("b")
		n, _ := setup{rules: `[{"to": ["b"]}]`, opts: []notify.Option{notify.WithDestination(b)}}.open(t)
		mustWrite(t, n, alert(1, ctc.High))
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := n.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 alerts still queued") {
			t.Errorf("Flush = %v", err)
		}
		close(b.release)
		mustFlush(t, n)
		if n.Outstanding() != 0 || len(b.sent()) != 1 {
			t.Error("not drained")
		}
	})
	t.Run("FlushTimeout", func(t *testing.T) {
		t.Parallel()
		b := newBlocker("b")
		logs := &syncBuffer{}
		n, _ := setup{rules: `[{"to": ["b"]}]`, delivery: `{"flush_timeout": "50ms"}`,
			opts: []notify.Option{notify.WithDestination(b), notify.WithLogger(debugLogger(logs))}}.open(t)
		mustWrite(t, n, alert(1, ctc.High))
		if err := n.Flush(context.Background()); err != nil {
			t.Errorf("Flush = %v, want nil after the flush timeout", err)
		}
		if !strings.Contains(logs.String(), "flush timeout passed") {
			t.Errorf("no warning logged: %s", logs)
		}
		close(b.release)
	})
	t.Run("CloseExpired", func(t *testing.T) {
		t.Parallel()
		b := newBlocker("b")
		n, dir := setup{rules: `[{"to": ["b"]}]`, delivery: `{"dead_letter_path": "dead.ndjson"}`,
			opts: []notify.Option{notify.WithDestination(b)}}.open(t)
		mustWrite(t, n, alert(1, ctc.High), alert(2, ctc.High))
		<-b.started
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		err := n.Close(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v", err)
		}
		dl := deadLetters(t, dir)
		if len(dl) != 2 || dl[0].Reason != notify.ReasonShutdown || dl[1].Reason != notify.ReasonShutdown {
			t.Errorf("dead letters %+v, want both alerts as shutdown", dl)
		}
		if err := n.Write(context.Background(), batch(alert(3, ctc.High))); !errors.Is(err, ctc.ErrClosed) {
			t.Errorf("Write after Close = %v", err)
		}
		if err := n.Close(context.Background()); !errors.Is(err, ctc.ErrClosed) {
			t.Errorf("second Close = %v", err)
		}
	})
}

// A batch without alerts, or whose alerts no rule matches, queues nothing.
func TestNothingToSend(t *testing.T) {
	t.Parallel()
	b := newBlocker("b")
	close(b.release)
	n, _ := setup{rules: `[{"types": ["whale"], "to": ["b"]}]`, opts: []notify.Option{notify.WithDestination(b)}}.open(t)
	if err := n.Write(context.Background(), &ctc.Batch{Trades: []ctc.Trade{{Symbol: "BTC-USDT"}}}); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, n, alert(1, ctc.Critical)) // a volume spike
	mustFlush(t, n)
	if len(b.sent()) != 0 || n.Outstanding() != 0 {
		t.Errorf("sent %d", len(b.sent()))
	}
	if n.ReadsTrades() {
		t.Error("ReadsTrades")
	}
}
