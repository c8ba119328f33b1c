package memory_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/memory"
)

func Example() {
	ctx := context.Background()
	s := memory.New()

	detected := time.Date(2024, 3, 12, 14, 1, 0, 0, time.UTC)
	b := &ctc.Batch{
		Output: ctc.Output{Alerts: []ctc.Alert{{
			AlertType: ctc.VolumeSpike, Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.High,
			ZScore: 3.9, DetectedAt: detected, Message: "volume 3.9σ above the 1 h mean",
		}}},
		DeadLetters: []ctc.DeadLetter{{Reason: ctc.Malformed, Detail: "unexpected end of JSON input", Data: []byte(`{"price":`)}},
		Position:    ctc.Position{Partition: "shardId-000000000000", Offset: 41},
	}
	if err := s.Write(ctx, b); err != nil {
		fmt.Println(err)
	}
	b.Reset() // the pipeline reuses its batch; the sink kept a copy

	// The next write fails as a throttled destination would, and stores nothing.
	s.FailWrites(1, errors.New("throttled"))
	fmt.Println("write:", s.Write(ctx, b))
	_ = s.Flush(ctx)

	c := s.Contents()
	for _, a := range c.Output.Alerts {
		fmt.Printf("alert: %s %s %s z=%.1f at %s: %s\n", a.Severity, a.AlertType, a.Symbol, a.ZScore,
			a.DetectedAt.Format(time.RFC3339), a.Message)
	}
	for _, d := range c.DeadLetters {
		fmt.Printf("dead letter: %s (%s) %q\n", d.Reason, d.Detail, d.Data)
	}
	fmt.Printf("batches=%d flushes=%d resume after %s\n", c.Batches, c.Flushes, c.Position)
	// Output:
	// write: throttled
	// alert: high volume_spike BTC-USDT z=3.9 at 2024-03-12T14:01:00Z: volume 3.9σ above the 1 h mean
	// dead letter: malformed (unexpected end of JSON input) "{\"price\":"
	// batches=1 flushes=1 resume after shardId-000000000000:41
}
