package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/coattailcapital/ctc"
)

// ErrClosed (which wraps ctc.ErrClosed) is returned by Write and Flush after Close.
var ErrClosed = fmt.Errorf("memory: sink is closed: %w", ctc.ErrClosed)

// ErrInjected is what an injected failure returns when FailWrites or FailFlushes was given a nil error.
var ErrInjected = errors.New("memory: injected failure")

// Sink keeps everything written to it in memory. The zero value is not usable; call New.
type Sink struct {
	mu     sync.Mutex
	c      Contents
	closed bool
	writes fault
	flush  fault
}

var (
	_ ctc.Sink    = (*Sink)(nil)
	_ ctc.Flusher = (*Sink)(nil)
	_ ctc.Closer  = (*Sink)(nil)
)

// fault is a pending injected failure: the next n calls fail with err (every call while n < 0).
type fault struct {
	n   int
	err error
}

// take reports the injected error for this call, if any, and consumes it.
func (f *fault) take() error {
	switch {
	case f.n == 0:
		return nil
	case f.n > 0:
		f.n--
	}
	if f.err == nil {
		return ErrInjected
	}
	return f.err
}

// New returns an empty sink.
func New() *Sink { return &Sink{} }

// Contents is everything a sink has stored, in the order written. A memory sink stores a batch as
// soon as Write returns nil, so Contents includes records that were never flushed.
type Contents struct {
	Trades      []ctc.Trade
	Output      ctc.Output
	DeadLetters []ctc.DeadLetter
	// Batches counts successful Write calls, empty batches included; Flushes counts successful
	// Flush calls. Both are zero in Contents read back from files (jsonl.Read).
	Batches int
	Flushes int
	// Position is the position of the last batch stored: where a consumer would resume.
	Position ctc.Position
}

// Batch returns the stored records as one batch, the form ctctest.TestSink's read function returns.
// The batch shares c's slices.
func (c *Contents) Batch() *ctc.Batch {
	return &ctc.Batch{Trades: c.Trades, Output: c.Output, DeadLetters: c.DeadLetters, Position: c.Position}
}

// Write stores a deep copy of b: the pipeline reuses the batch, dead-letter bytes included, as soon
// as Write returns.
//
// An error stores nothing. Write returns ctx.Err() if ctx is already done, ErrClosed after Close,
// and otherwise an error injected with FailWrites; the checks run in that order, so a call refused
// for its context or after Close does not use up an injected failure.
func (s *Sink) Write(ctx context.Context, b *ctc.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.writes.take(); err != nil {
		return err
	}
	c := &s.c
	c.Trades = append(c.Trades, b.Trades...)
	c.Output.Append(&b.Output)
	c.DeadLetters = appendDeadLetters(c.DeadLetters, b.DeadLetters)
	c.Batches++
	c.Position = b.Position
	return nil
}

// appendDeadLetters appends copies of src whose Data no longer aliases the caller's buffers.
func appendDeadLetters(dst, src []ctc.DeadLetter) []ctc.DeadLetter {
	n := len(dst)
	dst = append(dst, src...)
	for i := n; i < len(dst); i++ {
		dst[i].Data = bytes.Clone(dst[i].Data)
	}
	return dst
}

// Flush counts the call; the data is already stored. It returns ctx.Err() if ctx is done, ErrClosed
// after Close, and otherwise an error injected with FailFlushes.
func (s *Sink) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.flush.take(); err != nil {
		return err
	}
	s.c.Flushes++
	return nil
}

// Close makes later Write and Flush calls fail with ErrClosed. What was stored stays readable with
// Contents. Closing twice is not an error, so that a deferred Close may follow an explicit one.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Contents returns a deep copy of everything stored so far: the caller may keep or modify it.
func (s *Sink) Contents() Contents {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.c
	c.Trades = slices.Clone(c.Trades)
	c.Output = ctc.Output{
		Alerts:  slices.Clone(c.Output.Alerts),
		Volumes: slices.Clone(c.Output.Volumes),
		Spreads: slices.Clone(c.Output.Spreads),
		Whales:  slices.Clone(c.Output.Whales),
		Late:    slices.Clone(c.Output.Late),
	}
	c.DeadLetters = appendDeadLetters(nil, c.DeadLetters)
	return c
}

// FailWrites makes the next n Write calls fail with err (ErrInjected if err is nil) and store
// nothing; n < 0 makes every call fail until the next FailWrites, and FailWrites(0, nil) clears a
// pending failure. A retry test
// injects a failure, runs the pipeline, and checks that the retried batch arrives once.
func (s *Sink) FailWrites(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = fault{n, err}
}

// FailFlushes makes the next n Flush calls fail with err, with the meaning of n as in FailWrites. A
// flush that fails is not counted in Contents.Flushes.
func (s *Sink) FailFlushes(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flush = fault{n, err}
}
