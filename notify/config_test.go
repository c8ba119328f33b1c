package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
)

// exampleConfig is the config the package documentation shows, with local paths.
const exampleConfig = `{
  "destinations": [
    {"name": "ops", "kind": "webhook", "url": "https://alerts.example.com/ctc", "secret": "env:CTC_TEST_WEBHOOK_KEY"},
    {"name": "desk", "kind": "slack", "url": "env:CTC_TEST_SLACK_URL"},
    {"name": "community", "kind": "discord", "url": "file:discord_url"},
    {"name": "phone", "kind": "telegram", "token": "file:/SECRETS/tg_token", "chat_id": "-1001234567890", "parse_mode": "MarkdownV2"}
  ],
  "rules": [
    {"to": ["ops"]},
    {"types": ["whale"], "min_severity": "high", "to": ["desk", "phone"]},
    {"symbols": ["BTC-USDT", "ETH-USDT"], "exchanges": ["binance"], "min_severity": "critical", "to": ["phone", "community"]}
  ],
  "delivery": {"queue": 256, "attempts": 6, "max_age": "10m", "timeout": "5s", "dead_letter_path": "notify-dead.ndjson", "log_path": "/var/lib/ctc/notify-delivered.ndjson"}
}`

func TestLoadConfig(t *testing.T) {
	// Not parallel: t.Setenv.
	dir := t.TempDir()
	t.Setenv("CTC_TEST_WEBHOOK_KEY", "whk-0123456789abcdef0123")
	t.Setenv("CTC_TEST_SLACK_URL", "https://hooks.slack.com/services/T0/B0/slacksecret0123")
	writeFile(t, dir, "discord_url", "https://discord.com/api/webhooks/1/discordsecret0123\n")
	writeFile(t, dir, "tg_token", "123:telegramsecret0123\n")
	path := writeFile(t, dir, "notify.json", strings.ReplaceAll(exampleConfig, "/SECRETS", dir))
	cfg, err := notify.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Destinations[2].URL.Value(); got != "https://discord.com/api/webhooks/1/discordsecret0123" {
		t.Errorf("discord url %q: a secret file's trailing newline should be dropped", got)
	}
	if got := cfg.Destinations[3].Token.Value(); got != "123:telegramsecret0123" {
		t.Errorf("token %q", got)
	}
	if got, want := cfg.Delivery.DeadLetterPath, filepath.Join(dir, "notify-dead.ndjson"); got != want {
		t.Errorf("relative path %q, want %q", got, want)
	}
	if cfg.Delivery.LogPath != "/var/lib/ctc/notify-delivered.ndjson" || cfg.Delivery.MaxAge != notify.Duration(10*time.Minute) {
		t.Errorf("delivery %+v", cfg.Delivery)
	}
	if diff := cmp.Diff(notify.Rule{Types: []ctc.AlertType{ctc.Whale}, MinSeverity: ctc.High, To: []string{"desk", "phone"}}, cfg.Rules[1]); diff != "" {
		t.Errorf("rule (-want +got):\n%s", diff)
	}
	// Marshalled back, the config holds the references, not the values.
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"slacksecret", "discordsecret", "telegramsecret", "whk-0123"} {
		if strings.Contains(string(b), s) {
			t.Errorf("marshalled config holds %s: %s", s, b)
		}
	}
	if !strings.Contains(string(b), `"url":"env:CTC_TEST_SLACK_URL"`) {
		t.Errorf("marshalled config lost its reference: %s", b)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "key", "0123456789abcdef0123")
	writeFile(t, dir, "short", "short-key")
	writeFile(t, dir, "empty", "\n")
	t.Setenv("CTC_TEST_EMPTY", "")
	os.Unsetenv("CTC_TEST_UNSET")
	const pasted = "https://hooks.slack.com/services/T0/B0/pastedsecret0123"
	for _, c := range []struct{ name, config, want string }{
		{"unknown field", `{"destinations": [], "rules": [], "deliveryy": {}}`, `unknown field "deliveryy"`},
		{"not JSON", `destinations: []`, "decode"},
		{"two values", `{} {}`, "more than one JSON value"},
		{"unknown kind", `{"destinations": [{"name": "x", "kind": "pager"}]}`, `kind must be webhook, slack, discord or telegram, got "pager"`},
		{"no name", `{"destinations": [{"kind": "slack", "url": "file:key"}]}`, "destination 0 has no name"},
		{"twice", `{"destinations": [{"name": "a", "kind": "telegram", "token": "file:key", "chat_id": "1"}, {"name": "a", "kind": "telegram", "token": "file:key", "chat_id": "1"}]}`, `"a" is named twice`},
		{"secret in clear", `{"destinations": [{"name": "s", "kind": "slack", "url": "` + pasted + `"}]}`, `url: must be a reference, "env:NAME" or "file:/path"`},
		{"token in clear", `{"destinations": [{"name": "t", "kind": "telegram", "token": "123:pastedsecret0123", "chat_id": "1"}]}`, `token: must be a reference`},
		{"unset env", `{"destinations": [{"name": "s", "kind": "slack", "url": "env:CTC_TEST_UNSET"}]}`, "environment variable CTC_TEST_UNSET is not set"},
		{"empty env", `{"destinations": [{"name": "s", "kind": "slack", "url": "env:CTC_TEST_EMPTY"}]}`, "environment variable CTC_TEST_EMPTY is empty"},
		{"missing file", `{"destinations": [{"name": "s", "kind": "slack", "url": "file:nope"}]}`, "read secret file"},
		{"empty file", `{"destinations": [{"name": "s", "kind": "slack", "url": "file:empty"}]}`, "is empty"},
		{"short hmac", `{"destinations": [{"name": "w", "kind": "webhook", "url": "https://x.example", "secret": "file:short"}]}`, "at least 16 bytes"},
		{"no hmac", `{"destinations": [{"name": "w", "kind": "webhook", "url": "https://x.example"}]}`, "needs secret"},
		{"not a URL", `{"destinations": [{"name": "s", "kind": "slack", "url": "file:key"}]}`, "url must be an http or https URL"},
		{"no chat", `{"destinations": [{"name": "t", "kind": "telegram", "token": "file:key"}]}`, "needs chat_id"},
		{"parse mode", `{"destinations": [{"name": "t", "kind": "telegram", "token": "file:key", "chat_id": "1", "parse_mode": "Markdown"}]}`, `parse_mode must be "HTML" or "MarkdownV2", got "Markdown"`},
		{"field of another kind", `{"destinations": [{"name": "t", "kind": "telegram", "token": "file:key", "chat_id": "1", "url": "file:key"}]}`, "telegram destination takes no url"},
		{"rule to nowhere", `{"destinations": [], "rules": [{"types": ["whale"]}]}`, "rule 0 sends nowhere"},
		{"severity", `{"rules": [{"min_severity": "huge", "to": ["x"]}]}`, "severity must be low, medium, high or critical"},
		{"duration", `{"delivery": {"max_age": "ten minutes"}}`, `want a duration such as "90s"`},
		{"attempts", `{"delivery": {"attempts": 1000}}`, "delivery.attempts must be 1..100, got 1000"},
		{"backoff", `{"delivery": {"backoff_base": "1m", "backoff_max": "1s"}}`, "backoff_max (1s) must be at least backoff_base (1m0s)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := notify.LoadConfig(writeFile(t, dir, "c.json", c.config))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
			for _, s := range []string{"pastedsecret", "0123456789abcdef0123", "short-key"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error quotes a secret: %v", err)
				}
			}
		})
	}
	// A rule naming a destination that does not exist is caught when the notifier is made.
	_, err := notify.Open(writeFile(t, dir, "c.json", `{"destinations": [{"name": "t", "kind": "telegram", "token": "file:key", "chat_id": "1"}], "rules": [{"to": ["tg"]}]}`))
	if err == nil || !strings.Contains(err.Error(), `rule 0 sends to "tg", which is not a destination (have t)`) {
		t.Errorf("Open: %v", err)
	}
}

