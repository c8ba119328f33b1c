package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
)

// The destination kinds a config file may name.
const (
	KindWebhook  = "webhook"
	KindSlack    = "slack"
	KindDiscord  = "discord"
	KindTelegram = "telegram"
)

// Config is a notification config: where alerts go, which go where, and how hard to try. Its
// file form is JSON (see the package documentation); LoadConfig reads it.
type Config struct {
	Destinations []DestinationConfig `json:"destinations"`
	Rules        []Rule              `json:"rules"`
	Delivery     Delivery            `json:"delivery"`
	// Incidents groups alerts into incidents before delivery (on by default).
	Incidents Incidents `json:"incidents"`
}

// DestinationConfig names one destination and says how to reach it. Which fields apply depends on
// Kind:
//
//   - webhook: URL (in clear or a reference), Secret (the HMAC key, a reference, at least 16 bytes).
//   - slack, discord: URL, a reference: the incoming-webhook URL is itself the credential.
//   - telegram: Token (a reference), ChatID, ParseMode ("HTML", the default, or "MarkdownV2") and
//     APIURL (default https://api.telegram.org).
type DestinationConfig struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	URL       Secret `json:"url,omitzero"`
	Secret    Secret `json:"secret,omitzero"`
	Token     Secret `json:"token,omitzero"`
	ChatID    string `json:"chat_id,omitempty"`
	ParseMode string `json:"parse_mode,omitempty"`
	APIURL    string `json:"api_url,omitempty"`
}

// String describes the destination without its secrets.
func (d DestinationConfig) String() string {
	return fmt.Sprintf("%s (%s)", d.Name, d.Kind)
}

// Rule sends the alerts it matches to the destinations it names. An alert matches when its type
// is one of Types, its symbol one of Symbols, its exchange one of Exchanges — an empty list
// matching any — and its severity is at least MinSeverity. An alert goes to the union of the
// destinations of every rule it matches, once each.
type Rule struct {
	Types       []ctc.AlertType `json:"types,omitempty"`
	Symbols     []string        `json:"symbols,omitempty"`
	Exchanges   []string        `json:"exchanges,omitempty"`
	MinSeverity ctc.Severity    `json:"min_severity,omitzero"`
	To          []string        `json:"to"`
}

// Matches reports whether the rule matches a.
func (r *Rule) Matches(a *ctc.Alert) bool {
	return a.Severity >= r.MinSeverity &&
		(len(r.Types) == 0 || slices.Contains(r.Types, a.AlertType)) &&
		(len(r.Symbols) == 0 || slices.Contains(r.Symbols, a.Symbol)) &&
		(len(r.Exchanges) == 0 || slices.Contains(r.Exchanges, a.Exchange))
}

// Delivery says how hard the notifier tries. Zero fields take the defaults below.
type Delivery struct {
	// Queue is how many alerts wait per destination (default 1024). When it is full the oldest
	// waiting alert is dropped and dead-lettered with reason queue_full: when a destination comes
	// back, the newest alerts are what a person wants first.
	Queue int `json:"queue,omitempty"`
	// Attempts is how many times one alert is tried on one destination (default 8).
	Attempts int `json:"attempts,omitempty"`
	// MaxAge is how long after Write an alert may still be delivered (default 15m); after that it
	// is dead-lettered with reason expired, since a late anomaly alert misleads more than it helps.
	MaxAge Duration `json:"max_age,omitzero"`
	// Timeout bounds one HTTP attempt (default 10s).
	Timeout Duration `json:"timeout,omitzero"`
	// BackoffBase and BackoffMax shape the exponential back-off between attempts, with equal
	// jitter (defaults 500ms and 1m). A Retry-After from the service replaces it.
	BackoffBase Duration `json:"backoff_base,omitzero"`
	BackoffMax  Duration `json:"backoff_max,omitzero"`
	// FlushTimeout, when set, bounds how long Flush waits for the queues to drain; after it Flush
	// returns nil with alerts still queued, trading the at-least-once guarantee across a crash
	// for a pipeline that never waits long on a dead destination. Zero waits as long as the
	// context allows.
	FlushTimeout Duration `json:"flush_timeout,omitzero"`
	// DeadLetterPath is the NDJSON file dead letters are appended to; empty keeps them only in the
	// log and the counters. LogPath is the delivery log (NDJSON) that keeps an alert from being
	// sent twice across restarts; empty deduplicates only within the process. Relative paths in a
	// config file are taken from the file's directory.
	DeadLetterPath string `json:"dead_letter_path,omitempty"`
	LogPath        string `json:"log_path,omitempty"`
}

