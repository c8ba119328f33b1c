package feed

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/coattailcapital/ctc"
)

// Merge reads several sources at once and hands their records over in the order they arrive: how
// the live consumer watches Binance and Coinbase together. Each source is read on a goroutine of
// its own, owned by the Merge and ended by Close. The merged source ends (ctc.ErrEndOfInput) when
// every source has ended; any other error from a source ends it with that error.
type Merge struct {
	srcs   []ctc.Source
	full   chan *slot
	free   chan *slot
	errc   chan error
	cancel context.CancelFunc
	wg     sync.WaitGroup
	live   int
	once   sync.Once
	closed chan struct{}
	err    error
}

// ErrClosed (which wraps ctc.ErrClosed) is returned by the Next of a Merge or Limited after Close.
var ErrClosed = fmt.Errorf("feed: source closed: %w", ctc.ErrClosed)

// slot is one record in flight between a reader and Next, with bytes of its own: a source's
// record data is valid only until that source's next Next, which its reader calls while the
// record still waits in the queue.
type slot struct {
	rec ctc.Record
	buf []byte
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
	m := &Merge{srcs: srcs, full: make(chan *slot, depth), free: make(chan *slot, depth+len(srcs)),
		errc: make(chan error, len(srcs)), cancel: cancel, live: len(srcs), closed: make(chan struct{})}
	for range depth + len(srcs) {
		m.free <- new(slot)
	}
	for _, s := range srcs {
		m.wg.Go(func() { m.read(ctx, s) })
	}
	return m
}

func (m *Merge) read(ctx context.Context, s ctc.Source) {
	for {
		var sl *slot
		select {
		case sl = <-m.free:
		case <-ctx.Done():
			return
		}
		sl.rec = ctc.Record{Data: sl.buf[:0]}
		if err := s.Next(ctx, &sl.rec); err != nil {
			m.free <- sl
			if ctx.Err() == nil {
				m.errc <- err
			}
			return
		}
		sl.buf = append(sl.buf[:0], sl.rec.Data...)
		sl.rec.Data = sl.buf
		select {
		case m.full <- sl:
		case <-ctx.Done():
			return
		}
	}
}

// Next hands over the next record from whichever source has one; ErrClosed after Close, even
// when records were still queued.
func (m *Merge) Next(ctx context.Context, rec *ctc.Record) error {
	for {
		select {
		case <-m.closed:
			return ErrClosed
		default:
		}
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
		case <-m.closed:
			return ErrClosed
		}
	}
}

// deliver copies the slot's record into the caller's, reusing its Data storage, and recycles
// the slot.
func (m *Merge) deliver(sl *slot, rec *ctc.Record) {
	data := append(rec.Data[:0], sl.rec.Data...)
	*rec = sl.rec
	rec.Data = data
	m.free <- sl
}

// Close stops the readers and closes every source that is a ctc.Closer.
func (m *Merge) Close(ctx context.Context) error {
	var errs []error
	m.once.Do(func() {
		close(m.closed)
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
