// Package logflag gives every ctc command the same logging flags: -log-level (debug, info,
// warn, error; default info) and -log-format (text, the default, or json for log shippers), and
// the log/slog logger they select.
package logflag

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Flags holds the two flags' values.
type Flags struct {
	Level  string
	Format string
}

// Register adds -log-level and -log-format to fs.
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{}
	fs.StringVar(&f.Level, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.Format, "log-format", "text", "log `format`: text (key=value lines) or json (one object a line, for log shippers)")
	return f
}

// New returns the logger the flags select, writing to w.
func (f *Flags) New(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.Level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", f.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(f.Format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", f.Format)
}
