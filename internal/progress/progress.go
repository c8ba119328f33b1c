// Package progress reports the progress of a long task — a historical load, a reprocessing run, a
// large replay — on the terminal that runs it: a bar redrawn in place when the output is a
// terminal (golang.org/x/term says so), and otherwise — a file, a pipe, /dev/null, a CI log — a
// plain line now and then, so that logs stay readable. It is library-internal: the commands share
// it.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// DefaultEvery is how often a plain line is written when the output is not a terminal.
const DefaultEvery = 5 * time.Second

// Bar reports one task's progress on w. Its methods may be called from several goroutines.
type Bar struct {
	w      io.Writer
	prefix string
	unit   string
	tty    bool
	every  time.Duration
	now    func() time.Time

	mu       sync.Mutex
	label    string
	frac     float64
	count    int64
	lastLine time.Time
	drawn    bool
}

// Option configures a Bar.
type Option func(*Bar)

// WithTerminal overrides the terminal detection.
func WithTerminal(tty bool) Option { return func(b *Bar) { b.tty = tty } }

// WithEvery sets how often a plain line is written (DefaultEvery).
func WithEvery(d time.Duration) Option { return func(b *Bar) { b.every = d } }

// WithClock sets the clock plain lines are paced by (default time.Now).
func WithClock(now func() time.Time) Option { return func(b *Bar) { b.now = now } }

// New returns a Bar writing to w, its plain lines starting "<prefix>: ", counting unit (e.g.
// "trades"). It draws a bar when w is a terminal.
func New(w io.Writer, prefix, unit string, opts ...Option) *Bar {
	b := &Bar{w: w, prefix: prefix, unit: unit, every: DefaultEvery, now: time.Now, tty: IsTerminal(w)}
	for _, o := range opts {
		o(b)
	}
	return b
}

// IsTerminal says whether w is a terminal: an *os.File that x/term recognises. A character device
// that is not a terminal (/dev/null) is not one.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Update reports that the task labelled label is frac done (0–1; < 0 when unknown) with count
// units so far. A new label ends the previous one's line.
func (b *Bar) Update(label string, frac float64, count int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	changed := label != b.label
	if changed && b.label != "" {
		b.finishLocked()
	}
	b.label, b.frac, b.count = label, min(frac, 1), count
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", b.lineLocked(true))
		b.drawn = true
		return
	}
	now := b.now()
	if changed || now.Sub(b.lastLine) >= b.every || frac >= 1 && b.lastLine.IsZero() {
		fmt.Fprintf(b.w, "%s: %s\n", b.prefix, b.lineLocked(false))
		b.lastLine = now
	}
}

// Done ends the bar with a last line saying where the task got to.
func (b *Bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.label != "" || b.count > 0 {
		b.finishLocked()
	}
	b.label = ""
}

func (b *Bar) finishLocked() {
	if b.tty {
		if b.drawn {
			fmt.Fprintln(b.w)
		}
		b.drawn = false
		return
	}
	fmt.Fprintf(b.w, "%s: %s\n", b.prefix, b.lineLocked(false))
	b.lastLine = b.now()
}

func (b *Bar) lineLocked(bar bool) string {
	var s strings.Builder
	if b.label != "" {
		s.WriteString(b.label)
		s.WriteByte(' ')
	}
	if b.frac >= 0 {
		if bar {
			const width = 30
			fill := int(max(b.frac, 0) * width)
			fmt.Fprintf(&s, "[%s%s] ", strings.Repeat("█", fill), strings.Repeat("·", width-fill))
		}
		fmt.Fprintf(&s, "%5.1f%% ", b.frac*100)
	}
	fmt.Fprintf(&s, "%d %s", b.count, b.unit)
	return s.String()
}
