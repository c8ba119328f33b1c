package feed

import (
	"context"

	"github.com/coattailcapital/ctc"
)

// Limit returns a source that hands over at most n records of src, then ends (ctc.ErrEndOfInput):
// a bounded run of a live source or simulator, such as the producer's -max-trades. Close closes
// src when it is a ctc.Closer.
func Limit(src ctc.Source, n int64) *Limited { return &Limited{src: src, left: n} }

// Limited is the source Limit returns.
type Limited struct {
	src    ctc.Source
	left   int64
	closed bool
}

var (
	_ ctc.Source = (*Limited)(nil)
	_ ctc.Closer = (*Limited)(nil)
)

// Next hands over src's next record while the limit lasts.
func (l *Limited) Next(ctx context.Context, rec *ctc.Record) error {
	if l.closed {
		return ErrClosed
	}
	if l.left <= 0 {
		return ctc.ErrEndOfInput
	}
	if err := l.src.Next(ctx, rec); err != nil {
		return err
	}
	l.left--
	return nil
}

// Close closes src when it is a ctc.Closer; Next then returns ErrClosed. It must not be called
// concurrently with Next.
func (l *Limited) Close(ctx context.Context) error {
	if l.closed {
		return nil
	}
	l.closed = true
	if c, ok := l.src.(ctc.Closer); ok {
		return c.Close(ctx)
	}
	return nil
}
