package ctc_test

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/detect"
)

// genTime draws a time in UTC to the nanosecond, or the zero time.
func genTime(t *rapid.T, label string) time.Time {
	if rapid.IntRange(0, 9).Draw(t, label+"Zero") == 0 {
		return time.Time{}
	}
	return time.Unix(rapid.Int64Range(-62135596800, 253402300799).Draw(t, label+"Sec"), rapid.Int64Range(0, 1e9-1).Draw(t, label+"Ns")).UTC()
}

func genFloat(t *rapid.T, label string) float64 {
	return math.Float64frombits(rapid.Uint64().Draw(t, label))
}

// TestBatchBinaryRoundTrip: the binary form a checkpoint saves its pending output in gives back
// the batch exactly — floats to the bit (NaN payloads included), times to the nanosecond,
// arbitrary strings and bytes — whatever detectors produced.
func TestBatchBinaryRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		var b ctc.Batch
		trades := ctctest.Trades(ctctest.TradeGen{MaxTrades: 60}).Draw(t, "trades")
		b.Trades = trades
		b.Output = ctctest.Run(detect.NewWhale(detect.WhaleConfig{}), trades)
		for range rapid.IntRange(0, 4).Draw(t, "alerts") {
			b.Output.Alerts = append(b.Output.Alerts, ctc.Alert{
				AlertID: uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id")), AlertType: ctc.AlertType(rapid.String().Draw(t, "type")),
				Symbol: rapid.String().Draw(t, "sym"), Exchange: rapid.String().Draw(t, "ex"), Severity: ctc.Severity(rapid.Byte().Draw(t, "sev")),
				ZScore: genFloat(t, "z"), ThresholdValue: genFloat(t, "th"), ActualValue: genFloat(t, "act"),
				WindowStart: genTime(t, "ws"), DetectedAt: genTime(t, "det"), Message: rapid.String().Draw(t, "msg"),
				TTLEpoch: rapid.Int64().Draw(t, "ttl"), EmittedAt: genTime(t, "em"),
			})
		}
		for range rapid.IntRange(0, 3).Draw(t, "volumes") {
			b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{Symbol: "S", Exchange: "E", WindowStart: genTime(t, "vs"),
				WindowEnd: genTime(t, "ve"), TradeCount: rapid.Int64().Draw(t, "n"), TotalVolume: genFloat(t, "tv"), AvgPrice: genFloat(t, "ap"),
				MaxPrice: genFloat(t, "mx"), MinPrice: genFloat(t, "mn"), BuyVolume: genFloat(t, "bv"), SellVolume: genFloat(t, "sv")})
		}
		for range rapid.IntRange(0, 3).Draw(t, "spreads") {
			b.Output.Spreads = append(b.Output.Spreads, ctc.SpreadWindow{Symbol: "BTC", WindowStart: genTime(t, "ss"), WindowEnd: genTime(t, "se"),
				BinanceVWAP: genFloat(t, "b"), CoinbaseVWAP: genFloat(t, "c"), SpreadPct: genFloat(t, "p")})
		}
		for i := range rapid.IntRange(0, min(3, len(trades))).Draw(t, "late") {
			b.Output.Late = append(b.Output.Late, ctc.LateTrade{Detector: "volume_spike", Trade: trades[i]})
		}
		for range rapid.IntRange(0, 3).Draw(t, "dead") {
			b.DeadLetters = append(b.DeadLetters, ctc.DeadLetter{Reason: ctc.Reason(rapid.String().Draw(t, "r")), Detail: rapid.String().Draw(t, "d"),
				Data: rapid.SliceOf(rapid.Byte()).Draw(t, "data"), Position: ctc.Position{Partition: "p", Offset: rapid.Int64().Draw(t, "off")}})
		}
		b.Position = ctc.Position{Partition: rapid.String().Draw(t, "part"), Offset: rapid.Int64().Draw(t, "pos")}

		enc := b.AppendBinary(nil)
		var got ctc.Batch
		if err := got.UnmarshalBinary(enc); err != nil {
			t.Fatalf("UnmarshalBinary of AppendBinary: %v", err)
		}
		if !bytes.Equal(got.AppendBinary(nil), enc) {
			t.Fatal("the decoded batch encodes to other bytes")
		}
		opts := cmp.Options{
			cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
			cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.IsZero() == b.IsZero() }),
			cmpopts.EquateEmpty(),
		}
		if d := cmp.Diff(b, got, opts); d != "" {
			t.Fatalf("round trip (-saved +loaded):\n%s", d)
		}
	})
}

// FuzzBatchBinary: decoding any bytes never panics, and whatever decodes encodes back to the same
// bytes.
func FuzzBatchBinary(f *testing.F) {
	at := time.Date(2024, 1, 15, 10, 30, 0, 123e6, time.UTC)
	seed := ctc.Batch{
		Trades:      []ctc.Trade{{EventID: uuid.New(), Exchange: "binance", Symbol: "BTC-USDT", Price: 1, Quantity: 2, QuoteVolume: 2, Side: ctc.Buy, Timestamp: at}},
		DeadLetters: []ctc.DeadLetter{{Reason: ctc.Malformed, Detail: "x", Data: []byte("{")}},
	}
	f.Add(seed.AppendBinary(nil))
	f.Add([]byte("CTCB\x01"))
	f.Add([]byte("CTCB\x01\x00\x00\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b ctc.Batch
		if err := b.UnmarshalBinary(data); err != nil {
			return
		}
		enc := b.AppendBinary(nil)
		var again ctc.Batch
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if !bytes.Equal(again.AppendBinary(nil), enc) {
			t.Fatal("not stable under a second round trip")
		}
	})
}
