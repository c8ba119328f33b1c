package sim

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"pgregory.net/rapid"
)

var day = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// tb is what run needs of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// run drains a simulator built from cfg, checking the record envelope on the way.
func run(t tb, cfg Config) ([]ctc.Trade, []Event) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var trades []ctc.Trade
	var rec ctc.Record
	rec.Data = []byte("stale")
	for {
		err := s.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !rec.Decoded || rec.Data != nil || rec.Err != nil ||
			rec.Position != (ctc.Position{Partition: "sim", Offset: int64(len(trades) + 1)}) {
			t.Fatalf("record %d: Decoded=%v Data=%q Err=%v Position=%v", len(trades)+1, rec.Decoded, rec.Data, rec.Err, rec.Position)
		}
		trades = append(trades, rec.Trade)
	}
	var rec2 ctc.Record
	if err := s.Next(context.Background(), &rec2); !errors.Is(err, ctc.ErrEndOfInput) {
		t.Fatalf("Next after the end = %v, want ErrEndOfInput again", err)
	}
	return trades, s.Injected()
}

func encode(trades []ctc.Trade) []byte {
	var b []byte
	for i := range trades {
		b = trades[i].AppendJSON(b)
		b = append(b, '\n')
	}
	return b
}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	cfg := Config{Seed: 42, Start: day.Add(123456789), Duration: 20 * time.Minute, InjectEvery: 30 * time.Second,
		Jitter: 2 * time.Second}
	a, evA := run(t, cfg)
	b, evB := run(t, cfg)
	if !bytes.Equal(encode(a), encode(b)) {
		t.Fatal("the same Config gave different trades")
	}
	if diff := gocmp.Diff(evA, evB); diff != "" {
		t.Fatalf("the same Config gave different events (-first +second):\n%s", diff)
	}
	if len(a) < 20*60*30/2 || len(evA) < 30 {
		t.Fatalf("got %d trades and %d events in 20 minutes, want about %d and 40", len(a), len(evA), 20*60*30)
	}
	cfg.Seed = 43
	c, _ := run(t, cfg)
	if bytes.Equal(encode(a[:100]), encode(c[:100])) {
		t.Fatal("different seeds gave the same trades")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	good := Config{Start: day}
	if err := good.Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	tests := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Start = time.Time{} }, "Start is required"},
		{func(c *Config) { c.Start = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }, "between 1970 and 2200"},
		{func(c *Config) { c.Duration = -time.Second }, "Duration must be >= 0"},
		{func(c *Config) { c.Rate = -1 }, "Rate must be"},
		{func(c *Config) { c.Rate = math.Inf(1) }, "Rate must be"},
		{func(c *Config) { c.Speed = math.NaN() }, "Speed must be"},
		{func(c *Config) { c.WarmUp = -1 }, "WarmUp must be"},
		{func(c *Config) { c.InjectEvery = time.Second }, "InjectEvery must be at least 20s"},
		{func(c *Config) { c.Jitter = -1 }, "Jitter must be"},
		{func(c *Config) { c.Instruments = []Instrument{{Binance: "X-USDT", Coinbase: "X-USD", Price: 1}} }, "has no Name"},
		{func(c *Config) {
			c.Instruments = []Instrument{{"X", "X-USDT", "X-USD", 1}, {"X", "Y-USDT", "Y-USD", 1}}
		}, `"X" appears twice`},
		{func(c *Config) { c.Instruments = []Instrument{{"X", "X-USDT", "", 1}} }, "needs both a Binance and a Coinbase symbol"},
		{func(c *Config) {
			c.Instruments = []Instrument{{"X", "X-USDT", "X-USD", 1}, {"Y", "X-USDT", "Y-USD", 1}}
		}, `symbol "X-USDT" is used by two`},
		{func(c *Config) { c.Instruments = []Instrument{{"X", "X-USDT", "X-USD", 0}} }, "Price must be between"},
	}
	for _, tt := range tests {
		c := good
		tt.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
		}
		if _, nerr := New(c); nerr == nil {
			t.Errorf("New accepted a config Validate rejects (%q)", tt.want)
		}
	}
	// Every problem is reported at once.
	err := Config{Rate: -1, Jitter: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "Start") || !strings.Contains(err.Error(), "Rate") || !strings.Contains(err.Error(), "Jitter") {
		t.Errorf("Validate() = %v, want all three problems", err)
	}
}

