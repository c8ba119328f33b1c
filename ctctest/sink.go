package ctctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// SinkFeatures declares what a sink stores, so that TestSink checks only what the sink promises.
type SinkFeatures struct {
	// Trades, Alerts, Volumes, Spreads, Whales, DeadLetters and Late say which record kinds the sink
	// stores. Records of other kinds are still written to it (the pipeline hands every sink whole
	// batches) and must be accepted, but what read returns of them is ignored.
	Trades, Alerts, Volumes, Spreads, Whales, DeadLetters, Late bool
	// IdempotentAlerts says that writing an alert whose alert_id is already stored stores it once,
	// as the hot alert stores do: a replay after a restart writes the same alerts again.
	IdempotentAlerts bool
	// Unordered says that the sink may return records in another order than they were written (a
	// table partitioned by day, a key-value store): records are then compared as sorted multisets.
	Unordered bool
}

// TestSink checks that a sink meets the contract of ctc.Sink, and of ctc.Flusher and ctc.Closer if
// it implements them. Every subtest calls newSink for a fresh, empty sink; newSink should register
// any cleanup with t.Cleanup. read returns everything the sink has made durable as one batch, in
// the order stored; TestSink calls it only after a successful Flush (or, for a sink without Flush,
// after Write) — and after Close, so read must work on a closed sink (read the files, or use a
// client of its own). read may call t.Fatal. The batch's Position is ignored.
//
// The rules checked, each in its own subtest:
//
//   - RoundTrip: several batches of every declared kind, with realistic values, unicode and quotes
//     in messages, every severity and non-UTF-8 dead-letter bytes, read back equal to what was
//     written and in the same order (unless Unordered).
//   - BatchReuse: the caller overwrites the batch in place and refills it as soon as Write returns
//     (the pipeline does), so a sink copies what it keeps, dead-letter bytes included.
//   - EmptyBatch: an empty batch is written without error and stores nothing.
//   - Flush: Flush with nothing written succeeds, and after each Flush read sees every write so far.
//   - Close: Close succeeds and keeps what was flushed; Write after Close returns an error and
//     stores nothing; a second Close may return an error but must not panic.
//   - CancelledContext: Write with an already-cancelled context either returns an error that wraps
//     context.Canceled and stores nothing of the batch, or returns nil and stores all of it — never
//     part of it. A synchronous local sink should check ctx.Err() before anything else and return
//     it. Flush with the cancelled context may fail too; afterwards Write and Flush with a live
//     context work and read sees exactly what was stored.
//   - IdempotentAlerts (if declared): writing alerts again, identical or with a later emitted_at,
//     leaves one alert per alert_id, equal to one of the versions written.
//   - ExactValues: floats from 1e-8 to 1e12 (and across the encoders' format boundaries), int64
//     offsets and millisecond timestamps from 1970 to 2099, in any time zone, read back exactly.
//
// Times are compared as instants, so a sink may return them in UTC; an empty dead-letter Data
// may come back nil.
func TestSink(t *testing.T, f SinkFeatures, newSink func(t *testing.T) ctc.Sink, read func(t *testing.T, s ctc.Sink) *ctc.Batch) {
	t.Helper()
	if f.IdempotentAlerts && !f.Alerts {
		t.Fatal("ctctest: SinkFeatures.IdempotentAlerts needs Alerts")
	}
	s := &sinkSuite{f: f, newSink: newSink, read: read}
	t.Run("RoundTrip", s.roundTrip)
	t.Run("BatchReuse", s.batchReuse)
	t.Run("EmptyBatch", s.emptyBatch)
	t.Run("Flush", s.flush)
	t.Run("Close", s.close)
	t.Run("CancelledContext", s.cancelledContext)
	t.Run("IdempotentAlerts", s.idempotentAlerts)
	t.Run("ExactValues", s.exactValues)
}

type sinkSuite struct {
	f       SinkFeatures
	newSink func(t *testing.T) ctc.Sink
	read    func(t *testing.T, s ctc.Sink) *ctc.Batch
}

func (s *sinkSuite) roundTrip(t *testing.T) {
	sk := s.newSink(t)
	var want ctc.Batch
	for i := range 4 {
		b := sampleBatch(uint64(i), 3+i)
		mustWrite(t, sk, b)
		appendBatch(&want, b)
	}
	mustFlush(t, sk)
	s.check(t, sk, &want)
}

