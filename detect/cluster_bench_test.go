package detect_test

import (
	"context"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/source/sim"
)

// simTrades is an hour of the simulated market as a pipeline delivers it: three instruments on
// two exchanges at 5 trades a second each, with every kind of injection, whale clusters included.
func simTrades(b *testing.B, jitter time.Duration) []ctc.Trade {
	src, err := sim.New(sim.Config{Seed: 1, Start: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), Duration: time.Hour,
		WhaleClusters: true, Jitter: jitter})
	if err != nil {
		b.Fatal(err)
	}
	var trades []ctc.Trade
	var rec ctc.Record
	for src.Next(context.Background(), &rec) == nil {
		trades = append(trades, rec.Trade)
	}
	return trades
}

// benchmarkObserve reports the cost of Observe per trade over the stream, starting a fresh
// detector each time the stream is used up (outside the timing).
func benchmarkObserve(b *testing.B, trades []ctc.Trade, newDetector func() ctc.Detector) {
	d := newDetector()
	var out ctc.Output
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i == len(trades) {
			b.StopTimer()
			d.Advance(ctc.EndOfTime, &out)
			d, out, i = newDetector(), ctc.Output{}, 0
			b.StartTimer()
		}
		d.Observe(&trades[i], &out)
		i++
		if len(out.Alerts) > 1024 {
			out.Reset()
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	inOrder, jittered := simTrades(b, 0), simTrades(b, 5*time.Second)
	newCluster := func() ctc.Detector { d, _ := detect.NewCluster(detect.ClusterConfig{}); return d }
	newVolume := func() ctc.Detector { d, _ := detect.NewVolume(detect.VolumeConfig{}); return d }
	newWhale := func() ctc.Detector { return detect.NewWhale(detect.WhaleConfig{}) }
	for _, c := range []struct {
		name   string
		trades []ctc.Trade
		new    func() ctc.Detector
	}{
		{"cluster", inOrder, newCluster},
		{"cluster_jitter5s", jittered, newCluster},
		{"whale", inOrder, newWhale},
		{"volume", inOrder, newVolume},
	} {
		b.Run(c.name, func(b *testing.B) { benchmarkObserve(b, c.trades, c.new) })
	}
}
