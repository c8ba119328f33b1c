package ctctest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/coattailcapital/ctc"
)

// fakeSource replays a few records of every kind — decoded trades, raw unified JSON, bytes that
// could not be decoded — through one buffer it overwrites at every Next, as the file and exchange
// sources do. It is a ctc.Closer, a ctc.BulkSource and a ctc.Seeker, and, with live set, a feed that
// goes quiet after its records. Each mode is one deliberate defect, to show that the subtest of
// TestSource meant to catch it does.
type fakeSource struct {
	mode   string
	live   bool
	recs   []ctc.Record
	next   int
	skip   int64
	buf    []byte
	ended  bool
	mu     sync.Mutex
	closed bool
	quit   chan struct{}
}

var errFakeClosed = fmt.Errorf("fake: Next after Close: %w", ctc.ErrClosed)

func newFakeSource(mode string, live bool) *fakeSource {
	at := time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)
	s := &fakeSource{mode: mode, live: live, quit: make(chan struct{})}
	for i := range 12 {
		tr := ctc.Trade{Exchange: ctc.Binance, Symbol: "BTC-USDT", Price: 67_000 + float64(i), Quantity: 0.25, QuoteVolume: 16_750 + 0.25*float64(i),
			Side: ctc.Buy, Timestamp: at.Add(time.Duration(i) * time.Second), IngestionTimestamp: at.Add(time.Duration(i)*time.Second + time.Millisecond)}
		tr.EventID = ctc.NewEventIDInt(tr.Exchange, tr.Symbol, int64(i))
		rec := ctc.Record{Position: ctc.Position{Partition: "fake", Offset: int64(2*i + 1)}}
		switch i % 3 {
		case 0:
			rec.Decoded, rec.Trade = true, tr
		case 1:
			rec.Data = tr.AppendJSON(nil)
		case 2:
			rec.Data, rec.Err = []byte(`{"price":`), errors.New("unexpected end of JSON input")
		}
		if mode == "positions-repeat" && i == 5 {
			rec.Position.Offset = s.recs[i-1].Position.Offset
		}
		s.recs = append(s.recs, rec)
	}
	switch mode {
	case "empty-record":
		s.recs[4] = ctc.Record{Position: s.recs[4].Position}
	case "decoded-and-err":
		s.recs[2].Decoded, s.recs[2].Trade = true, s.recs[0].Trade
	case "sets-verdict":
		s.recs[1].Checked, s.recs[1].Verdict = true, ctc.Verdict{Status: ctc.Pass}
	}
	return s
}

func (s *fakeSource) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *fakeSource) Next(ctx context.Context, rec *ctc.Record) error {
	if s.isClosed() {
		if s.mode == "closed-ends-input" {
			return ctc.ErrEndOfInput
		}
		return errFakeClosed
	}
	if err := ctx.Err(); err != nil {
		switch s.mode {
		case "cancel-consumes":
			s.next = min(s.next+1, len(s.recs))
		case "cancel-wrong-error":
			return errors.New("fake: cancelled")
		}
		return err
	}
	for s.next < len(s.recs) && s.recs[s.next].Position.Offset <= s.skip {
		s.next++
	}
	if s.next == len(s.recs) {
		if s.live {
			return s.wait(ctx)
		}
		if s.ended && s.mode == "end-not-sticky" {
			s.next, s.ended = 0, false
			return s.Next(ctx, rec)
		}
		s.ended = true
		return ctc.ErrEndOfInput
	}
	r := s.recs[s.next]
	s.next++
	// The bytes live in the source's buffer until the next call, as a file reader's do.
	s.buf = append(s.buf[:0], r.Data...)
	if r.Data != nil {
		r.Data = s.buf
	}
	switch s.mode {
	case "unsafe-strings":
		if r.Decoded {
			// The symbol viewed in the buffer the next call overwrites: the mistake an
			// allocation-free decoder makes.
			s.buf = append(s.buf[:0], r.Trade.Symbol...)
			r.Trade.Symbol = unsafe.String(unsafe.SliceData(s.buf), len(s.buf))
		}
	case "keeps-fields":
		// Fills what this record has and leaves the rest as the caller's record had it.
		if r.Decoded {
			rec.Decoded, rec.Trade = true, r.Trade
		} else {
			rec.Data, rec.Err = r.Data, r.Err
		}
		rec.Position = r.Position
		return nil
	case "appends-data":
		r.Data = append(rec.Data, r.Data...)
	}
	*rec = r
	return nil
}

