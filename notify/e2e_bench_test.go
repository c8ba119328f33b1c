package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/notify/notifytest"
	"github.com/coattailcapital/ctc/quality"
)

// chanSource is a live source: Next blocks until a trade is sent, as a WebSocket's does.
type chanSource struct{ c chan ctc.Trade }

func (s *chanSource) Next(ctx context.Context, rec *ctc.Record) error {
	select {
	case t := <-s.c:
		*rec = ctc.Record{Trade: t, Decoded: true, Position: ctc.Position{Partition: "live", Offset: t.Timestamp.UnixNano()}}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// BenchmarkTradeToWebhook measures what the issue asks: from a trade's arrival (the source handing
// it to the pipeline) to the webhook request for its alert arriving at a signature-verifying
// loopback receiver. A live pipeline (processing-time clock, the default batch size and flush
// interval, the standard quality chain, the default detectors) reads ~1,000 trades/s of ordinary
// flow on two symbols; each iteration sends one whale trade on a symbol of its own (so that every
// whale opens an incident of its own, the notifier's default grouping on) and waits for its
// request. Reported: p50, p99 and max in ms.
func BenchmarkTradeToWebhook(b *testing.B) {
	wh := notifytest.NewWebhook(b, hmacKey)
	arrived := make(chan time.Time, 16)
	wh.OnRequest(func(r notifytest.Request) { arrived <- r.At })
	n, _ := setup{dests: []string{webhookDest("hook", wh)}, secrets: map[string]string{"hmac": hmacKey},
		delivery: `{"log_path": "delivered.ndjson"}`, incidents: `{}`}.open(b)
	chain, err := quality.New(quality.Config{})
	if err != nil {
		b.Fatal(err)
	}
	src := &chanSource{c: make(chan ctc.Trade)}
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...),
		ctc.WithSinks(n), ctc.WithClock(time.Now), ctc.WithIdleTimeout(5*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	seq := 0
	trade := func(sym string, qty float64) ctc.Trade {
		seq++
		return ctc.Trade{EventID: uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(seq), byte(seq >> 8), byte(seq >> 16), byte(seq >> 24)}),
			Exchange: ctc.Binance, Symbol: sym, Price: 100, Quantity: qty, QuoteVolume: 100 * qty, Side: ctc.Buy, Timestamp: time.Now().UTC()}
	}
	// Ordinary flow: a trade every millisecond, alternating two symbols, while the benchmark runs.
	flowDone := make(chan struct{})
	flowCtx, stopFlow := context.WithCancel(ctx)
	go func() {
		defer close(flowDone)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-flowCtx.Done():
				return
			case <-tick.C:
			}
			select {
			case src.c <- trade([]string{"BTC-USDT", "ETH-USDT"}[i%2], 0.5):
			case <-flowCtx.Done():
				return
			}
		}
	}()
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		sym := "W" + string(rune('A'+i%26)) + string(rune('A'+i/26%26)) + string(rune('A'+i/676%26)) + "-USDT"
		w := trade(sym, 2_000) // $200k: a medium whale
		start := time.Now()
		src.c <- w
		select {
		case at := <-arrived:
			lat = append(lat, at.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatalf("no webhook request 10 s after whale %d", i)
		}
	}
	b.StopTimer()
	stopFlow()
	<-flowDone
	cancel()
	<-done
	reportLatency(b, lat)
}
