package feed

import (
	"context"
	"errors"
	"sync"

	"github.com/coattailcapital/ctc"
)

// Merge reads several sources at once and hands their records over in the order they arrive: how
// the live consumer watches Binance and Coinbase together. Each source is read on a goroutine of
// its own, owned by the Merge and ended by Close. The merged source ends (ctc.ErrEndOfInput) when
// every source has ended; any other error from a source ends it with that error.
type Merge struct {
	srcs   []ctc.Source
	full   chan *ctc.Record
	free   chan *ctc.Record
	errc   chan error
	cancel context.CancelFunc
	wg     sync.WaitGroup
	live   int
	once   sync.Once
	err    error
}

var (
	_ ctc.Source = (*Merge)(nil)
	_ ctc.Closer = (*Merge)(nil)
)

// NewMerge starts reading srcs. Records keep their sources' positions, so partitions should
// differ between sources.
func NewMerge(srcs ...ctc.Source) *Merge {
	ctx, cancel := context.WithCancel(context.Background())
	const depth = 64
	m := &Merge{srcs: srcs, full: make(chan *ctc.Record, depth), free: make(chan *ctc.Record, depth+len(srcs)),
		errc: make(chan error, len(srcs)), cancel: cancel, live: len(srcs)}
	for range depth + len(srcs) {
		m.free <- new(ctc.Record)
	}
	for _, s := range srcs {
		m.wg.Go(func() { m.read(ctx, s) })
	}
	return m
}

func (m *Merge) read(ctx context.Context, s ctc.Source) {
	for {
		var r *ctc.Record
		select {
		case r = <-m.free:
		case <-ctx.Done():
			return
		}
		r.Reset()
		if err := s.Next(ctx, r); err != nil {
			m.free <- r
			if ctx.Err() == nil {
				m.errc <- err
			}
			return
		}
		select {
		case m.full <- r:
		case <-ctx.Done():
			return
		}
	}
}

// Next hands over the next record from whichever source has one.
func (m *Merge) Next(ctx context.Context, rec *ctc.Record) error {
	for {
		if m.err != nil {
			return m.err
		}
		if m.live == 0 {
			// Every reader has ended: hand over what they left, then end.
			select {
			case r := <-m.full:
				m.deliver(r, rec)
				return nil
			default:
				m.err = ctc.ErrEndOfInput
				continue
			}
		}
		select {
		case r := <-m.full:
			m.deliver(r, rec)
			return nil
		case err := <-m.errc:
			if errors.Is(err, ctc.ErrEndOfInput) {
				m.live--
			} else {
				m.err = err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// deliver copies r into the caller's record, reusing its Data storage, and recycles r.
func (m *Merge) deliver(r, rec *ctc.Record) {
	data := append(rec.Data[:0], r.Data...)
	*rec = *r
	rec.Data = data
	m.free <- r
}

// Close stops the readers and closes every source that is a ctc.Closer.
func (m *Merge) Close(ctx context.Context) error {
	var errs []error
	m.once.Do(func() {
		m.cancel()
		m.wg.Wait()
		for _, s := range m.srcs {
			if c, ok := s.(ctc.Closer); ok {
				errs = append(errs, c.Close(ctx))
			}
		}
	})
	return errors.Join(errs...)
}