// wait is a quiet feed: nothing comes until the context ends or the source is closed.
func (s *fakeSource) wait(ctx context.Context) error {
	switch s.mode {
	case "live-returns-early":
		return errors.New("fake: nothing to read")
	case "live-ignores-context":
		select {
		case <-time.After(3 * time.Second):
			return ctx.Err()
		case <-s.quit:
			return errFakeClosed
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.quit:
		return errFakeClosed
	}
}

func (s *fakeSource) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		if s.mode == "close-twice-fails" {
			return errors.New("fake: already closed")
		}
		return nil
	}
	s.closed = true
	close(s.quit)
	return nil
}

func (s *fakeSource) Bulk() bool { return !s.live }

func (s *fakeSource) Seek(ctx context.Context, after ctc.Position) error {
	s.skip = after.Offset
	if s.mode == "seek-inclusive" && after.Offset > 0 {
		s.skip-- // hands the checkpoint's own record over again
	}
	return nil
}

var (
	_ ctc.Closer     = (*fakeSource)(nil)
	_ ctc.BulkSource = (*fakeSource)(nil)
	_ ctc.Seeker     = (*fakeSource)(nil)
)

func fakeFeatures(live bool, known map[string]string) SourceFeatures {
	f := SourceFeatures{Records: 12, KnownFailures: known}
	if live {
		f.Live = true
	}
	return f
}

func TestSourcePassesCorrectSources(t *testing.T) {
	t.Parallel()
	for _, live := range []bool{false, true} {
		t.Run(fmt.Sprint("live=", live), func(t *testing.T) {
			t.Parallel()
			TestSource(t, fakeFeatures(live, nil), func(t *testing.T) ctc.Source { return newFakeSource("", live) })
		})
	}
}

// TestSourceCatchesBrokenSources runs TestSource on sources with one defect each, declaring the
// subtests the defect must fail as KnownFailures: TestSource then fails if one of them passes, or
// if any other subtest fails.
func TestSourceCatchesBrokenSources(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mode     string
		live     bool
		subtests []string
	}{
		{"empty-record", false, []string{"Records"}},
		{"decoded-and-err", false, []string{"Records"}},
		{"sets-verdict", false, []string{"Records"}},
		{"unsafe-strings", false, []string{"Records", "Bulk"}},
		{"keeps-fields", false, []string{"ReusedRecord"}},
		{"appends-data", false, []string{"ReusedRecord"}},
		{"end-not-sticky", false, []string{"End"}},
		{"cancel-consumes", false, []string{"CancelledContext"}},
		{"cancel-wrong-error", false, []string{"CancelledContext"}},
		{"closed-ends-input", false, []string{"Close"}},
		{"close-twice-fails", false, []string{"Close"}},
		{"positions-repeat", false, []string{"Positions"}},
		{"seek-inclusive", false, []string{"Seek"}},
		{"live-returns-early", true, []string{"End", "CancelledContext"}},
		{"live-ignores-context", true, []string{"End", "CancelledContext"}},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			known := map[string]string{}
			for _, st := range c.subtests {
				known[st] = "defect " + c.mode
			}
			TestSource(t, fakeFeatures(c.live, known), func(t *testing.T) ctc.Source { return newFakeSource(c.mode, c.live) })
		})
	}
}

// A known failure that passes is reported, so that the entry goes once the source is fixed; one
// that fails is logged.
func TestSourceKnownFailures(t *testing.T) {
	t.Parallel()
	out := &recorder{}
	settleKnown(out, "Close", "Next after Close returns ErrEndOfInput", &recorder{})
	settleKnown(out, "Seek", "off by one", &recorder{skipped: "not a ctc.Seeker"})
	settleKnown(out, "End", "not sticky", &recorder{failures: []string{"Next 1 after the end returned nil"}})
	if len(out.failures) != 2 || !strings.Contains(out.failures[0], "Close is listed in KnownFailures") ||
		!strings.Contains(out.failures[0], "passes: remove the entry") || !strings.Contains(out.failures[1], "skipped: not a ctc.Seeker") {
		t.Errorf("settleKnown reported %q", out.failures)
	}
}