// Secrets never appear in anything the notifier prints, logs, dead-letters or returns, whatever
// goes wrong: refused connections (the HTTP client quotes the URL, which for Slack, Discord and
// Telegram holds the token), services echoing the request back in their errors, timeouts.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	const (
		slackPath = "/services/T0LEAK/B0LEAK/slackleaksecret0123"
		discPath  = "/api/webhooks/9/discordleaksecret0123"
		tgTok     = "4242:telegramleaksecret0123"
		key       = "webhookleakhmackey0123"
	)
	// Echoes the path and signature back in its errors, as a careless service might.
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.RawQuery, "slow") {
			time.Sleep(300 * time.Millisecond)
		}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "bad token in %s %s %s", r.URL.Path, url.PathEscape(r.URL.Path), r.Header.Get(notify.SignatureHeader))
	})
	srv := newHTTPServer(t, echo)
	dead := newHTTPServer(t, echo)
	dead.Close() // refused connections
	logs := &syncBuffer{}
	dests := []string{
		`{"name": "hook", "kind": "webhook", "url": "` + srv.URL + `/hook", "secret": "file:hmac"}`,
		`{"name": "slack", "kind": "slack", "url": "file:slack"}`,
		`{"name": "slack-down", "kind": "slack", "url": "file:slack_down"}`,
		`{"name": "slack-slow", "kind": "slack", "url": "file:slack_slow"}`,
		`{"name": "discord", "kind": "discord", "url": "file:discord"}`,
		`{"name": "tg", "kind": "telegram", "token": "file:tg", "chat_id": "1", "api_url": "` + srv.URL + `"}`,
		`{"name": "tg-down", "kind": "telegram", "token": "file:tg", "chat_id": "1", "api_url": "` + dead.URL + `"}`,
	}
	secrets := map[string]string{
		"hmac": key, "slack": srv.URL + slackPath, "slack_down": dead.URL + slackPath,
		"slack_slow": srv.URL + slackPath + "?slow", "discord": srv.URL + discPath, "tg": tgTok,
	}
	n, dir := setup{dests: dests, secrets: secrets,
		delivery: `{"attempts": 2, "timeout": "100ms", "backoff_base": "1ms", "backoff_max": "2ms", "dead_letter_path": "dead.ndjson", "log_path": "log.ndjson"}`,
		opts:     []notify.Option{notify.WithLogger(debugLogger(logs))}}.open(t)
	a := alert(1, ctc.Critical)
	mustWrite(t, n, a)
	mustFlush(t, n)

	var out []string
	out = append(out, logs.String())
	dl, err := os.ReadFile(filepath.Join(dir, "dead.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(dl))
	cfg, err := notify.LoadConfig(filepath.Join(dir, "notify.json"))
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(cfg)
	out = append(out, fmt.Sprintf("%v|%+v|%#v|%s|%q", cfg, cfg, cfg, cfg.Destinations, cfg.Destinations[1].URL), string(js), n.String())
	var sb syncBuffer
	slog.New(slog.NewTextHandler(&sb, nil)).Info("config", "cfg", cfg, "token", cfg.Destinations[5].Token)
	out = append(out, sb.String())
	if err := n.Close(context.Background()); err != nil {
		out = append(out, err.Error())
	}

	all := strings.Join(out, "\n")
	if len(logs.String()) == 0 || len(dl) == 0 {
		t.Fatal("nothing was logged or dead-lettered: the test tests nothing")
	}
	if got := strings.Count(string(dl), "\n"); got != len(dests) {
		t.Errorf("%d dead letters, want one per destination (%d):\n%s", got, len(dests), dl)
	}
	for _, s := range []string{"slackleaksecret", "discordleaksecret", "telegramleaksecret", "webhookleakhmackey", "T0LEAK", "B0LEAK"} {
		if strings.Contains(all, s) {
			i := strings.Index(all, s)
			t.Errorf("%q leaked: …%s…", s, all[max(i-200, 0):min(i+100, len(all))])
		}
	}
	// The redaction is visible, and the errors still say what went wrong.
	for _, s := range []string{"[redacted]", "status 401", "connection refused", "no answer within 100ms"} {
		if !strings.Contains(all, s) {
			t.Errorf("output lacks %q:\n%s", s, all)
		}
	}
}

func TestSecretFormatting(t *testing.T) {
	// Not parallel: t.Setenv.
	s := notify.NewSecret("value-0123456789")
	type holder struct {
		s notify.Secret
		S notify.Secret
	}
	h := holder{s, s}
	for _, got := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s), fmt.Sprintf("%v %+v %#v", h, h, h), s.String()} {
		if strings.Contains(got, "value-0123456789") {
			t.Errorf("formatted secret shows its value: %s", got)
		}
	}
	if got := fmt.Sprint(s); got != "[redacted]" {
		t.Errorf("got %q", got)
	}
	if s.Value() != "value-0123456789" {
		t.Error("Value")
	}
	t.Setenv("CTC_TEST_SECRET_FMT", "v-0123456789abc")
	r, err := notify.ResolveSecret("env:CTC_TEST_SECRET_FMT")
	if err != nil || r.String() != "env:CTC_TEST_SECRET_FMT" || r.Value() != "v-0123456789abc" {
		t.Errorf("ResolveSecret: %v %v", r, err)
	}
	if _, err := notify.ResolveSecret("v-0123456789abc"); err == nil || strings.Contains(err.Error(), "v-0123") {
		t.Errorf("a value given as a reference: %v", err)
	}
}