func TestStartAndDuration(t *testing.T) {
	t.Parallel()
	start := day.Add(1500 * time.Millisecond)
	trades, _ := run(t, Config{Seed: 1, Start: start, Duration: 90 * time.Second, InjectEvery: -1,
		Now: func() time.Time { panic("Speed 0 read the clock") }})
	if !trades[0].Timestamp.Equal(start) {
		t.Errorf("first trade at %v, want Start %v", trades[0].Timestamp, start)
	}
	streams := map[string]int{}
	for i, tr := range trades {
		if tr.Timestamp.Before(start) || !tr.Timestamp.Before(start.Add(90*time.Second)) {
			t.Fatalf("trade %d at %v, outside [Start, Start+Duration)", i, tr.Timestamp)
		}
		if i > 0 && tr.Timestamp.Before(trades[i-1].Timestamp) {
			t.Fatalf("trade %d at %v before trade %d at %v without Jitter", i, tr.Timestamp, i-1, trades[i-1].Timestamp)
		}
		if tr.Timestamp.Location() != time.UTC || tr.Timestamp.Nanosecond()%1e6 != 0 {
			t.Fatalf("trade %d timestamp %v is not UTC milliseconds", i, tr.Timestamp)
		}
		if lat := tr.IngestionTimestamp.Sub(tr.Timestamp); lat < 2*time.Millisecond || lat > 30*time.Millisecond {
			t.Fatalf("trade %d ingested %v after it happened", i, lat)
		}
		if tr.QuoteVolume != tr.Price*tr.Quantity || tr.Side == ctc.SideUnknown {
			t.Fatalf("trade %d inconsistent: %+v", i, tr)
		}
		streams[tr.Exchange+" "+tr.Symbol]++
		scope := fmt.Sprintf("%s/sim/1/%d", tr.Symbol, start.UnixNano())
		if want := ctc.NewEventIDInt(tr.Exchange, scope, int64(streams[tr.Exchange+" "+tr.Symbol])); tr.EventID != want {
			t.Fatalf("trade %d id %v, want the stream's trade counter in the run's scope %v", i, tr.EventID, want)
		}
	}
	if len(streams) != 6 {
		t.Errorf("streams %v, want BTC, ETH and SOL on both exchanges", streams)
	}
	for k, n := range streams {
		if n < 90*5*0.8 || n > 90*5*1.2 { // Poisson(450): 20 % is more than 4 standard deviations
			t.Errorf("%s: %d trades in 90 s at rate 5", k, n)
		}
	}
}

// The detectors' thresholds with their defaults (DESIGN §4), checked here by computing what the
// detectors compute, so that the simulator's promises do not depend on the detectors' code.
const (
	whaleMin    = 100_000
	zMin        = 3.5
	spreadMin   = 0.5
	volumeWin   = time.Minute
	spreadWin   = 30 * time.Second
	historySize = 60
)

type key struct {
	exchange, symbol string
	window           int64 // window start, Unix ns
}

func TestInjectionsAreDetectable(t *testing.T) {
	t.Parallel()
	for _, seed := range []int64{1, 2, 3} {
		// An hour of warm-up gives the volume detector its full history before the first burst.
		cfg := Config{Seed: seed, Start: day.Add(17 * time.Second), WarmUp: time.Hour, Duration: time.Hour + 40*time.Minute}
		trades, events := run(t, cfg)
		checkInjections(t, seed, trades, events)
	}
}