func (s *sinkSuite) batchReuse(t *testing.T) {
	sk := s.newSink(t)
	b := sampleBatch(10, 6)
	var want ctc.Batch
	appendBatch(&want, b)
	mustWrite(t, sk, b)

	// What the pipeline does: the source overwrites the buffers the dead letters point into, and
	// the next batch is built in the same slices.
	scribble(b)
	next := sampleBatch(11, 4)
	refill(b, next)
	appendBatch(&want, next)
	mustWrite(t, sk, b)
	scribble(b)
	b.Reset()

	mustFlush(t, sk)
	s.check(t, sk, &want)
}

func (s *sinkSuite) emptyBatch(t *testing.T) {
	sk := s.newSink(t)
	if err := sk.Write(t.Context(), &ctc.Batch{}); err != nil {
		t.Fatalf("Write of an empty batch: %v", err)
	}
	mustFlush(t, sk)
	s.check(t, sk, &ctc.Batch{})

	// An emptied batch with storage behind its slices is as empty as a zero one.
	b := sampleBatch(20, 3)
	var want ctc.Batch
	appendBatch(&want, b)
	mustWrite(t, sk, b)
	b.Reset()
	if err := sk.Write(t.Context(), b); err != nil {
		t.Fatalf("Write of a reset batch: %v", err)
	}
	mustFlush(t, sk)
	s.check(t, sk, &want)
}

func (s *sinkSuite) flush(t *testing.T) {
	sk := s.newSink(t)
	fl, ok := sk.(ctc.Flusher)
	if !ok {
		t.Skipf("%T does not implement ctc.Flusher", sk)
	}
	if err := fl.Flush(t.Context()); err != nil {
		t.Fatalf("Flush with nothing written: %v", err)
	}
	s.check(t, sk, &ctc.Batch{})
	var want ctc.Batch
	for i := range 3 {
		b := sampleBatch(uint64(30+i), 2+i)
		mustWrite(t, sk, b)
		appendBatch(&want, b)
		if err := fl.Flush(t.Context()); err != nil {
			t.Fatalf("Flush after batch %d: %v", i, err)
		}
		s.check(t, sk, &want)
	}
	if err := fl.Flush(t.Context()); err != nil {
		t.Fatalf("Flush with nothing new: %v", err)
	}
	s.check(t, sk, &want)
}

func (s *sinkSuite) close(t *testing.T) {
	sk := s.newSink(t)
	cl, ok := sk.(ctc.Closer)
	if !ok {
		t.Skipf("%T does not implement ctc.Closer", sk)
	}
	b := sampleBatch(40, 4)
	var want ctc.Batch
	appendBatch(&want, b)
	mustWrite(t, sk, b)
	mustFlush(t, sk)
	if err := cl.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := sk.Write(t.Context(), sampleBatch(41, 4)); err == nil {
		t.Error("Write after Close returned nil, want an error")
	}
	s.check(t, sk, &want)
	_ = cl.Close(t.Context()) // may fail; must not panic
}

