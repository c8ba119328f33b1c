package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Secret is a credential — a bot token, a webhook URL that embeds one, an HMAC key — together
// with where it came from. It prints, formats, marshals and logs as its reference (env:NAME,
// file:/path) or as [redacted], never as its value: %v, %+v, %#v, %q, slog and encoding/json all
// see only the reference. The value sits behind a pointer, so that even a struct holding a Secret
// in an unexported field prints an address rather than the value.
type Secret struct {
	ref string
	val *string
}

// redacted is what a secret's value is replaced by wherever it would otherwise appear.
const redacted = "[redacted]"

// NewSecret wraps a value obtained by a program — from a secrets manager, say — as a Secret that
// prints as [redacted]. A config file cannot hold a value in clear; Go code can.
func NewSecret(value string) Secret { return Secret{val: &value} }

// ResolveSecret reads the secret a reference names: env:NAME reads the environment variable NAME,
// file:/path reads the file (a relative path is taken from the working directory; LoadConfig takes
// it from the config file's directory) and drops trailing white space, as secret files mounted by
// Docker or Kubernetes end with a newline. An empty value is an error: a missing secret must not
// become an unauthenticated request.
func ResolveSecret(ref string) (Secret, error) { return resolveSecret(ref, "") }

func resolveSecret(ref, dir string) (Secret, error) {
	kind, name, ok := strings.Cut(ref, ":")
	switch {
	case !ok || name == "":
	case kind == "env":
		v, set := os.LookupEnv(name)
		if !set {
			return Secret{}, fmt.Errorf("environment variable %s is not set", name)
		}
		if v = strings.TrimSpace(v); v == "" {
			return Secret{}, fmt.Errorf("environment variable %s is empty", name)
		}
		return Secret{ref: ref, val: &v}, nil
	case kind == "file":
		path := name
		if !filepath.IsAbs(path) && dir != "" {
			path = filepath.Join(dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			// The path is not secret, but the error must not quote the file's contents; os errors never do.
			return Secret{}, fmt.Errorf("read secret file: %w", err)
		}
		v := strings.TrimRight(string(b), " \t\r\n")
		if v == "" {
			return Secret{}, fmt.Errorf("secret file %s is empty", path)
		}
		return Secret{ref: ref, val: &v}, nil
	}
	// Never echo ref: what is not a reference is probably the secret itself, pasted in.
	return Secret{}, errors.New(`must be a reference, "env:NAME" or "file:/path", not the value itself: put the value in an environment variable or a file readable only by this program`)
}

// Value returns the secret in clear, for the one place that needs it: the request.
func (s Secret) Value() string {
	if s.val == nil {
		return ""
	}
	return *s.val
}

// IsZero reports whether the secret holds nothing.
func (s Secret) IsZero() bool { return s.val == nil || *s.val == "" }

// Ref returns the reference the secret was read from, or "" for NewSecret's.
func (s Secret) Ref() string { return s.ref }

// String returns the reference, or [redacted].
func (s Secret) String() string {
	switch {
	case s.IsZero():
		return ""
	case s.ref != "":
		return s.ref
	}
	return redacted
}

// GoString implements fmt.GoStringer, so that %#v does not show the value.
func (s Secret) GoString() string { return fmt.Sprintf("notify.Secret(%q)", s.String()) }

// Format implements fmt.Formatter: every verb formats String.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fallthrough
	default:
		fmt.Fprint(f, s.String())
	}
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler: the reference, so that a config marshalled back
// to JSON is still a config with references and no values.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. It keeps the text as an unresolved
// reference; LoadConfig resolves it (or rejects a value written in clear).
func (s *Secret) UnmarshalText(b []byte) error {
	*s = Secret{ref: string(b)}
	return nil
}

// resolved reports whether the secret holds a value rather than only a reference.
func (s Secret) resolved() bool { return s.val != nil }

// redactor replaces every secret the notifier knows, in the forms it may take in an error — as
// is, path-escaped and query-escaped, as a URL error quotes it — with [redacted]. Every string
// that leaves the notifier (a log record, a dead letter, an error) goes through it, so that a
// service echoing a token in an error body, or the HTTP client quoting a URL that embeds one,
// still leaks nothing.
type redactor struct{ r *strings.Replacer }

func newRedactor(secrets []string) *redactor {
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		base := []string{s}
		host := ""
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			// A URL that embeds a token is cited by its host alone.
			base = append(base, u.Path, u.EscapedPath(), u.RawQuery)
			host = u.Host
		}
		// The token inside a URL or a bot token (its last path segment, what follows the bot id)
		// may be quoted on its own; pieces this long are never ordinary words.
		for _, piece := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == ':' || r == '?' || r == '&' || r == '=' }) {
			if len(piece) >= 16 && !strings.Contains(host, piece) {
				base = append(base, piece)
			}
		}
		for _, b := range base {
			forms = append(forms, b, url.PathEscape(b), url.QueryEscape(b))
		}
	}
	// Longest first, so that a secret containing another is replaced whole.
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	forms = slices.Compact(forms)
	var pairs []string
	for _, f := range forms {
		if len(f) >= 4 && f != "/" {
			pairs = append(pairs, f, redacted)
		}
	}
	return &redactor{strings.NewReplacer(pairs...)}
}

func (r *redactor) String(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// Error returns err's text with every secret redacted.
func (r *redactor) Error(err error) string {
	if err == nil {
		return ""
	}
	return r.String(err.Error())
}