func checkInjections(t *testing.T, seed int64, trades []ctc.Trade, events []Event) {
	kinds := map[Kind]int{}
	for _, e := range events {
		kinds[e.Kind]++
	}
	if kinds[Whale] < 6 || kinds[VolumeBurst] < 6 || kinds[SpreadDislocation] < 6 {
		t.Fatalf("seed %d: injected %v in 40 minutes, want about 7 of each", seed, kinds)
	}

	byID := map[uuid.UUID]ctc.Trade{}
	volume := map[key]float64{}
	type vw struct{ pq, q float64 }
	vwap := map[key]vw{}
	for _, tr := range trades {
		byID[tr.EventID] = tr
		ns := tr.Timestamp.UnixNano()
		volume[key{tr.Exchange, tr.Symbol, ns - ns%int64(volumeWin)}] += tr.QuoteVolume
		k := key{tr.Exchange, tr.Symbol, ns - ns%int64(spreadWin)}
		v := vwap[k]
		vwap[k] = vw{v.pq + tr.Price*tr.Quantity, v.q + tr.Quantity}
	}

	minZ, minDisl, maxNormal := math.Inf(1), math.Inf(1), 0.0
	whales := map[uuid.UUID]bool{}
	severities := map[string]bool{}
	inBurst := func(tr ctc.Trade) bool {
		for _, e := range events {
			if e.Kind == VolumeBurst && e.Exchange == tr.Exchange && e.Symbol == tr.Symbol &&
				!tr.Timestamp.Before(e.Start) && tr.Timestamp.Before(e.End) {
				return true
			}
		}
		return false
	}
	for _, e := range events {
		switch e.Kind {
		case Whale:
			tr, ok := byID[e.EventID]
			if !ok {
				t.Fatalf("seed %d: whale %v is not in the stream", seed, e.EventID)
			}
			if tr.QuoteVolume != e.Magnitude || tr.QuoteVolume <= whaleMin || !tr.Timestamp.Equal(e.Start) ||
				tr.Exchange != e.Exchange || tr.Symbol != e.Symbol {
				t.Errorf("seed %d: whale event %+v does not match its trade %+v", seed, e, tr)
			}
			whales[e.EventID] = true
			switch {
			case tr.QuoteVolume > 1_000_000:
				severities["critical"] = true
			case tr.QuoteVolume > 500_000:
				severities["high"] = true
			default:
				severities["medium"] = true
			}

		case VolumeBurst:
			w := e.Start.UnixNano()
			if w%int64(volumeWin) != 0 || e.End.Sub(e.Start) != volumeWin {
				t.Fatalf("seed %d: burst %v–%v is not one aligned minute", seed, e.Start, e.End)
			}
			var hist []float64
			for i := 1; i <= historySize; i++ {
				hist = append(hist, volume[key{e.Exchange, e.Symbol, w - int64(i)*int64(volumeWin)}])
			}
			mean, sd := meanSD(hist)
			z := (volume[key{e.Exchange, e.Symbol, w}] - mean) / sd
			minZ = math.Min(minZ, z)
			if !(z > zMin) {
				t.Errorf("seed %d: burst on %s %s at %v has z = %.2f, want > %v", seed, e.Exchange, e.Symbol, e.Start, z, zMin)
			}

		case SpreadDislocation:
			if e.Start.UnixNano()%int64(spreadWin) != 0 || e.End.Sub(e.Start) != 2*spreadWin || e.Exchange != ctc.Coinbase {
				t.Fatalf("seed %d: dislocation %+v is not two aligned 30 s windows on Coinbase", seed, e)
			}
		}
	}
	if len(severities) != 3 {
		t.Errorf("seed %d: whale severities %v, want medium, high and critical", seed, severities)
	}
	for _, tr := range trades {
		if whales[tr.EventID] {
			continue
		}
		if limit := 50_000.0; tr.QuoteVolume > limit && !inBurst(tr) || tr.QuoteVolume > whaleMin {
			t.Fatalf("seed %d: a normal trade of $%.0f: %+v", seed, tr.QuoteVolume, tr)
		}
	}

	// Every joined window: dislocated ones beyond the threshold, all others far below it.
	dislocated := map[key]bool{}
	for _, e := range events {
		if e.Kind == SpreadDislocation {
			for w := e.Start; w.Before(e.End); w = w.Add(spreadWin) {
				dislocated[key{"", e.Instrument, w.UnixNano()}] = true
			}
		}
	}
	lastTrade := trades[len(trades)-1].Timestamp.UnixNano()
	for k := range dislocated {
		if k.window+int64(spreadWin) > lastTrade {
			delete(dislocated, k)
		}
	}
	found := 0
	for k, b := range vwap {
		if k.exchange != ctc.Binance {
			continue
		}
		name := strings.TrimSuffix(k.symbol, "-USDT")
		c, ok := vwap[key{ctc.Coinbase, name + "-USD", k.window}]
		if !ok {
			continue
		}
		bp, cp := b.pq/b.q, c.pq/c.q
		spread := (bp - cp) / cp * 100
		if dislocated[key{"", name, k.window}] {
			found++
			minDisl = math.Min(minDisl, math.Abs(spread))
			if !(math.Abs(spread) > spreadMin) {
				t.Errorf("seed %d: dislocated %s window %v has spread %.3f %%, want beyond ±%v %%", seed, name,
					time.Unix(0, k.window).UTC(), spread, spreadMin)
			}
		} else if maxNormal = math.Max(maxNormal, math.Abs(spread)); math.Abs(spread) >= 0.1 {
			t.Errorf("seed %d: normal %s window %v has spread %.3f %%, want under 0.1 %%", seed, name,
				time.Unix(0, k.window).UTC(), spread)
		}
	}
	t.Logf("seed %d: %d trades, %v; smallest burst z %.1f, smallest dislocated |spread| %.2f %%, largest normal |spread| %.3f %%",
		seed, len(trades), kinds, minZ, minDisl, maxNormal)
	if found != len(dislocated) {
		t.Errorf("seed %d: %d dislocated windows have trades on both exchanges, want %d", seed, found, len(dislocated))
	}
}

