package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

type line struct {
	Data   string
	Offset int64
}

// readAll drains src, copying each record since Data is only valid until the next Next.
func readAll(t *testing.T, src *Source) ([]line, []ctc.Record) {
	t.Helper()
	var lines []line
	var recs []ctc.Record
	var rec ctc.Record
	for {
		err := src.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			return lines, recs
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		lines = append(lines, line{string(rec.Data), rec.Position.Offset})
		r := rec
		r.Data = bytes.Clone(rec.Data)
		recs = append(recs, r)
	}
}

func TestNDJSONLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3*readBufSize+17)
	tests := []struct {
		name string
		in   string
		want []line
	}{
		{"empty", "", nil},
		{"one line", "{\"a\":1}\n", []line{{`{"a":1}`, 1}}},
		{"no trailing newline", "a\nb", []line{{"a", 1}, {"b", 2}}},
		{"blank lines keep line numbers", "\n\na\n \t\n\nb\n\n", []line{{"a", 3}, {"b", 6}}},
		{"CRLF", "a\r\nb\r\n\r\nc", []line{{"a", 1}, {"b", 2}, {"c", 4}}},
		{"byte order mark", "\xef\xbb\xbfa\nb\n", []line{{"a", 1}, {"b", 2}}},
		{"long lines", "a\n" + long + "\nb\n" + long, []line{{"a", 1}, {long, 2}, {"b", 3}, {long, 4}}},
		{"long CRLF line", long + "\r\nb\r\n", []line{{long, 1}, {"b", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := New(strings.NewReader(tt.in), WithMaxLineBytes(4*readBufSize))
			if err != nil {
				t.Fatal(err)
			}
			got, recs := readAll(t, src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			for _, r := range recs {
				if r.Decoded || r.Err != nil || r.Position.Partition != "replay" {
					t.Errorf("record %v: Decoded=%v Err=%v, want undecoded NDJSON in partition replay", r.Position, r.Decoded, r.Err)
				}
			}
		})
	}
}

// The source must split lines exactly as a plain reference split does, whatever the input, and
// never let a caller's append to rec.Data overwrite input it has not read yet.
func FuzzNDJSONLines(f *testing.F) {
	f.Add([]byte("a\nb\r\n\n c \n"))
	f.Add([]byte("\r\n\r\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var want []line
		for i, l := range strings.Split(string(in), "\n") {
			if i == 0 {
				l = strings.TrimPrefix(l, "\xef\xbb\xbf")
			}
			l = strings.TrimSuffix(l, "\r")
			if strings.Trim(l, " \t\r") != "" {
				want = append(want, line{l, int64(i + 1)})
			}
		}
		src, err := New(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		var got []line
		var rec ctc.Record
		for {
			err := src.Next(context.Background(), &rec)
			if errors.Is(err, ctc.ErrEndOfInput) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, line{string(rec.Data), rec.Position.Offset})
			_ = append(rec.Data, "clobber"...)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
	})
}

const csvSample = `agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker,is_best_match
3000000001,42000.01000000,0.00100000,4000000001,4000000003,1704067200123,True,True
3000000002,42000.00000000,1.50000000,4000000004,4000000004,1704067200456,False,True
`

func TestCSV(t *testing.T) {
	t.Parallel()
	src, err := New(strings.NewReader(csvSample), WithFormat(BinanceCSV), WithInstrument("binance", "BTC-USDT"))
	if err != nil {
		t.Fatal(err)
	}
	_, recs := readAll(t, src)
	want := []ctc.Trade{
		{EventID: ctc.NewEventIDInt("binance", "BTC-USDT", 3000000001), Exchange: "binance", Symbol: "BTC-USDT",
			Price: 42000.01, Quantity: 0.001, QuoteVolume: 42000.01 * 0.001, Side: ctc.Sell,
			Timestamp: time.Date(2024, 1, 1, 0, 0, 0, 123e6, time.UTC)},
		{EventID: ctc.NewEventIDInt("binance", "BTC-USDT", 3000000002), Exchange: "binance", Symbol: "BTC-USDT",
			Price: 42000, Quantity: 1.5, QuoteVolume: 63000, Side: ctc.Buy,
			Timestamp: time.Date(2024, 1, 1, 0, 0, 0, 456e6, time.UTC)},
	}
	var got []ctc.Trade
	for i, r := range recs {
		if !r.Decoded || r.Err != nil {
			t.Fatalf("record %d: Decoded=%v Err=%v", i, r.Decoded, r.Err)
		}
		if r.Position.Offset != int64(i+2) { // line 1 is the header
			t.Errorf("record %d at offset %d, want line %d", i, r.Position.Offset, i+2)
		}
		if !strings.HasPrefix(string(r.Data), "300000000") {
			t.Errorf("record %d: Data = %q, want the CSV line", i, r.Data)
		}
		got = append(got, r.Trade)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trades (-want +got):\n%s", diff)
	}
}

func TestDecodeCSV(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line  string
		price float64
		qty   float64
		side  ctc.Side
		ts    time.Time
	}{
		{"1,60000.5,0.25,1,1,1735689599999,true,true", 60000.5, 0.25, ctc.Sell,
			time.Date(2024, 12, 31, 23, 59, 59, 999e6, time.UTC)},
		{"1,60000.5,0.25,1,1,1735689600000001,false,true", 60000.5, 0.25, ctc.Buy, // µs from 2025 on
			time.Date(2025, 1, 1, 0, 0, 0, 1000, time.UTC)},
		{"1,0.00001234,12345678.9,1,1,1735689600000001,FALSE,False\r\n", 0.00001234, 12345678.9, ctc.Buy,
			time.Date(2025, 1, 1, 0, 0, 0, 1000, time.UTC)},
		{"7,3.1,2,1,2,1500000000000,TRUE", 3.1, 2, ctc.Sell, // futures files have no is_best_match
			time.Date(2017, 7, 14, 2, 40, 0, 0, time.UTC)},
		{"1,1.5e3,2E-2,1,1,1500000000000,true,true", 1500, 0.02, ctc.Sell, time.Date(2017, 7, 14, 2, 40, 0, 0, time.UTC)},
		{"1,123456789012345678901234.5,0.0000000000000000000000000001,1,1,1500000000000,true,true",
			123456789012345678901234.5, 1e-28, ctc.Sell, time.Date(2017, 7, 14, 2, 40, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		var tr ctc.Trade
		if err := DecodeCSV([]byte(tt.line), "binance", "BTC-USDT", &tr); err != nil {
			t.Errorf("DecodeCSV(%q): %v", tt.line, err)
			continue
		}
		if tr.Price != tt.price || tr.Quantity != tt.qty || tr.Side != tt.side || !tr.Timestamp.Equal(tt.ts) ||
			tr.Timestamp.Location() != time.UTC || tr.QuoteVolume != tt.price*tt.qty {
			t.Errorf("DecodeCSV(%q) = %+v, want price %v qty %v side %v at %v (UTC)", tt.line, tr, tt.price, tt.qty, tt.side, tt.ts)
		}
	}
}

func TestDecodeCSVErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line, want string
	}{
		{"", "expected 8 comma-separated columns"},
		{"1,2,3", "got 3"},
		{"1,2,3,4,5,6,true,true,extra", "got more"},
		{"x,1,1,1,1,1500000000000,true,true", `column 1 (agg_id): must be a non-negative integer trade id, got "x"`},
		{"-1,1,1,1,1,1500000000000,true,true", "column 1 (agg_id)"},
		{"99999999999999999999,1,1,1,1,1500000000000,true,true", "column 1 (agg_id)"},
		{"1,abc,1,1,1,1500000000000,true,true", `column 2 (price): must be a positive decimal number, got "abc"`},
		{"1,0,1,1,1,1500000000000,true,true", "column 2 (price)"},
		{"1,-5,1,1,1,1500000000000,true,true", "column 2 (price)"},
		{"1,NaN,1,1,1,1500000000000,true,true", "column 2 (price)"},
		{"1,inf,1,1,1,1500000000000,true,true", "column 2 (price)"},
		{"1,1e400,1,1,1,1500000000000,true,true", "column 2 (price)"},
		{"1,1.2.3,1,1,1,1500000000000,true,true", "column 2 (price)"},
		{"1,0x10,1,1,1,1500000000000,true,true", "column 2 (price)"},
		{"1, 1,1,1,1,1500000000000,true,true", "column 2 (price)"},
		{"1,1,,1,1,1500000000000,true,true", "column 3 (qty)"},
		{"1,1,1e-400,1,1,1500000000000,true,true", "column 3 (qty)"},
		{"1,1e300,1e300,1,1,1500000000000,true,true", "column 3 (qty): price × qty overflows"},
		{"1,1,1,a,1,1500000000000,true,true", "column 4 (first_id)"},
		{"1,1,1,1,,1500000000000,true,true", "column 5 (last_id)"},
		{"1,1,1,1,1,2024-01-01,true,true", "column 6 (timestamp)"},
		{"1,1,1,1,1,0,true,true", "column 6 (timestamp)"},
		{"1,1,1,1,1,1500000000000,yes,true", `column 7 (is_buyer_maker): must be true or false, got "yes"`},
		{"1,1,1,1,1,1500000000000,true,1", "column 8 (is_best_match)"},
	}
	for _, tt := range tests {
		orig := ctc.Trade{Symbol: "untouched"}
		tr := orig
		err := DecodeCSV([]byte(tt.line), "binance", "BTC-USDT", &tr)
		var ce *ColumnError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("DecodeCSV(%q) = %v, want a *ColumnError containing %q", tt.line, err, tt.want)
		}
		if tr != orig {
			t.Errorf("DecodeCSV(%q) changed the trade on error: %+v", tt.line, tr)
		}
	}
}