func (s *sinkSuite) cancelledContext(t *testing.T) {
	sk := s.newSink(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var want ctc.Batch
	b := sampleBatch(50, 5)
	err := sk.Write(ctx, b)
	switch {
	case err == nil:
		appendBatch(&want, b)
	case !errors.Is(err, context.Canceled):
		t.Errorf("Write with a cancelled context returned %v, want nil or an error wrapping context.Canceled", err)
	}
	if fl, ok := sk.(ctc.Flusher); ok {
		_ = fl.Flush(ctx) // may fail; must not panic, and the next Flush must still work
	}
	b = sampleBatch(51, 3)
	appendBatch(&want, b)
	mustWrite(t, sk, b)
	mustFlush(t, sk)
	s.check(t, sk, &want)
}

func (s *sinkSuite) idempotentAlerts(t *testing.T) {
	if !s.f.IdempotentAlerts {
		t.Skip("sink does not declare IdempotentAlerts")
	}
	sk := s.newSink(t)
	first := sampleBatch(60, 6)
	var want ctc.Batch
	appendBatch(&want, first)
	mustWrite(t, sk, first)

	again := &ctc.Batch{Output: ctc.Output{Alerts: slices.Clone(first.Output.Alerts)}}
	mustWrite(t, sk, again)

	// A replay after a restart emits the same alerts at a later processing time.
	later := &ctc.Batch{Output: ctc.Output{Alerts: slices.Clone(first.Output.Alerts)}}
	for i := range later.Output.Alerts {
		later.Output.Alerts[i].EmittedAt = later.Output.Alerts[i].EmittedAt.Add(90 * time.Second)
	}
	fresh := sampleBatch(61, 3).Output.Alerts
	later.Output.Alerts = append(later.Output.Alerts, fresh...)
	mustWrite(t, sk, later)
	mustFlush(t, sk)

	got := s.readNormal(t, sk)
	// Which version of a re-written alert a store keeps (first write or last) is its choice.
	versions := map[uuid.UUID][]ctc.Alert{}
	for _, a := range slices.Concat(first.Output.Alerts, later.Output.Alerts) {
		versions[a.AlertID] = append(versions[a.AlertID], normalAlert(a))
	}
	seen := map[uuid.UUID]bool{}
	for _, a := range got.Output.Alerts {
		if seen[a.AlertID] {
			t.Errorf("alert %s stored more than once", a.AlertID)
			continue
		}
		seen[a.AlertID] = true
		vs, ok := versions[a.AlertID]
		if !ok {
			t.Errorf("alert %s stored but never written", a.AlertID)
			continue
		}
		if !slices.ContainsFunc(vs, func(v ctc.Alert) bool { return cmp.Equal(v, a) }) {
			t.Errorf("alert %s differs from every version written (-first +stored):\n%s", a.AlertID, cmp.Diff(vs[0], a))
		}
	}
	for id := range versions {
		if !seen[id] {
			t.Errorf("alert %s written but not stored", id)
		}
	}
	got.Output.Alerts, want.Output.Alerts = nil, nil
	s.compare(t, &want, got)
}

func (s *sinkSuite) exactValues(t *testing.T) {
	sk := s.newSink(t)
	b := extremeBatch()
	mustWrite(t, sk, b)
	mustFlush(t, sk)
	s.check(t, sk, b)
}

func mustWrite(t *testing.T, s ctc.Sink, b *ctc.Batch) {
	t.Helper()
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func mustFlush(t *testing.T, s ctc.Sink) {
	t.Helper()
	if fl, ok := s.(ctc.Flusher); ok {
		if err := fl.Flush(t.Context()); err != nil {
			t.Fatalf("Flush: %v", err)
		}
	}
}

// check reads the sink back and compares it with want.
func (s *sinkSuite) check(t *testing.T, sk ctc.Sink, want *ctc.Batch) {
	t.Helper()
	s.compare(t, want, s.readNormal(t, sk))
}

func (s *sinkSuite) readNormal(t *testing.T, sk ctc.Sink) *ctc.Batch {
	t.Helper()
	got := s.read(t, sk)
	if got == nil {
		got = &ctc.Batch{}
	}
	return s.normalize(got)
}

func (s *sinkSuite) compare(t *testing.T, want, got *ctc.Batch) {
	t.Helper()
	if diff := cmp.Diff(s.normalize(want), s.normalize(got)); diff != "" {
		t.Errorf("stored records differ from those written (-written +stored):\n%s", diff)
	}
}

// normalize returns a copy of b holding only the declared kinds, with times in UTC, empty slices
// nil and, for an Unordered sink, every kind sorted by its JSON encoding, so that cmp sees only
// differences the contract forbids.
func (s *sinkSuite) normalize(b *ctc.Batch) *ctc.Batch {
	f := s.f
	var n ctc.Batch
	if f.Trades {
		n.Trades = normalSlice(b.Trades, normalTrade, f.Unordered)
	}
	if f.Alerts {
		n.Output.Alerts = normalSlice(b.Output.Alerts, normalAlert, f.Unordered)
	}
	if f.Volumes {
		n.Output.Volumes = normalSlice(b.Output.Volumes, func(v ctc.VolumeWindow) ctc.VolumeWindow {
			v.WindowStart, v.WindowEnd = v.WindowStart.UTC(), v.WindowEnd.UTC()
			return v
		}, f.Unordered)
	}
	if f.Spreads {
		n.Output.Spreads = normalSlice(b.Output.Spreads, func(v ctc.SpreadWindow) ctc.SpreadWindow {
			v.WindowStart, v.WindowEnd = v.WindowStart.UTC(), v.WindowEnd.UTC()
			return v
		}, f.Unordered)
	}
	if f.Whales {
		n.Output.Whales = normalSlice(b.Output.Whales, func(w ctc.WhaleTrade) ctc.WhaleTrade {
			w.DetectedAt = w.DetectedAt.UTC()
			w.Trade = normalTrade(w.Trade)
			return w
		}, f.Unordered)
	}
	if f.Late {
		n.Output.Late = normalSlice(b.Output.Late, func(l ctc.LateTrade) ctc.LateTrade {
			l.Trade = normalTrade(l.Trade)
			return l
		}, f.Unordered)
	}
	if f.DeadLetters {
		n.DeadLetters = normalSlice(b.DeadLetters, func(d ctc.DeadLetter) ctc.DeadLetter {
			if len(d.Data) == 0 {
				d.Data = nil
			} else {
				d.Data = bytes.Clone(d.Data)
			}
			return d
		}, f.Unordered)
	}
	return &n
}

// appendJSONer is every record type: they all encode themselves, which gives Unordered comparisons
// a total order (their encodings, as Canonical sorts by) without a comparison function per type.
type appendJSONer[T any] interface {
	*T
	AppendJSON([]byte) []byte
}

func normalSlice[T any, P appendJSONer[T]](s []T, norm func(T) T, sorted bool) []T {
	if len(s) == 0 {
		return nil
	}
	out := make([]T, len(s))
	for i, v := range s {
		out[i] = norm(v)
	}
	if sorted {
		sortByJSON(out, func(v *T) []byte { return P(v).AppendJSON(nil) })
	}
	return out
}

func normalTrade(t ctc.Trade) ctc.Trade {
	t.Timestamp, t.IngestionTimestamp = t.Timestamp.UTC(), t.IngestionTimestamp.UTC()
	return t
}

func normalAlert(a ctc.Alert) ctc.Alert {
	a.WindowStart, a.DetectedAt, a.EmittedAt = a.WindowStart.UTC(), a.DetectedAt.UTC(), a.EmittedAt.UTC()
	return a
}

// appendBatch appends deep copies of b's records to dst, the way a correct sink stores them.
func appendBatch(dst, b *ctc.Batch) {
	dst.Trades = append(dst.Trades, b.Trades...)
	dst.Output.Append(&b.Output)
	for _, d := range b.DeadLetters {
		d.Data = bytes.Clone(d.Data)
		dst.DeadLetters = append(dst.DeadLetters, d)
	}
	dst.Position = b.Position
}

// scribble overwrites every record of b in place, dead-letter bytes included, so that a sink that
// kept a reference instead of a copy now holds garbage.
func scribble(b *ctc.Batch) {
	junk := ctc.Trade{Exchange: "scribbled", Symbol: "XXX-XXX", Price: -1, Quantity: -1, Timestamp: time.Unix(1, 0)}
	for i := range b.Trades {
		b.Trades[i] = junk
	}
	for i := range b.Output.Alerts {
		b.Output.Alerts[i] = ctc.Alert{AlertType: "scribbled", Message: "scribbled", ZScore: -1}
	}
	for i := range b.Output.Volumes {
		b.Output.Volumes[i] = ctc.VolumeWindow{Symbol: "scribbled", TradeCount: -1}
	}
	for i := range b.Output.Spreads {
		b.Output.Spreads[i] = ctc.SpreadWindow{Symbol: "scribbled", SpreadPct: -1}
	}
	for i := range b.Output.Whales {
		b.Output.Whales[i] = ctc.WhaleTrade{Trade: junk}
	}
	for i := range b.Output.Late {
		b.Output.Late[i] = ctc.LateTrade{Detector: "scribbled", Trade: junk}
	}
	for i := range b.DeadLetters {
		d := &b.DeadLetters[i]
		for j := range d.Data {
			d.Data[j] = 'X'
		}
		d.Reason, d.Detail, d.Position = "scribbled", "scribbled", ctc.Position{}
	}
}

// refill resets b and copies next into b's existing storage, dead-letter bytes into the buffers the
// previous dead letters used, as a pipeline reusing its batch and a source reusing its read buffer do.
func refill(b, next *ctc.Batch) {
	old := b.DeadLetters
	b.Reset()
	b.Trades = append(b.Trades, next.Trades...)
	b.Output.Append(&next.Output)
	for i, d := range next.DeadLetters {
		var buf []byte
		if i < len(old) {
			buf = old[i].Data[:0]
		}
		d.Data = append(buf, d.Data...)
		b.DeadLetters = append(b.DeadLetters, d)
	}
	b.Position = next.Position
}

var (
	sampleEpoch = time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)

	sampleInstruments = []struct {
		base  string
		price float64 // typical price in USD
		tick  int     // decimals of the price
		lot   int     // decimals of the quantity
	}{
		{"BTC", 67_250, 2, 5},
		{"ETH", 3_480, 2, 4},
		{"SOL", 148.5, 3, 3},
		{"DOGE", 0.1625, 5, 0},
	}

	// sampleMessages exercise what string encoders get wrong: quotes, backslashes, control characters,
	// HTML-sensitive bytes, JSON's line separators and characters outside the BMP.
	sampleMessages = []string{
		"volume 3.8σ above the 1 h mean",
		`whale "bought" 15 BTC \ $1.2M`,
		"spread Binance ↔ Coinbase 0.72 % <above> & rising",
		"line one\nline two\ttabbed\r",
		"séparateur\u2028de ligne\u2029fin 🐋🚀 中文",
		"",
	}

	sampleSeverities = []ctc.Severity{ctc.Low, ctc.Medium, ctc.High, ctc.Critical}
	sampleAlertTypes = []ctc.AlertType{ctc.VolumeSpike, ctc.Whale, ctc.Spread, "liquidation_cascade"}
)

// quantize rounds v to the given number of decimals and returns the float64 nearest that decimal,
// as parsing an exchange's "0.16232" gives (dividing by an exact power of ten rounds correctly;
// multiplying by 0.00001 would not).
func quantize(v float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(v*p) / p
}

func sampleTime(ms int64) time.Time { return sampleEpoch.Add(time.Duration(ms) * time.Millisecond) }

// sampleBatch returns a deterministic batch with n records of every kind (n+1 trades and dead
// letters) whose values look like a real market's.
func sampleBatch(seed uint64, n int) *ctc.Batch {
	r := rand.New(rand.NewPCG(seed, 0xc7c7e57))
	offset := int64(seed) * 1000
	trade := func(i int) ctc.Trade {
		in := sampleInstruments[r.IntN(len(sampleInstruments))]
		exchange, symbol := ctc.Binance, in.base+"-USDT"
		if r.IntN(2) == 1 {
			exchange, symbol = ctc.Coinbase, in.base+"-USD"
		}
		price := quantize(in.price*(1+0.01*r.NormFloat64()), in.tick)
		qty := quantize(r.ExpFloat64()*5000/in.price+1/math.Pow10(in.lot), in.lot)
		side := ctc.Buy
		if r.IntN(2) == 1 {
			side = ctc.Sell
		}
		ts := sampleTime(offset*37 + int64(i)*137 + r.Int64N(100))
		t := ctc.Trade{
			EventID:  ctc.NewEventIDInt(exchange, symbol, 3_000_000_000+offset+int64(i)),
			Exchange: exchange, Symbol: symbol, Price: price, Quantity: qty, QuoteVolume: price * qty,
			Side: side, Timestamp: ts,
		}
		if r.IntN(4) != 0 {
			t.IngestionTimestamp = ts.Add(time.Duration(5+r.IntN(500)) * time.Millisecond)
		}
		return t
	}
	window := func(i int, size time.Duration) time.Time {
		return sampleTime(offset * 60_000).Truncate(size).Add(time.Duration(i) * size)
	}

	b := &ctc.Batch{}
	for i := range n + 1 {
		b.Trades = append(b.Trades, trade(i))
	}
	for i := range n {
		typ := sampleAlertTypes[(int(seed)+i)%len(sampleAlertTypes)]
		t := b.Trades[i]
		start := window(i, time.Minute)
		detected := start.Add(time.Minute)
		a := ctc.Alert{
			AlertID: ctc.NewAlertID(typ, t.Exchange, t.Symbol, ctc.WindowKey(start)), AlertType: typ,
			Symbol: t.Symbol, Exchange: t.Exchange, Severity: sampleSeverities[(int(seed)+i)%len(sampleSeverities)],
			ZScore: 2.5 + r.ExpFloat64(), ThresholdValue: 2.5, ActualValue: quantize(r.Float64()*4e6, 2),
			WindowStart: start, DetectedAt: detected, Message: sampleMessages[(int(seed)+i)%len(sampleMessages)],
			TTLEpoch: detected.Add(ctc.AlertTTL).Unix(),
		}
		if i%3 != 2 {
			a.EmittedAt = detected.Add(time.Duration(r.IntN(2000)) * time.Millisecond)
		}
		b.Output.Alerts = append(b.Output.Alerts, a)

		total, buy := 0.0, 0.0
		for range 1 + r.IntN(40) {
			q := quantize(r.ExpFloat64()*20_000, 2)
			total += q
			if r.IntN(2) == 0 {
				buy += q
			}
		}
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{
			Symbol: t.Symbol, Exchange: t.Exchange, WindowStart: start, WindowEnd: detected,
			TradeCount: int64(1 + r.IntN(5000)), TotalVolume: total, AvgPrice: t.Price * (1 + r.NormFloat64()/1000),
			MaxPrice: t.Price * 1.002, MinPrice: t.Price * 0.998, BuyVolume: buy, SellVolume: total - buy,
		})

		in := sampleInstruments[i%len(sampleInstruments)]
		bin := in.price * (1 + r.NormFloat64()/500)
		cb := in.price * (1 + r.NormFloat64()/500)
		sstart := window(i, 30*time.Second)
		b.Output.Spreads = append(b.Output.Spreads, ctc.SpreadWindow{
			Symbol: in.base, WindowStart: sstart, WindowEnd: sstart.Add(30 * time.Second),
			BinanceVWAP: bin, CoinbaseVWAP: cb, SpreadPct: (bin - cb) / cb * 100,
		})

		wt := trade(n + 1 + i)
		wt.Quantity = quantize(100_000*(1.01+3*r.ExpFloat64())/wt.Price, 5)
		wt.QuoteVolume = wt.Price * wt.Quantity
		sev, threshold := ctc.Medium, 100_000.0
		switch {
		case wt.QuoteVolume > 1_000_000:
			sev, threshold = ctc.Critical, 1_000_000
		case wt.QuoteVolume > 500_000:
			sev, threshold = ctc.High, 500_000
		}
		b.Output.Whales = append(b.Output.Whales, ctc.WhaleTrade{
			AlertID:  ctc.NewAlertID(ctc.Whale, wt.Exchange, wt.Symbol, wt.EventID.String()),
			Severity: sev, ThresholdValue: threshold, DetectedAt: wt.Timestamp, Trade: wt,
		})

		lt := trade(2*n + 1 + i)
		lt.Timestamp = lt.Timestamp.Add(-3 * time.Minute)
		b.Output.Late = append(b.Output.Late, ctc.LateTrade{Detector: []string{"volume_spike", "spread"}[i%2], Trade: lt})
	}
	deadData := [][]byte{
		[]byte(`{"event_id":"x","exchange":"binance","price":"NaN"}`),
		{0xff, 0xfe, '{', '"', 'p', '"', ':', 0x80, 0xc3, 0x28, '}'}, // not UTF-8: a mangled record
		[]byte("{\"symbol\":\"BTC-USDT\",\"note\":\"nul\x00 and \u2028\"}"),
		[]byte(`{"exchange":"kraken","symbol":"BTC-USD","price":-1,"quantity":0.5}`),
		{},
	}
	reasons := []ctc.Reason{ctc.Malformed, ctc.Malformed, ctc.Incomplete, ctc.Invalid, ctc.Malformed}
	details := []string{
		`price: want a number, got "NaN"`,
		"invalid character 'ÿ' looking for beginning of value",
		"missing event_id, price, quantity, timestamp",
		`exchange "kraken" is not known; price must be > 0, got -1`,
		"empty record",
	}
	for i := range n + 1 {
		k := (int(seed) + i) % len(deadData)
		b.DeadLetters = append(b.DeadLetters, ctc.DeadLetter{
			Reason: reasons[k], Detail: details[k], Data: bytes.Clone(deadData[k]),
			Position: ctc.Position{Partition: fmt.Sprintf("shardId-%012d", seed%4), Offset: offset + int64(i)},
		})
	}
	b.Position = ctc.Position{Partition: fmt.Sprintf("shardId-%012d", seed%4), Offset: offset + int64(n)}
	return b
}