// meanSD is the mean and the sample standard deviation (n − 1), as the volume detector computes them.
func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(xs)-1))
}

func TestInjectedReportsOnlyWhatWasEmitted(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Seed: 5, Start: day, InjectEvery: 20 * time.Second, Jitter: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uuid.UUID]bool{}
	var latest time.Time
	var rec ctc.Record
	for latest.Before(day.Add(10 * time.Minute)) {
		if err := s.Next(context.Background(), &rec); err != nil {
			t.Fatal(err)
		}
		seen[rec.Trade.EventID] = true
		if rec.Trade.Timestamp.After(latest) {
			latest = rec.Trade.Timestamp
		}
		for _, e := range s.Injected() {
			if e.Kind == Whale && !seen[e.EventID] {
				t.Fatalf("whale %v reported before its trade was emitted", e.EventID)
			}
			if e.Start.After(latest) {
				t.Fatalf("%s starting %v reported when the stream had only reached %v", e.Kind, e.Start, latest)
			}
		}
	}
	if n := len(s.Injected()); n < 25 {
		t.Errorf("%d events reported in ten minutes, want about 30", n)
	}
}

func TestJitterIsBounded(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		cfg := Config{
			Seed:        rapid.Int64().Draw(rt, "seed"),
			Start:       day.Add(time.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(rt, "offset"))),
			Duration:    time.Duration(rapid.Int64Range(int64(time.Second), int64(3*time.Minute)).Draw(rt, "duration")),
			Rate:        rapid.Float64Range(0.5, 20).Draw(rt, "rate"),
			InjectEvery: time.Duration(rapid.Int64Range(int64(MinInjectEvery), int64(time.Minute)).Draw(rt, "every")),
		}
		plain, plainEv := run(rt, cfg)
		cfg.Jitter = time.Duration(rapid.Int64Range(1, int64(10*time.Second)).Draw(rt, "jitter"))
		late, lateEv := run(rt, cfg)

		// Timestamps are in milliseconds, so the bound is Jitter rounded up to one.
		bound := (cfg.Jitter + time.Millisecond - 1).Truncate(time.Millisecond)
		var maxSeen time.Time
		for i, tr := range late {
			if lag := maxSeen.Sub(tr.Timestamp); lag > bound {
				rt.Fatalf("trade %d is %v behind the latest trade, Jitter is %v", i, lag, cfg.Jitter)
			}
			if tr.Timestamp.After(maxSeen) {
				maxSeen = tr.Timestamp
			}
		}
		// Jitter changes the order of delivery, and with it the ingestion times, nothing else.
		norm := func(ts []ctc.Trade) []ctc.Trade {
			ts = slices.Clone(ts)
			for i := range ts {
				ts[i].IngestionTimestamp = time.Time{}
			}
			slices.SortFunc(ts, func(a, b ctc.Trade) int { return bytes.Compare(a.EventID[:], b.EventID[:]) })
			return ts
		}
		if diff := gocmp.Diff(norm(plain), norm(late)); diff != "" {
			rt.Fatalf("Jitter changed the trades (-without +with):\n%s", diff)
		}
		// A bounded run reports every event by its end, whatever the delivery order.
		sorted := func(evs []Event) []Event {
			evs = slices.Clone(evs)
			slices.SortFunc(evs, func(a, b Event) int {
				return cmp.Or(a.Start.Compare(b.Start), strings.Compare(string(a.Kind), string(b.Kind)))
			})
			return evs
		}
		if diff := gocmp.Diff(sorted(plainEv), sorted(lateEv)); diff != "" {
			rt.Fatalf("Jitter changed the events (-without +with):\n%s", diff)
		}
	})
}