// The delivery defaults.
const (
	DefaultQueue       = 1024
	DefaultAttempts    = 8
	DefaultMaxAge      = 15 * time.Minute
	DefaultTimeout     = 10 * time.Second
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffMax  = time.Minute
)

// withDefaults returns d with every zero field set to its default.
func (d Delivery) withDefaults() Delivery {
	def := func(v *Duration, x time.Duration) {
		if *v == 0 {
			*v = Duration(x)
		}
	}
	if d.Queue == 0 {
		d.Queue = DefaultQueue
	}
	if d.Attempts == 0 {
		d.Attempts = DefaultAttempts
	}
	def(&d.MaxAge, DefaultMaxAge)
	def(&d.Timeout, DefaultTimeout)
	def(&d.BackoffBase, DefaultBackoffBase)
	def(&d.BackoffMax, DefaultBackoffMax)
	return d
}

// Validate checks the settings (zero fields stand for their defaults).
func (d Delivery) Validate() error {
	d = d.withDefaults()
	var errs []error
	if d.Queue < 1 || d.Queue > 1<<20 {
		errs = append(errs, fmt.Errorf("delivery.queue must be 1..%d, got %d", 1<<20, d.Queue))
	}
	if d.Attempts < 1 || d.Attempts > 100 {
		errs = append(errs, fmt.Errorf("delivery.attempts must be 1..100, got %d", d.Attempts))
	}
	for _, f := range []struct {
		name string
		v    Duration
	}{{"max_age", d.MaxAge}, {"timeout", d.Timeout}, {"backoff_base", d.BackoffBase}, {"backoff_max", d.BackoffMax}, {"flush_timeout", d.FlushTimeout}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("delivery.%s must not be negative, got %s", f.name, f.v))
		}
	}
	if d.BackoffMax < d.BackoffBase {
		errs = append(errs, fmt.Errorf("delivery.backoff_max (%s) must be at least backoff_base (%s)", d.BackoffMax, d.BackoffBase))
	}
	return errors.Join(errs...)
}

// Duration is a time.Duration written in JSON as a Go duration string ("90s", "15m").
type Duration time.Duration

// String formats the duration as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("want a duration such as \"90s\" or \"15m\", got %q", b)
	}
	*d = Duration(v)
	return nil
}

// maxConfigBytes bounds a config file: one far larger is not a config.
const maxConfigBytes = 1 << 20

