package jsonl_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/sink/jsonl"
)

func conformance(t *testing.T, f ctctest.SinkFeatures, opts ...jsonl.Option) {
	ctctest.TestSink(t, f, func(t *testing.T) ctc.Sink {
		s, err := jsonl.New(filepath.Join(t.TempDir(), "out"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		return s
	}, func(t *testing.T, s ctc.Sink) *ctc.Batch {
		c, err := jsonl.Read(s.(*jsonl.Sink).Dir())
		if err != nil {
			t.Fatal(err)
		}
		return c.Batch()
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	f := ctctest.SinkFeatures{Alerts: true, Volumes: true, Spreads: true, Whales: true, DeadLetters: true, Late: true}
	t.Run("default", func(t *testing.T) {
		t.Parallel()
		conformance(t, f)
	})
	t.Run("WithTrades", func(t *testing.T) {
		t.Parallel()
		f := f
		f.Trades = true
		conformance(t, f, jsonl.WithTrades())
	})
}

func newSink(t *testing.T, dir string, opts ...jsonl.Option) *jsonl.Sink {
	t.Helper()
	s, err := jsonl.New(dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func write(t *testing.T, s *jsonl.Sink, b *ctc.Batch) {
	t.Helper()
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, dir string) *ctc.Batch {
	t.Helper()
	c, err := jsonl.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c.Batch()
}

// The file format is a contract with jq scripts and other languages, so it is pinned byte for byte:
// field order, RFC 3339 UTC timestamps with milliseconds (converted from any zone), shortest
// floats, HTML-safe string escapes, and base64 for bytes that are not UTF-8.
func TestFileLayout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, dir)
	cet := time.FixedZone("CET", 3600)
	write(t, s, &ctc.Batch{
		Trades: []ctc.Trade{{Exchange: ctc.Binance, Symbol: "BTC-USDT", Price: 1, Quantity: 1, Side: ctc.Buy}},
		Output: ctc.Output{Alerts: []ctc.Alert{{
			AlertID:   uuid.MustParse("6f1c2a7e-3b5d-5e8f-9a0b-1c2d3e4f5a6b"),
			AlertType: ctc.VolumeSpike, Symbol: "BTC-USDT", Exchange: ctc.Binance, Severity: ctc.High,
			ZScore: 3.92, ThresholdValue: 2.5, ActualValue: 4821337.5,
			WindowStart: time.Date(2024, 3, 12, 15, 0, 0, 0, cet),
			DetectedAt:  time.Date(2024, 3, 12, 14, 1, 0, 0, time.UTC),
			Message:     `volume "3.9σ" above <mean> & rising`,
			TTLEpoch:    1710338460,
			EmittedAt:   time.Date(2024, 3, 12, 14, 1, 0, 250_999_999, time.UTC),
		}}},
		DeadLetters: []ctc.DeadLetter{{Reason: ctc.Malformed, Detail: "not UTF-8", Data: []byte{0xff, 0xfe}, Position: ctc.Position{Partition: "p", Offset: 7}}},
	})
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	files := map[string]string{
		jsonl.AlertsFile: `{"alert_id":"6f1c2a7e-3b5d-5e8f-9a0b-1c2d3e4f5a6b","alert_type":"volume_spike",` +
			`"symbol":"BTC-USDT","exchange":"binance","severity":"high","z_score":3.92,"threshold_value":2.5,` +
			`"actual_value":4821337.5,"window_start":"2024-03-12T14:00:00.000Z","detected_at":"2024-03-12T14:01:00.000Z",` +
			`"message":"volume \"3.9σ\" above \u003cmean\u003e \u0026 rising","ttl_epoch":1710338460,` +
			`"emitted_at":"2024-03-12T14:01:00.250Z"}` + "\n",
		jsonl.DeadLettersFile: `{"reason":"malformed","detail":"not UTF-8","partition":"p","offset":7,"data_base64":"//4="}` + "\n",
		jsonl.VolumesFile:     "",
		jsonl.SpreadsFile:     "",
		jsonl.WhalesFile:      "",
		jsonl.LateFile:        "",
	}
	got := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got[e.Name()] = string(b)
	}
	// Without WithTrades there is no raw_trades.ndjson, although the batch held a trade.
	if diff := cmp.Diff(files, got); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

func TestNewTruncatesAndRemovesStaleTrades(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, dir, jsonl.WithTrades())
	write(t, s, sample(0, 3))
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	s = newSink(t, dir)
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, jsonl.TradesFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("raw_trades.ndjson of the earlier run: stat returned %v, want not exist", err)
	}
	if got := read(t, dir); got.Len() != 0 {
		t.Errorf("a new sink without WithAppend kept %d records of the earlier run", got.Len())
	}
}

// Resuming after a crash: the torn final line is cut, and new lines follow the last whole one.
func TestAppendResumesAfterTornLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, dir, jsonl.WithTrades())
	first := sample(0, 3)
	write(t, s, first)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{jsonl.AlertsFile, jsonl.TradesFile, jsonl.DeadLettersFile} {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(`{"torn":"by a cra`); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	// An empty file and a file holding only a torn line must resume too.
	if err := os.WriteFile(filepath.Join(dir, jsonl.LateFile), []byte(`{"det`), 0o644); err != nil {
		t.Fatal(err)
	}

	s = newSink(t, dir, jsonl.WithAppend(), jsonl.WithTrades())
	second := sample(1, 2)
	write(t, s, second)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := read(t, dir)
	// late.ndjson was replaced by a lone torn line above, so only the second run's late trades remain.
	want := &ctc.Batch{Output: ctc.Output{Late: second.Output.Late}}
	for _, b := range []*ctc.Batch{first, second} {
		want.Trades = append(want.Trades, b.Trades...)
		want.Output.Alerts = append(want.Output.Alerts, b.Output.Alerts...)
		want.Output.Volumes = append(want.Output.Volumes, b.Output.Volumes...)
		want.DeadLetters = append(want.DeadLetters, b.DeadLetters...)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resumed files (-want +got):\n%s", diff)
	}
}

// An I/O error names the file, so that an operator knows which disk or file to look at.
func TestWriteErrorNamesFile(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("needs /dev/full to make writes fail")
	}
	dir := t.TempDir()
	if err := os.Symlink("/dev/full", filepath.Join(dir, jsonl.AlertsFile)); err != nil {
		t.Skip("cannot create a symlink:", err)
	}
	s := newSink(t, dir)
	write(t, s, sample(0, 3))
	err := s.Flush(t.Context())
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Flush to /dev/full: got %v, want ENOSPC", err)
	}
	if !strings.Contains(err.Error(), filepath.Join(dir, jsonl.AlertsFile)) {
		t.Errorf("error %q does not name %s", err, jsonl.AlertsFile)
	}
}

