package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/notify/notifytest"
)

// hmacKey is the webhook key the tests share with their receivers.
const hmacKey = "test-hmac-key-0123456789abcdef"

var t0 = time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)

// alert returns a distinct alert; i picks its window.
func alert(i int, sev ctc.Severity) ctc.Alert {
	start := t0.Add(time.Duration(i) * time.Minute)
	return ctc.Alert{
		AlertID:   ctc.NewAlertID(ctc.VolumeSpike, ctc.Binance, "BTC-USDT", ctc.WindowKey(start)),
		AlertType: ctc.VolumeSpike, Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: sev,
		ZScore: 4.1, ThresholdValue: 3, ActualValue: 1.52e6, WindowStart: start, DetectedAt: start.Add(time.Minute),
		Message: fmt.Sprintf("BTC-USDT on binance: $1.52M traded in 1m0s, z=4.10 (#%d)", i), TTLEpoch: start.Add(time.Minute + ctc.AlertTTL).Unix(),
		EmittedAt: start.Add(time.Minute + time.Second),
	}
}

func batch(alerts ...ctc.Alert) *ctc.Batch {
	return &ctc.Batch{Output: ctc.Output{Alerts: alerts}}
}

// writeFile writes a file in dir (0600) and returns its path.
func writeFile(t testing.TB, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// setup writes a config holding the destinations (each a JSON object; secrets are written to
// files next to it and referenced as file:name) and loads a notifier from it.
type setup struct {
	dests     []string
	rules     string // JSON array; default: everything to every destination
	delivery  string // JSON object
	incidents string // JSON object; default {"off": true}
	secrets   map[string]string
	opts      []notify.Option
}

func (s setup) open(t testing.TB) (*notify.Notifier, string) {
	t.Helper()
	dir := t.TempDir()
	for name, v := range s.secrets {
		writeFile(t, dir, name, v+"\n")
	}
	rules := s.rules
	if rules == "" {
		var names []string
		for _, d := range s.dests {
			var v struct{ Name string }
			if err := json.Unmarshal([]byte(d), &v); err != nil {
				t.Fatal(err)
			}
			names = append(names, fmt.Sprintf("%q", v.Name))
		}
		rules = `[{"to": [` + strings.Join(names, ",") + `]}]`
	}
	delivery := s.delivery
	if delivery == "" {
		delivery = `{}`
	}
	incidents := s.incidents
	if incidents == "" {
		incidents = `{"off": true}` // most tests are about delivery: each alert its own notice
	}
	path := writeFile(t, dir, "notify.json", `{"destinations": [`+strings.Join(s.dests, ",")+`], "rules": `+rules+`, "delivery": `+delivery+`, "incidents": `+incidents+`}`)
	n, err := notify.Open(path, s.opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n, dir
}

// fast is a delivery section with short waits, a dead-letter file and a delivery log.
const fast = `{"backoff_base": "1ms", "backoff_max": "5ms", "timeout": "2s", "dead_letter_path": "dead.ndjson", "log_path": "delivered.ndjson"}`

func webhookDest(name string, srv *notifytest.Server) string {
	return fmt.Sprintf(`{"name": %q, "kind": "webhook", "url": %q, "secret": "file:hmac"}`, name, srv.URL())
}

func mustWrite(t testing.TB, n *notify.Notifier, alerts ...ctc.Alert) {
	t.Helper()
	if err := n.Write(context.Background(), batch(alerts...)); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func mustFlush(t testing.TB, n *notify.Notifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func deadLetters(t testing.TB, dir string) []notify.DeadLetter {
	t.Helper()
	dl, err := notify.ReadDeadLetters(filepath.Join(dir, "dead.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	return dl
}

// syncBuffer is a log destination that tests can read while workers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func debugLogger(w *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newHTTPServer(t testing.TB, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
