// Package console is a sink that prints each alert as one readable line the moment it reaches
// the sink: what the example consumer shows a person watching it.
package console

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/coattailcapital/ctc"
)

// Sink writes alerts to a writer, one line each:
//
//	2024-01-15T10:31:00.000Z  HIGH      volume_spike  BTC-USDT on binance: $1.52M traded in 1m0s, z=4.10 …
//
// With DeadLetters it prints the batch's dead letters too, one line each:
//
//	dead letter (malformed) at data.csv:2: line 2: want 8 fields, got 1
type Sink struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	dead bool
}

var _ ctc.Sink = (*Sink)(nil)

// Option configures a Sink.
type Option func(*Sink)

// DeadLetters makes the sink print dead letters as well as alerts: what a command converting or
// loading a file shows of the records it had to leave out.
func DeadLetters() Option { return func(s *Sink) { s.dead = true } }

// New returns a sink printing to w.
func New(w io.Writer, opts ...Option) *Sink {
	s := &Sink{w: w}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Write prints the batch's alerts (and, with DeadLetters, its dead letters).
func (s *Sink) Write(ctx context.Context, b *ctc.Batch) error {
	if len(b.Output.Alerts) == 0 && (!s.dead || len(b.DeadLetters) == 0) {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.buf[:0]
	for i := range b.Output.Alerts {
		s.buf = AppendLine(s.buf, &b.Output.Alerts[i])
	}
	if s.dead {
		for i := range b.DeadLetters {
			d := &b.DeadLetters[i]
			s.buf = fmt.Appendf(s.buf, "dead letter (%s) at %s: %s\n", d.Reason, d.Position, strings.ReplaceAll(d.Detail, "\n", " "))
		}
	}
	_, err := s.w.Write(s.buf)
	return err
}

// AppendLine appends the alert's line, newline included.
func AppendLine(b []byte, a *ctc.Alert) []byte {
	b = ctc.AppendTime(b, a.DetectedAt)
	b = fmt.Appendf(b, "  %-8s  %-12s  %s\n", strings.ToUpper(a.Severity.String()), a.AlertType,
		strings.ReplaceAll(a.Message, "\n", " "))
	return b
}

// ReadsTrades implements ctc.TradeReader: only alerts (and what they are about) are kept here,
// so a checkpoint of a pipeline writing only here need not save its trades.
func (s *Sink) ReadsTrades() bool { return false }

var _ ctc.TradeReader = (*Sink)(nil)