// fakeClock advances only when slept on.
type fakeClock struct {
	now    time.Time
	reads  int
	sleeps []time.Duration
	cancel bool
}

func (c *fakeClock) Now() time.Time { c.reads++; return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	if c.cancel {
		return context.Canceled
	}
	c.now = c.now.Add(d)
	return nil
}

func TestPacing(t *testing.T) {
	t.Parallel()
	wall0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &fakeClock{now: wall0}
	const speed = 10
	cfg := Config{Seed: 3, Start: day, WarmUp: time.Minute, Duration: 2 * time.Minute, Speed: speed,
		Now: clk.Now, Sleep: clk.Sleep}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	warmEnd := day.Add(time.Minute)
	var rec ctc.Record
	var last time.Time
	slept := 0
	for {
		err := s.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ts := rec.Trade.Timestamp
		if ts.Before(warmEnd) {
			if clk.reads != 0 || len(clk.sleeps) != 0 {
				t.Fatalf("the warm-up read the clock %d times", clk.reads)
			}
			continue
		}
		// A trade is never emitted before its due wall time, and a wait never lasts longer than
		// needed (pacing uses the trade's nanosecond event time, the timestamp is in ms).
		due := wall0.Add(ts.Sub(warmEnd) / speed)
		if clk.now.Before(due) || len(clk.sleeps) > slept && clk.now.After(due.Add(time.Millisecond/speed)) {
			t.Fatalf("trade at %v emitted at wall %v, due at %v", ts, clk.now, due)
		}
		slept = len(clk.sleeps)
		last = ts
		clk.now = clk.now.Add(time.Millisecond) // the consumer's own work
	}
	if len(clk.sleeps) < 60*30/2 {
		t.Errorf("%d sleeps for a minute at 30 trades a second", len(clk.sleeps))
	}
	for _, d := range clk.sleeps {
		if d <= 0 {
			t.Fatalf("asked to sleep %v", d)
		}
	}
	if want := wall0.Add(last.Sub(warmEnd) / speed); clk.now.Sub(want) > 2*time.Millisecond {
		t.Errorf("paced minute ended at wall %v, want about %v", clk.now, want)
	}
}

