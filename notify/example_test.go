package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
)

// A notifier loaded from a config file sends a high-severity whale alert to a webhook receiver,
// which verifies the signature and drops repeats by idempotency key. The volume spike matches no
// rule. A second notifier on the same delivery log — the program after a restart — does not send
// the whale alert again.
func Example() {
	const key = "example-hmac-key-0123456789"
	var mu sync.Mutex
	seen := map[string]bool{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.VerifySignature(key, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if k := r.Header.Get(notify.IdempotencyHeader); !seen[k] {
			seen[k] = true
			var a ctc.Alert
			_ = json.Unmarshal(body, &a)
			fmt.Printf("received %s %s %s: %s\n", a.Severity, a.AlertType, a.Symbol, a.Message)
		}
	}))
	defer receiver.Close()

	dir, _ := os.MkdirTemp("", "notify-example")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "webhook_key"), []byte(key+"\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "notify.json"), []byte(`{
	  "destinations": [{"name": "ops", "kind": "webhook", "url": "`+receiver.URL+`", "secret": "file:webhook_key"}],
	  "rules": [{"types": ["whale"], "min_severity": "high", "to": ["ops"]}],
	  "delivery": {"log_path": "delivered.ndjson", "dead_letter_path": "dead.ndjson"}
	}`), 0o600)

	detected := time.Date(2024, 1, 15, 10, 31, 0, 0, time.UTC)
	b := &ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{
		{AlertID: ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", "e1"), AlertType: ctc.Whale, Symbol: "BTC-USDT",
			Exchange: ctc.Binance, Severity: ctc.High, DetectedAt: detected, Message: "$750.0k buy of 12.5 at 60000"},
		{AlertID: ctc.NewAlertID(ctc.VolumeSpike, ctc.Binance, "ETH-USDT", "w1"), AlertType: ctc.VolumeSpike, Symbol: "ETH-USDT",
			Exchange: ctc.Binance, Severity: ctc.Critical, DetectedAt: detected, Message: "$9.1M traded in 1m0s"},
	}}}
	ctx := context.Background()
	for run := 1; run <= 2; run++ {
		n, err := notify.Open(filepath.Join(dir, "notify.json"))
		if err != nil {
			log.Fatal(err)
		}
		if err := n.Write(ctx, b); err != nil {
			log.Fatal(err)
		}
		if err := n.Flush(ctx); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("run %d: %+v\n", run, n.Stats()["ops"])
		_ = n.Close(ctx)
	}
	// Output:
	// received high whale BTC-USDT: opened: $750.0k buy of 12.5 at 60000
	// run 1: {Sent:1 Retried:0 Dropped:0 DeadLettered:0 Deduplicated:0 Queued:0}
	// run 2: {Sent:0 Retried:0 Dropped:0 DeadLettered:0 Deduplicated:1 Queued:0}
}

// A receiver checks the signature over the raw body before decoding it, and tells a wrong
// secret from a replay.
func ExampleVerifySignature() {
	secret := "example-hmac-key-0123456789"
	body := []byte(`{"alert_id":"…"}`)
	signedAt := time.Unix(1_705_314_660, 0)
	header := notify.Sign([]byte(secret), signedAt, body) // what the notifier sends

	check := func(secret string, now time.Time) {
		err := notify.VerifySignature(secret, header, body, now, 5*time.Minute)
		switch {
		case err == nil:
			fmt.Println("ok")
		case errors.Is(err, notify.ErrSignatureMismatch):
			fmt.Println("refused: wrong secret or altered body")
		case errors.Is(err, notify.ErrSignatureExpired):
			fmt.Println("refused: too old, a replay")
		default:
			fmt.Println("refused:", err)
		}
	}
	check(secret, signedAt.Add(2*time.Second))
	check("someone-elses-key-0123456789", signedAt)
	check(secret, signedAt.Add(time.Hour))
	// Output:
	// ok
	// refused: wrong secret or altered body
	// refused: too old, a replay
}

// LoadConfig resolves the secrets a config references; the config prints its references, never
// the values.
func ExampleLoadConfig() {
	dir, _ := os.MkdirTemp("", "notify-config")
	defer os.RemoveAll(dir)
	_ = os.WriteFile(filepath.Join(dir, "tg_token"), []byte("123456:not-a-real-token-abcdefghijkl\n"), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "notify.json"), []byte(`{
	  "destinations": [{"name": "phone", "kind": "telegram", "token": "file:tg_token", "chat_id": "-1001234567890"}],
	  "rules": [{"types": ["whale"], "min_severity": "critical", "to": ["phone"]}]
	}`), 0o600)
	cfg, err := notify.LoadConfig(filepath.Join(dir, "notify.json"))
	if err != nil {
		log.Fatal(err)
	}
	d := cfg.Destinations[0]
	fmt.Println(d, d.Token, len(d.Token.Value()))
	fmt.Printf("%+v\n", cfg.Rules[0])
	// Output:
	// phone (telegram) file:tg_token 36
	// {Types:[whale] Symbols:[] Exchanges:[] MinSeverity:critical To:[phone]}
}
