package feed_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/feed"
	"github.com/coattailcapital/ctc/source/replay"
)

func trades(ex, sym string, n int) []ctc.Trade {
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	out := make([]ctc.Trade, n)
	for i := range out {
		out[i] = ctc.Trade{EventID: ctc.NewEventIDInt(ex, sym, int64(i)), Exchange: ex, Symbol: sym, Price: 1,
			Quantity: 1, QuoteVolume: 1, Side: ctc.Buy, Timestamp: at.Add(time.Duration(i) * time.Millisecond)}
	}
	return out
}

func TestMergeDeliversEveryRecordOfEverySourceInItsOrder(t *testing.T) {
	before := runtime.NumGoroutine()
	a := replay.Trades(trades("binance", "BTC-USDT", 500), replay.WithPartition("a"))
	b := replay.Trades(trades("coinbase", "BTC-USD", 300), replay.WithPartition("b"))
	m := feed.NewMerge(a, b)
	var got []ctc.Record
	var rec ctc.Record
	for {
		rec.Reset()
		err := m.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, rec)
	}
	if len(got) != 800 {
		t.Fatalf("got %d records, want 800", len(got))
	}
	last := map[string]int64{}
	for _, r := range got {
		if r.Position.Offset != last[r.Position.Partition]+1 {
			t.Fatalf("%s: offset %d after %d: a source's order was not kept", r.Position.Partition, r.Position.Offset, last[r.Position.Partition])
		}
		last[r.Position.Partition] = r.Position.Offset
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitGoroutines(t, before)
}

// blocking is a live source that never ends on its own.
type blocking struct{}

func (blocking) Next(ctx context.Context, _ *ctc.Record) error { <-ctx.Done(); return ctx.Err() }

type failing struct{ err error }

func (f failing) Next(context.Context, *ctc.Record) error { return f.err }

func TestMergeStopsOnASourceError(t *testing.T) {
	boom := errors.New("handshake refused")
	m := feed.NewMerge(blocking{}, failing{boom})
	defer m.Close(context.Background())
	var rec ctc.Record
	if err := m.Next(context.Background(), &rec); !errors.Is(err, boom) {
		t.Fatalf("want the source's error, got %v", err)
	}
}

func TestMergeCloseEndsLiveSources(t *testing.T) {
	before := runtime.NumGoroutine()
	m := feed.NewMerge(blocking{}, blocking{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var rec ctc.Record
	if err := m.Next(ctx, &rec); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the caller's deadline, got %v", err)
	}
	m.Close(context.Background())
	waitGoroutines(t, before)
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reusing is a source whose record data points into one buffer it overwrites at every Next, as
// the exchange sources' does: valid only until the next call.
type reusing struct {
	buf  []byte
	n, i int
	tag  byte
}

func (s *reusing) Next(ctx context.Context, rec *ctc.Record) error {
	if s.i == s.n {
		return ctc.ErrEndOfInput
	}
	s.i++
	s.buf = append(s.buf[:0], s.tag, byte(s.i))
	rec.Data = s.buf
	rec.Position = ctc.Position{Partition: string(s.tag), Offset: int64(s.i)}
	return nil
}

// Records wait in the merge's queue while their source is read again; each keeps its own bytes.
func TestMergeRecordsKeepTheirBytes(t *testing.T) {
	m := feed.NewMerge(&reusing{n: 200, tag: 'a'}, &reusing{n: 200, tag: 'b'})
	defer m.Close(context.Background())
	time.Sleep(10 * time.Millisecond) // let the readers fill the queue
	var rec ctc.Record
	for got := 0; ; got++ {
		err := m.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			if got != 400 {
				t.Fatalf("got %d records, want 400", got)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		want := []byte{rec.Position.Partition[0], byte(rec.Position.Offset)}
		if string(rec.Data) != string(want) {
			t.Fatalf("record %v has data %q, want %q", rec.Position, rec.Data, want)
		}
	}
}