// extremeBatch returns records holding the values storage formats lose: floats at both ends of the
// range prices take and on either side of the JSON encoder's switch to exponent form (1e-6 and
// 1e21), values with no short decimal form, int64 extremes, and millisecond timestamps from the
// sampleEpoch to 2099, some in a non-UTC zone.
func extremeBatch() *ctc.Batch {
	floats := []float64{1e-8, 1e12, 0.1 + 0.2, 1.0 / 3, 65_432.109_876_543_21, 9.99e-7, 1e-6, 2.5e-7,
		123_456_789_012.345_67, -3.750_000_000_000_000_4, 9.999_999_999_999_999e20, 1e21, 0.000_123_45, -1e-8}
	ist := time.FixedZone("IST", 5*3600+1800)
	times := []time.Time{
		time.UnixMilli(1).UTC(),
		time.Date(2024, 2, 29, 23, 59, 59, 999e6, time.UTC),
		time.Date(2038, 1, 19, 3, 14, 8, 123e6, time.UTC),
		time.Date(2099, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(2024, 7, 1, 5, 30, 0, 1e6, ist),
		time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	fl := func(i int) float64 { return floats[i%len(floats)] }
	tm := func(i int) time.Time { return times[i%len(times)] }

	b := &ctc.Batch{}
	for i := range len(floats) {
		t := ctc.Trade{
			EventID: ctc.NewEventIDInt(ctc.Binance, "PEPE-USDT", int64(i)), Exchange: ctc.Binance, Symbol: "PEPE-USDT",
			Price: math.Abs(fl(i)), Quantity: math.Abs(fl(i + 1)), QuoteVolume: math.Abs(fl(i + 2)),
			Side: ctc.Side(1 + i%2), Timestamp: tm(i), IngestionTimestamp: tm(i + 1),
		}
		b.Trades = append(b.Trades, t)
		b.Output.Alerts = append(b.Output.Alerts, ctc.Alert{
			AlertID: ctc.NewAlertID(ctc.VolumeSpike, t.Exchange, t.Symbol, fmt.Sprint("extreme-", i)), AlertType: ctc.VolumeSpike,
			Symbol: t.Symbol, Exchange: t.Exchange, Severity: sampleSeverities[i%len(sampleSeverities)], ZScore: -fl(i),
			ThresholdValue: fl(i + 3), ActualValue: fl(i + 4), WindowStart: tm(i), DetectedAt: tm(i + 2),
			Message: sampleMessages[i%len(sampleMessages)], TTLEpoch: tm(i + 2).Add(ctc.AlertTTL).Unix(), EmittedAt: tm(i + 3),
		})
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{
			Symbol: t.Symbol, Exchange: t.Exchange, WindowStart: tm(i), WindowEnd: tm(i + 1),
			TradeCount: []int64{0, 1, math.MaxInt64, 1 << 53}[i%4], TotalVolume: fl(i), AvgPrice: fl(i + 5),
			MaxPrice: fl(i + 6), MinPrice: fl(i + 7), BuyVolume: fl(i + 8), SellVolume: fl(i + 9),
		})
		b.Output.Spreads = append(b.Output.Spreads, ctc.SpreadWindow{
			Symbol: "PEPE", WindowStart: tm(i), WindowEnd: tm(i + 4),
			BinanceVWAP: fl(i + 1), CoinbaseVWAP: fl(i + 2), SpreadPct: -fl(i + 3),
		})
		b.Output.Whales = append(b.Output.Whales, ctc.WhaleTrade{
			AlertID: ctc.NewAlertID(ctc.Whale, t.Exchange, t.Symbol, t.EventID.String()), Severity: ctc.Critical,
			ThresholdValue: fl(i + 10), DetectedAt: tm(i + 5), Trade: t,
		})
		b.Output.Late = append(b.Output.Late, ctc.LateTrade{Detector: "volume_spike", Trade: t})
		b.DeadLetters = append(b.DeadLetters, ctc.DeadLetter{
			Reason: ctc.Invalid, Detail: fmt.Sprint(fl(i)), Data: []byte(fmt.Sprintf(`{"price":%v}`, fl(i))),
			Position: ctc.Position{Partition: "p", Offset: []int64{0, math.MaxInt64, 1 << 53, 1<<53 + 1}[i%4]},
		})
	}
	b.Position = ctc.Position{Partition: "p", Offset: 1<<53 + 1}
	return b
}
