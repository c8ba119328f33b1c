package jsonl_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/jsonl"
)

func Example() {
	dir, err := os.MkdirTemp("", "ctc-jsonl")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := jsonl.New(dir)
	if err != nil {
		log.Fatal(err)
	}
	start := time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)
	detected := start.Add(time.Minute)
	b := &ctc.Batch{
		Output: ctc.Output{Alerts: []ctc.Alert{{
			AlertID:   ctc.NewAlertID(ctc.VolumeSpike, ctc.Binance, "BTC-USDT", ctc.WindowKey(start)),
			AlertType: ctc.VolumeSpike, Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.High,
			ZScore: 3.92, ThresholdValue: 2.5, ActualValue: 4821337.5, WindowStart: start, DetectedAt: detected,
			Message: "volume 3.9σ above the 1 h mean", TTLEpoch: detected.Add(ctc.AlertTTL).Unix(), EmittedAt: detected,
		}}},
		DeadLetters: []ctc.DeadLetter{{
			Reason: ctc.Malformed, Detail: "unexpected end of JSON input", Data: []byte(`{"price":`),
			Position: ctc.Position{Partition: "trades.ndjson", Offset: 41},
		}},
	}
	if err := s.Write(ctx, b); err != nil {
		log.Fatal(err)
	}
	// Close flushes; a long-running pipeline calls Flush at each checkpoint instead.
	if err := s.Close(ctx); err != nil {
		log.Fatal(err)
	}

	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		fmt.Printf("%s: %s", e.Name(), data)
		if len(data) == 0 {
			fmt.Println("(empty)")
		}
	}

	c, err := jsonl.Read(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("read back:", len(c.Output.Alerts), "alert,", len(c.DeadLetters), "dead letter")
	// Output:
	// alerts.ndjson: {"alert_id":"e72619ba-85e9-5b2a-a37f-5517b7afc264","alert_type":"volume_spike","symbol":"BTC-USDT","exchange":"binance","severity":"high","z_score":3.92,"threshold_value":2.5,"actual_value":4821337.5,"window_start":"2024-03-12T14:00:00.000Z","detected_at":"2024-03-12T14:01:00.000Z","message":"volume 3.9σ above the 1 h mean","ttl_epoch":1710338460,"emitted_at":"2024-03-12T14:01:00.000Z"}
	// dlq.ndjson: {"reason":"malformed","detail":"unexpected end of JSON input","partition":"trades.ndjson","offset":41,"data":"{\"price\":"}
	// exchange_spreads.ndjson: (empty)
	// late.ndjson: (empty)
	// volume_aggregates.ndjson: (empty)
	// whale_trades.ndjson: (empty)
	// read back: 1 alert, 1 dead letter
}