func TestReadErrorNamesLine(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := "{\"symbol\":\"BTC\"}\n{\"symbol\":\n"
	if err := os.WriteFile(filepath.Join(dir, jsonl.SpreadsFile), []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := jsonl.Read(dir)
	if want := jsonl.SpreadsFile + ":2:"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Read of a bad line: got %v, want an error naming %s", err, want)
	}
	if _, err := jsonl.Read(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Read of a missing dir: got %v, want ErrNotExist", err)
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	s := newSink(t, t.TempDir())
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), sample(0, 1)); !errors.Is(err, jsonl.ErrClosed) {
		t.Errorf("Write after Close: got %v, want ErrClosed", err)
	}
	if err := s.Flush(t.Context()); !errors.Is(err, jsonl.ErrClosed) {
		t.Errorf("Flush after Close: got %v, want ErrClosed", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// The steady-state claim of the package: writing a batch allocates nothing.
func TestWriteDoesNotAllocate(t *testing.T) {
	s := newSink(t, t.TempDir(), jsonl.WithTrades())
	b := sample(0, 50)
	ctx := context.Background()
	write(t, s, b) // grows the scratch buffer once
	if n := testing.AllocsPerRun(50, func() {
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Write allocated %v times per batch, want 0", n)
	}
}

// sample returns a deterministic batch of n records of each kind.
func sample(seed, n int) *ctc.Batch {
	b := &ctc.Batch{Position: ctc.Position{Partition: "trades.ndjson", Offset: int64(seed*1000 + n)}}
	start := time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC).Add(time.Duration(seed) * time.Hour)
	for i := range n {
		ts := start.Add(time.Duration(i)*1234*time.Millisecond + 7*time.Millisecond)
		price := 67_000 + float64((seed*31+i*17)%500) + 0.01*float64(i%100)
		qty := 0.00012 * float64(1+(i*7)%97)
		t := ctc.Trade{
			EventID: ctc.NewEventIDInt(ctc.Binance, "BTC-USDT", int64(seed*1_000_000+i)), Exchange: ctc.Binance,
			Symbol: "BTC-USDT", Price: price, Quantity: qty, QuoteVolume: price * qty, Side: ctc.Side(1 + i%2),
			Timestamp: ts, IngestionTimestamp: ts.Add(42 * time.Millisecond),
		}
		b.Trades = append(b.Trades, t)
		ws := ts.Truncate(time.Minute)
		b.Output.Alerts = append(b.Output.Alerts, ctc.Alert{
			AlertID:   ctc.NewAlertID(ctc.VolumeSpike, t.Exchange, t.Symbol, ctc.WindowKey(ws)+fmt.Sprint(i)),
			AlertType: ctc.VolumeSpike, Symbol: t.Symbol, Exchange: t.Exchange, Severity: ctc.Severity(1 + i%4),
			ZScore: 2.5 + float64(i%10)/7, ThresholdValue: 2.5, ActualValue: 1_234_567.89 + float64(i),
			WindowStart: ws, DetectedAt: ws.Add(time.Minute), Message: fmt.Sprintf("volume %.1fσ above the 1 h mean", 2.5+float64(i%10)/7),
			TTLEpoch: ws.Add(time.Minute + ctc.AlertTTL).Unix(), EmittedAt: ws.Add(time.Minute),
		})
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{
			Symbol: t.Symbol, Exchange: t.Exchange, WindowStart: ws, WindowEnd: ws.Add(time.Minute), TradeCount: int64(i + 1),
			TotalVolume: t.QuoteVolume, AvgPrice: price, MaxPrice: price, MinPrice: price, BuyVolume: t.QuoteVolume,
		})
		b.Output.Late = append(b.Output.Late, ctc.LateTrade{Detector: "volume_spike", Trade: t})
		b.DeadLetters = append(b.DeadLetters, ctc.DeadLetter{
			Reason: ctc.Invalid, Detail: "price must be > 0, got -1", Data: []byte(`{"price":-1}`),
			Position: ctc.Position{Partition: "trades.ndjson", Offset: int64(i)},
		})
	}
	return b
}

func benchmarkWrite(b *testing.B, batch *ctc.Batch, rows int, opts ...jsonl.Option) {
	s, err := jsonl.New(b.TempDir(), opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx := context.Background()
	var size int64
	for _, a := range batch.Output.Alerts {
		size += int64(len(a.AppendJSON(nil))) + 1
	}
	for _, t := range batch.Trades {
		size += int64(len(t.AppendJSON(nil))) + 1
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkWriteTrades writes raw_trades.ndjson, the bulk of a WithTrades run, 1,000 trades a batch.
func BenchmarkWriteTrades(b *testing.B) {
	src := sample(0, 1000)
	benchmarkWrite(b, &ctc.Batch{Trades: src.Trades}, len(src.Trades), jsonl.WithTrades())
}

// BenchmarkWriteAlerts writes alerts.ndjson, 100 alerts a batch.
func BenchmarkWriteAlerts(b *testing.B) {
	src := sample(0, 100)
	benchmarkWrite(b, &ctc.Batch{Output: ctc.Output{Alerts: src.Output.Alerts}}, len(src.Output.Alerts))
}

// FuzzDeadLetterRoundTrip checks the promise a dead-letter queue exists for: whatever bytes a
// source handed over come back from the file exactly, valid UTF-8 or not.
func FuzzDeadLetterRoundTrip(f *testing.F) {
	for _, s := range []string{"", `{"price":`, "\xff\xfe", "nul\x00", "line\u2028sep", "<&>\"\\", "\xed\xa0\x80"} {
		f.Add([]byte(s), "detail", int64(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, detail string, offset int64) {
		if !utf8.ValidString(detail) {
			t.Skip("details are written by the quality chain and always UTF-8")
		}
		dir := t.TempDir()
		s, err := jsonl.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		in := ctc.DeadLetter{Reason: ctc.Malformed, Detail: detail, Data: data, Position: ctc.Position{Partition: "p", Offset: offset}}
		if err := s.Write(t.Context(), &ctc.Batch{DeadLetters: []ctc.DeadLetter{in}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		c, err := jsonl.Read(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.DeadLetters) != 1 {
			t.Fatalf("read %d dead letters, want 1", len(c.DeadLetters))
		}
		got := c.DeadLetters[0]
		if !bytes.Equal(got.Data, in.Data) || got.Detail != in.Detail || got.Position != in.Position || got.Reason != in.Reason {
			t.Fatalf("round trip changed the dead letter:\nin  %+v\ngot %+v", in, got)
		}
	})
}

// FuzzRead checks that no file content makes Read panic: it reads what other programs may have
// edited.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"alert_id":"6f1c2a7e-3b5d-5e8f-9a0b-1c2d3e4f5a6b","severity":"high","detected_at":"2024-03-12T14:01:00.000Z"}` + "\n"))
	f.Add([]byte("{\"detector\":\"x\",\"side\":\"sell\"}\n\n{"))
	f.Add([]byte(`{"data_base64":"!!"}`))
	f.Fuzz(func(t *testing.T, content []byte) {
		dir := t.TempDir()
		for _, name := range []string{jsonl.AlertsFile, jsonl.WhalesFile, jsonl.LateFile, jsonl.DeadLettersFile, jsonl.TradesFile} {
			if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		_, _ = jsonl.Read(dir)
	})
}
