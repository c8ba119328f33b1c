// Package feed holds what the live exchange sources (source/binance, source/coinbase) share:
// reconnect back-off, gap events, per-connection counters, and the raw capture format that
// records every received frame so that it can be replayed through the same decoder.
package feed

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/coattailcapital/ctc/internal/backoff"
	"io"
	"math"
	"strconv"
	"sync/atomic"
	"time"
)

// Backoff computes reconnect delays: exponential from Initial by Multiplier up to Max, with equal
// jitter (a uniform draw in [d/2, d]) so that many clients cut off at once do not come back at
// once, and never sooner than half the delay.
type Backoff struct {
	Initial    time.Duration // default 500 ms
	Max        time.Duration // default 30 s
	Multiplier float64       // default 2
	// Rand returns a float in [0, 1); default math/rand/v2. Tests pass a fixed one.
	Rand func() float64
}

// Delay returns the wait before reconnect attempt n (0 for the first retry).
func (b Backoff) Delay(n int) time.Duration {
	initial, maxD, mult := b.Initial, b.Max, b.Multiplier
	if initial <= 0 {
		initial = 500 * time.Millisecond
	}
	if maxD <= 0 {
		maxD = 30 * time.Second
	}
	if mult < 1 {
		mult = 2
	}
	rnd := backoff.Uniform
	if b.Rand != nil {
		rnd = backoff.FromFloat(b.Rand)
	}
	return backoff.Equal(backoff.Cap(initial, maxD, mult, n), rnd)
}

// Gap is a range of trades a source found missing: by trade id where the exchange numbers its
// trades, else by time (a connection that was down). Repaired says whether the source fetched the
// range from the exchange's REST history and merged it in order; an unrepaired gap is reported
// so that nothing is lost silently.
type Gap struct {
	Exchange, Symbol string
	// FirstID and LastID bound the missing trade ids, inclusive; both 0 when the gap is by time.
	FirstID, LastID int64
	// From and To bound the missing time, when known.
	From, To time.Time
	Repaired bool
	// Reason says why the gap was found or why it could not be repaired.
	Reason string
}

// String describes the gap on one line.
func (g Gap) String() string {
	state := "unrepaired"
	if g.Repaired {
		state = "repaired"
	}
	rng := fmt.Sprintf("ids %d..%d", g.FirstID, g.LastID)
	if g.FirstID == 0 && g.LastID == 0 {
		rng = fmt.Sprintf("%s..%s", g.From.UTC().Format(time.RFC3339Nano), g.To.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("%s %s gap %s %s: %s", g.Exchange, g.Symbol, rng, state, g.Reason)
}

// Stats counts what a live source did. Fields are updated atomically and may be read at any time
// (Snapshot).
type Stats struct {
	Messages       atomic.Int64 // frames received
	Trades         atomic.Int64 // trades produced
	Malformed      atomic.Int64 // frames that did not decode
	Reconnects     atomic.Int64
	GapsDetected   atomic.Int64
	GapsRepaired   atomic.Int64
	GapsUnrepaired atomic.Int64
	// LagMillis is the latest lag between a trade's exchange time and its receipt, in ms.
	LagMillis atomic.Int64
}

// StatsSnapshot is a copy of Stats.
type StatsSnapshot struct {
	Messages, Trades, Malformed, Reconnects, GapsDetected, GapsRepaired, GapsUnrepaired, LagMillis int64
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() StatsSnapshot {
	return StatsSnapshot{s.Messages.Load(), s.Trades.Load(), s.Malformed.Load(), s.Reconnects.Load(),
		s.GapsDetected.Load(), s.GapsRepaired.Load(), s.GapsUnrepaired.Load(), s.LagMillis.Load()}
}

// CaptureWriter records frames in the capture format cryptofeed uses: one frame a line,
// "<receive time in epoch seconds>: <frame>". Frames must not contain a newline (JSON frames from
// the exchanges do not).
type CaptureWriter struct {
	w   *bufio.Writer
	buf []byte
}

// NewCaptureWriter returns a writer to w; call Flush when done.
func NewCaptureWriter(w io.Writer) *CaptureWriter { return &CaptureWriter{w: bufio.NewWriter(w)} }

// Write records one frame received at recv.
func (c *CaptureWriter) Write(recv time.Time, frame []byte) error {
	if bytes.IndexByte(frame, '\n') >= 0 {
		return errors.New("feed: a captured frame cannot contain a newline")
	}
	c.buf = strconv.AppendFloat(c.buf[:0], float64(recv.UnixMicro())/1e6, 'f', 6, 64)
	c.buf = append(c.buf, ':', ' ')
	c.buf = append(c.buf, frame...)
	c.buf = append(c.buf, '\n')
	_, err := c.w.Write(c.buf)
	return err
}

// Flush writes buffered frames.
func (c *CaptureWriter) Flush() error { return c.w.Flush() }

// CaptureReader reads a capture: the frames, with their receive times. Lines that are not frames
// (cryptofeed's "<url> <-> ts" connect lines and "<url> <- ts: msg" sent-message lines) are skipped.
type CaptureReader struct {
	r    *bufio.Reader
	line int
}

// NewCaptureReader reads from r.
func NewCaptureReader(r io.Reader) *CaptureReader {
	return &CaptureReader{r: bufio.NewReaderSize(r, 1<<20)}
}

// Next returns the next frame, or io.EOF. The frame is valid until the next call.
func (c *CaptureReader) Next() (recv time.Time, frame []byte, err error) {
	for {
		line, err := c.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return time.Time{}, nil, fmt.Errorf("feed: capture line %d is longer than 1 MiB", c.line+1)
		}
		if len(line) == 0 && err != nil {
			return time.Time{}, nil, err
		}
		c.line++
		line = bytes.TrimRight(line, "\r\n")
		i := bytes.Index(line, []byte(": "))
		if i <= 0 {
			continue // a connect line, or blank
		}
		secs, perr := strconv.ParseFloat(string(line[:i]), 64)
		if perr != nil {
			continue // "<url> <- ts: msg", a message we sent
		}
		whole, frac := math.Modf(secs)
		return time.Unix(int64(whole), int64(math.Round(frac*1e6))*1e3).UTC(), line[i+2:], nil
	}
}