func TestCancelKeepsTheTrade(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{now: day}
	s, err := New(Config{Seed: 9, Start: day, Speed: 1, Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	var first, second, again ctc.Record
	if err := s.Next(context.Background(), &first); err != nil {
		t.Fatal(err)
	}
	clk.cancel = true
	if err := s.Next(context.Background(), &second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled sleep = %v, want context.Canceled", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Next(ctx, &second); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next on a cancelled context = %v, want context.Canceled", err)
	}
	clk.cancel = false
	if err := s.Next(context.Background(), &again); err != nil {
		t.Fatal(err)
	}
	if again.Position.Offset != 2 || again.Trade.EventID == first.Trade.EventID {
		t.Errorf("after a cancelled wait Next returned %v, want the second trade", again.Position)
	}
}

func TestNoAllocs(t *testing.T) {
	for _, jitter := range []time.Duration{0, time.Second} {
		s, err := New(Config{Seed: 1, Start: day, InjectEvery: -1, Jitter: jitter})
		if err != nil {
			t.Fatal(err)
		}
		var rec ctc.Record
		ctx := context.Background()
		for range 10000 { // let the delivery heap reach its size
			s.Next(ctx, &rec)
		}
		if n := testing.AllocsPerRun(10000, func() {
			if err := s.Next(ctx, &rec); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("Jitter %v: Next allocates %v times per trade", jitter, n)
		}
	}
}

func benchmarkNext(b *testing.B, cfg Config) {
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var rec ctc.Record
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Next(ctx, &rec); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNext(b *testing.B) {
	benchmarkNext(b, Config{Seed: 1, Start: day})
}

func BenchmarkNextJitter(b *testing.B) {
	benchmarkNext(b, Config{Seed: 1, Start: day, Jitter: 5 * time.Second})
}

// Two runs (another start, another seed) never give one id to two trades; one run always gives
// the same ids.
func TestEventIDsAreScopedToTheRun(t *testing.T) {
	ids := func(seed int64, start time.Time) []uuid.UUID {
		trades, _ := run(t, Config{Seed: seed, Start: start, Duration: 20 * time.Second, InjectEvery: -1})
		out := make([]uuid.UUID, len(trades))
		for i := range trades {
			out[i] = trades[i].EventID
		}
		return out
	}
	day := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	a := ids(1, day)
	if !slices.Equal(a, ids(1, day)) {
		t.Fatal("the same run gave other ids")
	}
	seen := map[uuid.UUID]bool{}
	for _, id := range a {
		seen[id] = true
	}
	for _, other := range [][]uuid.UUID{ids(1, day.Add(time.Minute)), ids(2, day)} {
		for _, id := range other {
			if seen[id] {
				t.Fatalf("two runs share event id %v", id)
			}
		}
	}
}

// A run resumed after its n-th trade (Seek) continues with exactly the trades and injected events
// the uninterrupted run has after it.
func TestSeekResumesTheSameRun(t *testing.T) {
	cfg := Config{Seed: 3, Start: time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC), Duration: 5 * time.Minute, InjectEvery: time.Minute}
	all, events := run(t, cfg)
	for _, n := range []int{0, 1, 777, len(all) - 1, len(all)} {
		s, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pos := ctc.Position{}
		if n > 0 {
			pos = ctc.Position{Partition: "sim", Offset: int64(n)}
		}
		if err := s.Seek(t.Context(), pos); err != nil {
			t.Fatal(err)
		}
		var rest []ctc.Trade
		for {
			var rec ctc.Record
			if err := s.Next(t.Context(), &rec); err != nil {
				break
			}
			if rec.Position.Offset != int64(n+len(rest)+1) {
				t.Fatalf("after seeking to %d: position %v", n, rec.Position)
			}
			rest = append(rest, rec.Trade)
		}
		if !slices.EqualFunc(rest, all[n:], func(a, b ctc.Trade) bool {
			return a.EventID == b.EventID && a.Timestamp.Equal(b.Timestamp) && a.Price == b.Price
		}) {
			t.Fatalf("after seeking to %d: %d trades, want the %d after it", n, len(rest), len(all)-n)
		}
		if n == len(all) && len(s.Injected()) != len(events) {
			t.Fatalf("events after seeking to the end: %d, want %d", len(s.Injected()), len(events))
		}
	}
	s, _ := New(cfg)
	if err := s.Seek(t.Context(), ctc.Position{Partition: "sim", Offset: int64(len(all) + 1)}); err == nil {
		t.Fatal("seeking past the end of a bounded run succeeded")
	}
	if err := s.Seek(t.Context(), ctc.Position{Partition: "other", Offset: 1}); err == nil {
		t.Fatal("seeking to another source's position succeeded")
	}
}

// A paced run resumed past its warm-up paces from the resumed trade: the next one is due at
// once, not after the event time already covered.
func TestSeekPacesFromTheResumedTrade(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	var slept []time.Duration
	cfg := Config{Seed: 3, Start: time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC), WarmUp: time.Minute, Duration: 10 * time.Minute, Speed: 10,
		Now:   func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Seek(t.Context(), ctc.Position{Partition: "sim", Offset: 5000}); err != nil {
		t.Fatal(err)
	}
	var rec ctc.Record
	var total time.Duration
	for range 50 {
		if err := s.Next(t.Context(), &rec); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range slept {
		total += d
	}
	if total > 2*time.Second {
		t.Fatalf("the resumed run slept %v over its first 50 trades (%d sleeps): it paced from the run's start", total, len(slept))
	}
}
