package ctctest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
)

func tableTrade(i int) ctc.Trade {
	return ctc.Trade{EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(i)), Exchange: ctc.Binance, Symbol: "BTC-USDT",
		Price: 50000, Quantity: 1, QuoteVolume: 50000, Side: ctc.Buy, Timestamp: time.Unix(int64(i), 0).UTC()}
}

func TestTable(t *testing.T) {
	ctx := context.Background()
	tab := ctctest.NewTable()
	s := tab.Sink()
	write := func(s *ctctest.TableSink, i int) {
		t.Helper()
		if err := s.Write(ctx, &ctc.Batch{Trades: []ctc.Trade{tableTrade(i)}, Output: ctc.Output{Late: []ctc.LateTrade{{Detector: "volume", Trade: tableTrade(-i)}}}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(pipeline string) int { return len(tab.Committed(pipeline).Trades) }

	write(s, 1)
	if n := count("p"); n != 0 {
		t.Fatalf("before Commit: %d trades visible", n)
	}
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if c := tab.Committed("p"); len(c.Trades) != 1 || c.Output.Late != nil || tab.LastCommitted("p") != 1 {
		t.Fatalf("after Commit: %+v, last %d", c, tab.LastCommitted("p"))
	}

	// Another process commits checkpoint 1 again (a crash between state save and commit): skipped.
	s2 := tab.Sink()
	write(s2, 1)
	if err := s2.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 1}); err != nil || count("p") != 1 {
		t.Fatalf("a checkpoint committed again: err %v, %d trades", err, count("p"))
	}

	// A crash loses what was written and not committed.
	write(s, 2)
	s.Crash()
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 2}); err != nil || count("p") != 1 {
		t.Fatalf("after a crash: err %v, %d trades", err, count("p"))
	}

	// The second Commit from now fails, losing its buffer; the one after works again.
	errBoom := errors.New("boom")
	tab.FailCommit(2, errBoom)
	write(s, 3)
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 3}); err != nil {
		t.Fatal(err)
	}
	write(s, 4)
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 4}); !errors.Is(err, errBoom) {
		t.Fatalf("the failing Commit: %v", err)
	}
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 4}); err != nil || count("p") != 2 {
		t.Fatalf("after the failure: err %v, %d trades (want trade 3 only)", err, count("p"))
	}
	tab.FailCommit(1, nil)
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "q", Seq: 1}); !errors.Is(err, ctctest.ErrCommitFailed) {
		t.Fatalf("FailCommit with a nil error: %v", err)
	}

	// Pipelines keep apart, and Committed returns a copy.
	write(s, 5)
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "q", Seq: 1}); err != nil || count("q") != 1 || count("p") != 2 {
		t.Fatalf("pipelines: err %v, p %d, q %d", err, count("p"), count("q"))
	}
	c := tab.Committed("p")
	c.Trades[0].Price = -1
	if tab.Committed("p").Trades[0].Price != 50000 {
		t.Fatal("Committed returned the table's own slice")
	}

	// Sinks of many processes commit concurrently.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := tab.Sink()
			for i := range 50 {
				_ = s.Write(ctx, &ctc.Batch{Trades: []ctc.Trade{tableTrade(1000 + w*100 + i)}})
				_ = s.Commit(ctx, ctc.Checkpoint{PipelineID: fmt.Sprint("w", w), Seq: int64(i + 1)})
			}
		}()
	}
	wg.Wait()
	for w := range 8 {
		if n := count(fmt.Sprint("w", w)); n != 50 {
			t.Errorf("pipeline w%d: %d trades, want 50", w, n)
		}
	}
}

func TestPositionless(t *testing.T) {
	c := ctctest.Committed{DeadLetters: []ctc.DeadLetter{{Reason: "x", Position: ctc.Position{Offset: 7}}}}
	p := ctctest.Positionless(c)
	if p.DeadLetters[0].Position != (ctc.Position{}) || c.DeadLetters[0].Position.Offset != 7 {
		t.Fatalf("Positionless: %+v, original %+v", p.DeadLetters, c.DeadLetters)
	}
}