func TestCSVBadLinesAreReturned(t *testing.T) {
	t.Parallel()
	in := "1,100,1,1,1,1500000000000,true,true\n1,oops,1,1,1,1500000000000,true,true\n\n2,100,1,1,1,1500000000001,false,true\n"
	src, err := New(strings.NewReader(in), WithFormat(BinanceCSV), WithInstrument("binance", "ETH-USDT"),
		WithPartition("ETHUSDT-aggTrades-2017-07.csv"))
	if err != nil {
		t.Fatal(err)
	}
	_, recs := readAll(t, src)
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3 (the bad line is returned, not dropped)", len(recs))
	}
	bad := recs[1]
	if bad.Decoded || bad.Err == nil || string(bad.Data) != "1,oops,1,1,1,1500000000000,true,true" ||
		bad.Position != (ctc.Position{Partition: "ETHUSDT-aggTrades-2017-07.csv", Offset: 2}) {
		t.Fatalf("bad record = %+v, want Err set, Decoded false, the original line at offset 2", bad)
	}
	const want = `ETHUSDT-aggTrades-2017-07.csv line 2: binance aggTrades CSV column 2 (price): must be a positive decimal number, got "oops"`
	if bad.Err.Error() != want {
		t.Errorf("Err = %q\nwant  %q", bad.Err, want)
	}
	if !recs[2].Decoded || recs[2].Err != nil || recs[2].Position.Offset != 4 || recs[2].Trade.Side != ctc.Buy {
		t.Errorf("record after the bad one = %+v, want decoded at offset 4", recs[2])
	}
}

