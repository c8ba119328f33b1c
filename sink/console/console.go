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
type Sink struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

var _ ctc.Sink = (*Sink)(nil)

// New returns a sink printing to w.
func New(w io.Writer) *Sink { return &Sink{w: w} }

// Write prints the batch's alerts.
func (s *Sink) Write(ctx context.Context, b *ctc.Batch) error {
	if len(b.Output.Alerts) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf = s.buf[:0]
	for i := range b.Output.Alerts {
		s.buf = AppendLine(s.buf, &b.Output.Alerts[i])
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
