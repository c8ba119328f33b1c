package anomaly

import (
	"math"
	"runtime"
	"testing"
	"time"
)

// benchSeries is a day-cycled series with noise and the odd spike, like a volume per minute.
func benchSeries(n int) ([]time.Time, []float64) {
	ts := make([]time.Time, n)
	vs := make([]float64, n)
	x := uint64(1)
	for i := range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		noise := float64(x%1000) / 1000
		ts[i] = t0.Add(time.Duration(i) * time.Minute)
		vs[i] = 100 + 40*math.Sin(2*math.Pi*float64(i)/1440) + 10*noise
		if x%997 == 0 {
			vs[i] *= 5
		}
	}
	return ts, vs
}

// BenchmarkScore is the cost of scoring one value with the default configuration.
func BenchmarkScore(b *testing.B) {
	ts, vs := benchSeries(1 << 16)
	s := New(DefaultConfig())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		k := i & (len(vs) - 1)
		s.Score(ts[k].Add(time.Duration(i>>16)*time.Hour), vs[k])
	}
}

// BenchmarkScorerMemory reports the heap one Scorer holds (B/scorer) and its snapshot size.
func BenchmarkScorerMemory(b *testing.B) {
	var keep []*Scorer
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	for b.Loop() {
		keep = append(keep, New(DefaultConfig()))
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/float64(len(keep)), "B/scorer")
	snap, _ := keep[0].Snapshot()
	b.ReportMetric(float64(len(snap)), "B/snapshot")
}

// BenchmarkSnapshotRestore is the cost of a checkpoint round trip of one default Scorer.
func BenchmarkSnapshotRestore(b *testing.B) {
	ts, vs := benchSeries(10000)
	s := New(DefaultConfig())
	for i := range vs {
		s.Score(ts[i], vs[i])
	}
	r := New(DefaultConfig())
	b.ReportAllocs()
	for b.Loop() {
		snap, _ := s.Snapshot()
		if err := r.Restore(snap); err != nil {
			b.Fatal(err)
		}
	}
}
