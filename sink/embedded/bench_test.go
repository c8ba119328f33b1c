package embedded_test

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// benchStore returns a store holding n alerts of the last 24 h across 3 types and 8 symbols.
func benchStore(b *testing.B, n int) (*embedded.Store, string) {
	b.Helper()
	c := newClock(testNow)
	s, path := open(b, embedded.WithClock(c.Now), embedded.WithJanitorInterval(0))
	alerts := genAlerts(99, n, testNow, 23*time.Hour)
	for i := 0; i < n; i += 1000 {
		if err := s.Write(context.Background(), batchOf(alerts[i:min(i+1000, n)]...)); err != nil {
			b.Fatal(err)
		}
	}
	return s, path
}

// BenchmarkQuery measures each access pattern of the API with 100,000 alerts stored and the API's
// default limit of 50.
func BenchmarkQuery(b *testing.B) {
	s, _ := benchStore(b, 100_000)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    func(i int) ctc.AlertQuery
	}{
		{"type", func(i int) ctc.AlertQuery { return ctc.AlertQuery{Type: testTypes[i%3], Limit: 50} }},
		{"symbol", func(i int) ctc.AlertQuery { return ctc.AlertQuery{Symbol: testSymbols[i%8], Limit: 50} }},
		{"type_since", func(i int) ctc.AlertQuery {
			return ctc.AlertQuery{Type: testTypes[i%3], Since: testNow.Add(-time.Hour), Limit: 50}
		}},
		{"all", func(i int) ctc.AlertQuery { return ctc.AlertQuery{Limit: 50} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				got, err := s.QueryAlerts(ctx, bc.q(i))
				if err != nil || len(got) != 50 {
					b.Fatalf("%d alerts, %v", len(got), err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}

// BenchmarkQueryParallel is the API server's case: many concurrent readers.
func BenchmarkQueryParallel(b *testing.B) {
	s, _ := benchStore(b, 100_000)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := s.QueryAlerts(context.Background(), ctc.AlertQuery{Type: testTypes[i%3], Limit: 50}); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
}

// BenchmarkWrite measures batches of new alerts, each batch one transaction, onto a store that
// already holds 100,000: "recent" as the pipeline writes them (event time moving forward, a little
// disorder within a batch), "backfill" as a reprocessing run of the past day would (each alert
// inserted among the stored ones in the time indexes). trades_only is the common batch.
func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
		at   func(r *rand.Rand, n uint64) time.Time
	}{
		{"recent/alerts=1", 1, recent},
		{"recent/alerts=10", 10, recent},
		{"recent/alerts=100", 100, recent},
		{"backfill/alerts=10", 10, func(r *rand.Rand, n uint64) time.Time {
			return testNow.Add(-time.Duration(r.Int64N(int64(23 * time.Hour))))
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, _ := benchStore(b, 100_000)
			proto := genAlerts(7, bc.size, testNow, time.Minute)
			batch := batchOf(make([]ctc.Alert, bc.size)...)
			r := rand.New(rand.NewPCG(1, 2))
			ctx := context.Background()
			b.ReportAllocs()
			n := uint64(0)
			for b.Loop() {
				for j := range batch.Output.Alerts {
					a := proto[j]
					binary.BigEndian.PutUint64(a.AlertID[8:], n)
					a.DetectedAt = bc.at(r, n)
					a.TTLEpoch = a.DetectedAt.Add(ctc.AlertTTL).Unix()
					batch.Output.Alerts[j] = a
					n++
				}
				if err := s.Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
	b.Run("trades_only", func(b *testing.B) {
		s, _ := benchStore(b, 1000)
		batch := &ctc.Batch{Trades: make([]ctc.Trade, 500)}
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Write(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// recent is the detection time of the nth alert written live: a millisecond apart, up to 20 ms out
// of order.
func recent(r *rand.Rand, n uint64) time.Time {
	return testNow.Add(time.Duration(n)*time.Millisecond - time.Duration(r.IntN(20))*time.Millisecond)
}

// BenchmarkOpen measures opening a store of 100,000 alerts, ready for queries, and closing it.
func BenchmarkOpen(b *testing.B) {
	s, path := benchStore(b, 100_000)
	if err := s.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	c := newClock(testNow)
	b.ReportAllocs()
	for b.Loop() {
		s, err := embedded.Open(path, embedded.WithClock(c.Now), embedded.WithJanitorInterval(0))
		if err != nil {
			b.Fatal(err)
		}
		if got, err := s.QueryAlerts(context.Background(), ctc.AlertQuery{Limit: 1}); err != nil || len(got) != 1 {
			b.Fatalf("%d alerts, %v", len(got), err)
		}
		s.Close(context.Background())
	}
}

// BenchmarkCompact measures a rewrite (VACUUM) of a store of 100,000 live alerts.
func BenchmarkCompact(b *testing.B) {
	s, _ := benchStore(b, 100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Compact(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSymbols measures the dashboard's symbol list over 100,000 alerts and a day of volume and
// spread windows: a seek per distinct symbol, not a scan.
func BenchmarkSymbols(b *testing.B) {
	s, _ := benchStore(b, 100_000)
	ctx := context.Background()
	for h := range 24 {
		if err := s.Write(ctx, aggregates(testNow.Add(-time.Duration(h)*time.Hour))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if got, err := s.Symbols(ctx); err != nil || len(got) != len(testSymbols)+1 {
			b.Fatalf("%v, %v", got, err)
		}
	}
}
