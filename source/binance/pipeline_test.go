package binance_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
)

type collect struct {
	mu     sync.Mutex
	trades []ctc.Trade
	dead   []ctc.DeadLetter
	full   chan struct{}
	closed bool
	want   int
}

func (c *collect) Write(_ context.Context, b *ctc.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trades = append(c.trades, b.Trades...)
	for _, d := range b.DeadLetters {
		d.Data = append([]byte(nil), d.Data...)
		c.dead = append(c.dead, d)
	}
	if len(c.trades)+len(c.dead) >= c.want && !c.closed {
		close(c.full)
		c.closed = true
	}
	return nil
}

// TestPipelineDeadLettersMalformedFrames runs the source inside the real pipeline: trades pass
// quality, a repaired gap arrives in order, and a malformed frame is dead-lettered without
// stopping the run.
func TestPipelineDeadLettersMalformedFrames(t *testing.T) {
	srv := binancetest.New(t)
	src, err := binance.New(binance.Config{Symbols: []string{"BTCUSDT"}, StreamURL: srv.WSURL, RESTURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collect{full: make(chan struct{}), want: 6}
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithSinks(sink), ctc.WithBatchSize(1))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(context.Background()) }()
	if !srv.WaitConnects(1, "btcusdt@aggTrade", 5*time.Second) {
		t.Fatal("not subscribed")
	}
	srv.Publish("BTCUSDT", 2)
	srv.SendRaw([]byte(`{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","s":"BTCUSDT","a":"x"}}`))
	srv.Skip("BTCUSDT", 2)
	srv.Publish("BTCUSDT", 1)
	select {
	case <-sink.full:
	case <-time.After(5 * time.Second):
		sink.mu.Lock()
		defer sink.mu.Unlock()
		t.Fatalf("sink got %d trades, %d dead letters", len(sink.trades), len(sink.dead))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := src.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.trades) != 5 || len(sink.dead) != 1 || sink.dead[0].Reason != ctc.Malformed {
		t.Fatalf("%d trades, dead letters %+v", len(sink.trades), sink.dead)
	}
	for i := 1; i < len(sink.trades); i++ {
		if sink.trades[i].Timestamp.Before(sink.trades[i-1].Timestamp) {
			t.Fatalf("trades out of order at %d", i)
		}
	}
}