// LoadConfig reads a JSON config file, resolves its secret references (env:NAME, file:/path,
// relative paths taken from the file's directory) and validates it. Errors name the field at
// fault and never quote a secret; a secret written in clear is refused without being echoed.
func LoadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("notify: read %s: %w", path, err)
	}
	if len(b) > maxConfigBytes {
		return nil, fmt.Errorf("notify: %s is over %d bytes: not a notification config", path, maxConfigBytes)
	}
	cfg, err := ParseConfig(b, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("notify: %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig is LoadConfig of the file's contents; dir is where relative paths start.
func ParseConfig(data []byte, dir string) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode: more than one JSON value")
	}
	for i := range c.Destinations {
		if err := c.Destinations[i].resolve(dir); err != nil {
			return nil, err
		}
	}
	for _, p := range []*string{&c.Delivery.DeadLetterPath, &c.Delivery.LogPath, &c.Incidents.StatePath} {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// resolve reads the destination's secrets from what they reference.
func (d *DestinationConfig) resolve(dir string) error {
	for _, f := range []struct {
		name  string
		s     *Secret
		plain bool // a value in clear is allowed
	}{
		{"url", &d.URL, d.Kind == KindWebhook},
		{"secret", &d.Secret, false},
		{"token", &d.Token, false},
	} {
		ref := f.s.ref
		if ref == "" || f.s.resolved() {
			continue
		}
		if f.plain && !strings.HasPrefix(ref, "env:") && !strings.HasPrefix(ref, "file:") {
			v := ref
			*f.s = Secret{val: &v, ref: ref}
			continue
		}
		s, err := resolveSecret(ref, dir)
		if err != nil {
			return fmt.Errorf("destination %q: %s: %w", d.Name, f.name, err)
		}
		*f.s = s
	}
	return nil
}

// Validate checks that every destination has what its kind needs, that names are unique and that
// every rule sends somewhere. New checks that the names a rule sends to exist, since a program
// may add destinations of its own (WithDestination). Secrets must be resolved (LoadConfig does it).
func (c *Config) Validate() error {
	var errs []error
	names := map[string]bool{}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		if d.Name == "" {
			errs = append(errs, fmt.Errorf("destination %d has no name", i))
		} else if names[d.Name] {
			errs = append(errs, fmt.Errorf("destination %q is named twice", d.Name))
		}
		names[d.Name] = true
		if err := d.validate(); err != nil {
			errs = append(errs, fmt.Errorf("destination %q: %w", d.Name, err))
		}
	}
	for i, r := range c.Rules {
		if len(r.To) == 0 {
			errs = append(errs, fmt.Errorf("rule %d sends nowhere: give it \"to\": [destination names]", i))
		}
	}
	if err := c.Delivery.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Incidents.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (d *DestinationConfig) validate() error {
	need := func(field string, s Secret) error {
		if s.IsZero() {
			return fmt.Errorf("%s %s needs %s", d.Kind, "destination", field)
		}
		if !s.resolved() {
			return fmt.Errorf("%s is not resolved: load the config with LoadConfig, or use ResolveSecret or NewSecret", field)
		}
		return nil
	}
	forbid := func(field string, set bool) error {
		if set {
			return fmt.Errorf("%s destination takes no %s", d.Kind, field)
		}
		return nil
	}
	checkURL := func(field, raw string) error {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s must be an http or https URL", field) // never quote it: it may hold a token
		}
		return nil
	}
	var errs []error
	switch d.Kind {
	case KindWebhook:
		errs = append(errs, need("url", d.URL), need("secret", d.Secret), forbid("token", !d.Token.IsZero()),
			forbid("chat_id", d.ChatID != ""), forbid("parse_mode", d.ParseMode != ""), forbid("api_url", d.APIURL != ""))
		if !d.URL.IsZero() {
			errs = append(errs, checkURL("url", d.URL.Value()))
		}
		if !d.Secret.IsZero() && len(d.Secret.Value()) < 16 {
			errs = append(errs, errors.New("secret must be at least 16 bytes: an HMAC key shorter than that can be guessed (try: openssl rand -hex 32)"))
		}
	case KindSlack, KindDiscord:
		errs = append(errs, need("url", d.URL), forbid("secret", !d.Secret.IsZero()), forbid("token", !d.Token.IsZero()),
			forbid("chat_id", d.ChatID != ""), forbid("parse_mode", d.ParseMode != ""), forbid("api_url", d.APIURL != ""))
		if !d.URL.IsZero() {
			errs = append(errs, checkURL("url", d.URL.Value()))
		}
	case KindTelegram:
		errs = append(errs, need("token", d.Token), forbid("url", !d.URL.IsZero()), forbid("secret", !d.Secret.IsZero()))
		if d.ChatID == "" {
			errs = append(errs, errors.New(`telegram destination needs chat_id (a number such as "-1001234567890", or "@channelname")`))
		}
		switch d.ParseMode {
		case "", ParseHTML, ParseMarkdownV2:
		default:
			errs = append(errs, fmt.Errorf("parse_mode must be %q or %q, got %q", ParseHTML, ParseMarkdownV2, d.ParseMode))
		}
		if d.APIURL != "" {
			errs = append(errs, checkURL("api_url", d.APIURL))
		}
	case "":
		errs = append(errs, fmt.Errorf("no kind: want %s, %s, %s or %s", KindWebhook, KindSlack, KindDiscord, KindTelegram))
	default:
		errs = append(errs, fmt.Errorf("kind must be %s, %s, %s or %s, got %q", KindWebhook, KindSlack, KindDiscord, KindTelegram, d.Kind))
	}
	return errors.Join(errs...)
}

// secrets lists the values of every secret in the config, for the redactor. A webhook URL given
// in clear is not a secret and stays readable in errors.
func (c *Config) secrets() []string {
	var out []string
	for _, d := range c.Destinations {
		if !d.URL.IsZero() && (d.Kind != KindWebhook || isRef(d.URL.ref) || d.URL.ref == "") {
			out = append(out, d.URL.Value())
		}
		for _, s := range []Secret{d.Secret, d.Token} {
			if !s.IsZero() {
				out = append(out, s.Value())
			}
		}
	}
	return out
}

func isRef(ref string) bool { return strings.HasPrefix(ref, "env:") || strings.HasPrefix(ref, "file:") }