func TestSkipResumes(t *testing.T) {
	t.Parallel()
	inputs := []struct {
		name string
		in   string
		opts []Option
	}{
		{"ndjson", "a\n\nb\r\nc\n\n\nd\ne", nil},
		{"csv with header", csvSample + "\n3000000003,1,1,1,1,1704067200999,true,true\n",
			[]Option{WithFormat(BinanceCSV), WithInstrument("binance", "BTC-USDT")}},
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			all, _ := readAll(t, mustNew(t, in.in, in.opts...))
			last := all[len(all)-1].Offset
			for k := int64(0); k <= last+1; k++ {
				var want []line
				for _, l := range all {
					if l.Offset > k {
						want = append(want, l)
					}
				}
				got, _ := readAll(t, mustNew(t, in.in, append(in.opts, WithSkip(k))...))
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("WithSkip(%d) (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

func mustNew(t *testing.T, in string, opts ...Option) *Source {
	t.Helper()
	s, err := New(strings.NewReader(in), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTrades(t *testing.T) {
	t.Parallel()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	trades := make([]ctc.Trade, 5)
	for i := range trades {
		trades[i] = ctc.Trade{Exchange: "binance", Symbol: "BTC-USDT", Price: float64(100 + i), Quantity: 1,
			QuoteVolume: float64(100 + i), Side: ctc.Buy, Timestamp: base.Add(time.Duration(i) * time.Second),
			EventID: ctc.NewEventIDInt("binance", "BTC-USDT", int64(i))}
	}
	src := Trades(trades, WithSkip(2), WithPartition("mem"))
	_, recs := readAll(t, src)
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	for i, r := range recs {
		want := ctc.Record{Decoded: true, Trade: trades[i+2], Position: ctc.Position{Partition: "mem", Offset: int64(i + 3)}}
		if diff := cmp.Diff(want, r); diff != "" {
			t.Errorf("record %d (-want +got):\n%s", i, diff)
		}
	}
	var rec ctc.Record
	if err := src.Next(context.Background(), &rec); !errors.Is(err, ctc.ErrEndOfInput) {
		t.Errorf("Next after the end = %v, want ErrEndOfInput again", err)
	}
	if err := Trades(nil, WithSpeed(-1)).Next(context.Background(), &rec); err == nil || !strings.Contains(err.Error(), "speed") {
		t.Errorf("Trades with a negative speed: Next = %v, want an error about the speed", err)
	}
	if err := Trades(nil).Next(context.Background(), &rec); !errors.Is(err, ctc.ErrEndOfInput) {
		t.Errorf("Trades(nil): Next = %v, want ErrEndOfInput", err)
	}
}

// fakeClock advances only when slept on, so pacing is checked without waiting.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
	reads  int
}

func (c *fakeClock) Now() time.Time { c.reads++; return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	if err := ctx.Err(); err != nil {
		return err
	}
	c.now = c.now.Add(d)
	return nil
}

func TestPacing(t *testing.T) {
	t.Parallel()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var trades []ctc.Trade
	for _, s := range []float64{0, 1, 1, 3, 2, 10} { // an out-of-order trade is not held back
		trades = append(trades, ctc.Trade{Timestamp: base.Add(time.Duration(s * float64(time.Second)))})
	}
	clk := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := Trades(trades, WithSpeed(2), WithClock(clk.Now, clk.Sleep))
	var rec ctc.Record
	for range trades {
		if err := src.Next(context.Background(), &rec); err != nil {
			t.Fatal(err)
		}
		clk.now = clk.now.Add(100 * time.Millisecond) // the consumer's own work counts against the wait
	}
	want := []time.Duration{400 * time.Millisecond, 800 * time.Millisecond, 3300 * time.Millisecond}
	if diff := cmp.Diff(want, clk.sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}

	// Unpaced replay never reads the clock.
	clk = &fakeClock{}
	src = Trades(trades, WithClock(clk.Now, clk.Sleep))
	readAll(t, src)
	if clk.reads != 0 || len(clk.sleeps) != 0 {
		t.Errorf("speed 0 read the clock %d times and slept %v", clk.reads, clk.sleeps)
	}
}

func TestPacingNDJSONAndCancel(t *testing.T) {
	t.Parallel()
	in := `{"event_id":"x","timestamp":"2024-01-01T00:00:00.000Z","ingestion_timestamp":"2024-01-01T00:01:00Z"}
not json, not paced
{"ingestion_timestamp":"2024-01-01T00:00:00Z", "timestamp" : "2024-01-01T00:00:05.500Z"}
{"timestamp":"2024-01-01T00:00:09Z"}
`
	clk := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	src := mustNew(t, in, WithSpeed(1), WithClock(clk.Now, clk.Sleep))
	ctx, cancel := context.WithCancel(context.Background())
	var rec ctc.Record
	for range 3 {
		if err := src.Next(ctx, &rec); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]time.Duration{5500 * time.Millisecond}, clk.sleeps); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
	cancel()
	if err := src.Next(ctx, &rec); !errors.Is(err, context.Canceled) {
		t.Errorf("Next on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "BTCUSDT-aggTrades-2024-01.CSV")
	if err := os.WriteFile(csvPath, []byte(csvSample), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(csvPath); err == nil || !strings.Contains(err.Error(), "WithInstrument") {
		t.Errorf("Open(.csv) without an instrument = %v, want an error asking for WithInstrument", err)
	}
	src, err := Open(csvPath, WithInstrument("binance", "BTC-USDT"))
	if err != nil {
		t.Fatal(err)
	}
	_, recs := readAll(t, src)
	if len(recs) != 2 || !recs[0].Decoded || recs[0].Position.Partition != "BTCUSDT-aggTrades-2024-01.CSV" {
		t.Errorf("Open(.csv) read %+v, want 2 decoded trades in partition named after the file", recs)
	}
	if err := src.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
	var rec ctc.Record
	if err := src.Next(context.Background(), &rec); err == nil {
		t.Error("Next after Close succeeded")
	}

	jsonPath := filepath.Join(dir, "trades.jsonl")
	if err := os.WriteFile(jsonPath, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err = Open(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	got, _ := readAll(t, src)
	if diff := cmp.Diff([]line{{"{}", 1}}, got); diff != "" {
		t.Errorf("Open(.jsonl) (-want +got):\n%s", diff)
	}

	for _, bad := range []struct {
		path string
		opts []Option
		want string
	}{
		{filepath.Join(dir, "missing.jsonl"), nil, "no such file"},
		{dir, nil, "is a directory"},
		{jsonPath, []Option{WithSpeed(math.NaN())}, "speed"},
		{jsonPath, []Option{WithSkip(-1)}, "skip must be >= 0"},
		{jsonPath, []Option{WithFormat(Format(9))}, "format"},
	} {
		if _, err := Open(bad.path, bad.opts...); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Open(%s) = %v, want an error containing %q", bad.path, err, bad.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	t.Parallel()
	for _, f := range []Format{NDJSON, BinanceCSV} {
		if g, err := ParseFormat(f.String()); err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f, g, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil {
		t.Error("ParseFormat(xml) succeeded")
	}
}

// parseDecimal must agree with strconv.ParseFloat on every plain decimal, fast path or not.
func TestParseDecimalMatchesStrconv(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		intPart := rapid.StringMatching(`[0-9]{1,25}`).Draw(t, "int")
		frac := rapid.StringMatching(`(\.[0-9]{0,25})?`).Draw(t, "frac")
		exp := rapid.StringMatching(`([eE][+-]?[0-9]{1,3})?`).Draw(t, "exp")
		s := intPart + frac + exp
		want, err := strconv.ParseFloat(s, 64)
		got, ok := parseDecimal([]byte(s))
		if err != nil && !math.IsInf(want, 0) && want != 0 {
			t.Fatalf("strconv rejects %q: %v", s, err)
		}
		if !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseDecimal(%q) = %v, %v; strconv gives %v", s, got, ok, want)
		}
	})
}

func TestNoAllocs(t *testing.T) {
	line := []byte("3000000001,42000.01000000,0.00100000,4000000001,4000000003,1735689600000123,True,True")
	long := []byte("1,12345678901234567890.123456789,0.5,1,1,1500000000000,false,true") // strconv fallback
	var tr ctc.Trade
	for _, l := range [][]byte{line, long} {
		if n := testing.AllocsPerRun(100, func() {
			if err := DecodeCSV(l, "binance", "BTC-USDT", &tr); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("DecodeCSV(%s) allocates %v times per line", l, n)
		}
	}

	in := bytes.Repeat([]byte(`{"event_id":"0b1c","exchange":"binance","symbol":"BTC-USDT","price":1}`+"\n"), 1000)
	src := mustNew(t, string(in))
	var rec ctc.Record
	ctx := context.Background()
	if n := testing.AllocsPerRun(500, func() {
		if err := src.Next(ctx, &rec); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("NDJSON Next allocates %v times per record", n)
	}
}

func FuzzDecodeCSV(f *testing.F) {
	for _, l := range strings.Split(csvSample, "\n") {
		f.Add([]byte(l))
	}
	f.Add([]byte("1,1e300,1e300,1,1,1500000000000,true,true"))
	f.Add([]byte("1,0.1,0.2,1,1,1735689600000001,false,False\r\n"))
	f.Add([]byte("1,123456789012345678901234567890,1,1,1,1,true"))
	f.Fuzz(func(t *testing.T, line []byte) {
		var tr ctc.Trade
		err := DecodeCSV(line, "binance", "BTC-USDT", &tr)
		if err != nil {
			var ce *ColumnError
			if !errors.As(err, &ce) || err.Error() == "" {
				t.Fatalf("error %v is not a *ColumnError", err)
			}
			return
		}
		for _, v := range []float64{tr.Price, tr.Quantity, tr.QuoteVolume} {
			if !(v > 0) || math.IsInf(v, 0) {
				t.Fatalf("accepted %q with price %v qty %v quote %v", line, tr.Price, tr.Quantity, tr.QuoteVolume)
			}
		}
		if tr.Side != ctc.Buy && tr.Side != ctc.Sell {
			t.Fatalf("accepted %q with side %v", line, tr.Side)
		}
		if tr.Timestamp.Location() != time.UTC || !tr.Timestamp.After(time.Unix(0, 0)) {
			t.Fatalf("accepted %q with timestamp %v", line, tr.Timestamp)
		}
	})
}

func BenchmarkNDJSONNext(b *testing.B) {
	line := []byte(`{"event_id":"8d7a3c1e-4b6f-5a2d-9c0e-1f2a3b4c5d6e","exchange":"binance","symbol":"BTC-USDT","price":60000.01,"quantity":0.05,"quote_volume":3000.0005,"side":"buy","timestamp":"2024-01-01T00:00:00.123Z","ingestion_timestamp":"2024-01-01T00:00:00.130Z"}` + "\n")
	src, err := New(&loopReader{b: bytes.Repeat(line, 1000)})
	if err != nil {
		b.Fatal(err)
	}
	var rec ctc.Record
	ctx := context.Background()
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if err := src.Next(ctx, &rec); err != nil {
			b.Fatal(err)
		}
	}
}

// loopReader repeats b forever, so the benchmark measures steady state rather than set-up.
type loopReader struct {
	b []byte
	i int
}

func (r *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.b[r.i:])
		n += c
		r.i = (r.i + c) % len(r.b)
	}
	return n, nil
}

func BenchmarkDecodeCSV(b *testing.B) {
	line := []byte("3000000001,42000.01000000,0.00100000,4000000001,4000000003,1735689600000123,True,True")
	var tr ctc.Trade
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeCSV(line, "binance", "BTC-USDT", &tr); err != nil {
			b.Fatal(err)
		}
	}
}

// A line over the limit is a record with a *LineTooLongError holding the line's first bytes and
// its length; the lines around it are read as usual, and memory stays bounded.
func TestLineOverTheLimit(t *testing.T) {
	t.Parallel()
	for _, max := range []int{0, 10_000} { // the default (1 MiB, over the read buffer) and a small one
		limit := max
		if limit == 0 {
			limit = DefaultMaxLineBytes
		}
		long := strings.Repeat("y", 3*limit+5)
		src, err := New(strings.NewReader("a\n"+long+"\r\nb\n"+long), WithMaxLineBytes(max))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			var rec ctc.Record
			err := src.Next(context.Background(), &rec)
			if errors.Is(err, ctc.ErrEndOfInput) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var tl *LineTooLongError
			if errors.As(rec.Err, &tl) {
				if tl.Length != int64(len(long)) || tl.Max != limit || len(rec.Data) != keepOfLongLine || tl.Line != rec.Position.Offset {
					t.Fatalf("limit %d: %+v with %d bytes of data", limit, tl, len(rec.Data))
				}
				got = append(got, fmt.Sprintf("long@%d", rec.Position.Offset))
				continue
			}
			got = append(got, fmt.Sprintf("%s@%d", rec.Data, rec.Position.Offset))
		}
		if want := "a@1 long@2 b@3 long@4"; strings.Join(got, " ") != want {
			t.Fatalf("limit %d: got %q, want %q", limit, strings.Join(got, " "), want)
		}
	}
}
