package detect_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/anomaly"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/memory"
	"github.com/coattailcapital/ctc/source/sim"
)

// TestVolumeModelsOnSimulator compares the volume models on the simulator's injected bursts:
// recall (a burst is found when its key alerts in its window) and false alerts (alerts in no
// burst's and no whale's window of their key) per key-hour. It runs hours of market per seed,
// so it is off unless CTC_VOLUME_EVAL is set (to the hours per seed, e.g. 24).
func TestVolumeModelsOnSimulator(t *testing.T) {
	hours := 0
	fmt.Sscan(os.Getenv("CTC_VOLUME_EVAL"), &hours)
	if hours <= 0 {
		t.Skip("set CTC_VOLUME_EVAL=<hours per seed> to compare the volume models on the simulator")
	}
	models := []struct {
		name string
		cfg  detect.VolumeConfig
	}{
		{"zscore (default)", detect.VolumeConfig{}},
		{"anomaly", detect.VolumeConfig{Model: detect.VolumeAnomaly}},
		{"anomaly 30-min", detect.VolumeConfig{Model: detect.VolumeAnomaly, Anomaly: anomaly.Config{Horizon: 30, Blocks: 10}}},
	}
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range models {
		var bursts, found, medium, high, falseMed, falseHigh int
		var keyHours float64
		for _, seed := range []int64{1, 2, 3} {
			src, err := sim.New(sim.Config{Seed: seed, Start: start, Duration: time.Duration(hours) * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			d, err := detect.NewVolume(m.cfg)
			if err != nil {
				t.Fatal(err)
			}
			chain, _ := quality.New(quality.Config{})
			mem := memory.New()
			p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(d), ctc.WithSinks(mem))
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			alerts := mem.Contents().Output.Alerts
			type kw struct {
				sym, ex string
				w       time.Time
			}
			explained := map[kw]bool{}
			for _, e := range src.Injected() {
				switch e.Kind {
				case sim.VolumeBurst:
					k := kw{e.Symbol, e.Exchange, e.Start.Truncate(time.Minute)}
					explained[k] = true
					if e.Start.Before(start.Add(time.Hour)) {
						continue // the first hour is both models' warm-up
					}
					bursts++
					for _, a := range alerts {
						if a.Symbol == e.Symbol && a.Exchange == e.Exchange && a.WindowStart.Equal(k.w) {
							found++
							break
						}
					}
				case sim.Whale:
					explained[kw{e.Symbol, e.Exchange, e.Start.Truncate(time.Minute)}] = true
				}
			}
			keys := map[[2]string]bool{}
			for _, a := range alerts {
				keys[[2]string{a.Symbol, a.Exchange}] = true
				if a.WindowStart.Before(start.Add(time.Hour)) {
					continue
				}
				if a.Severity == ctc.High {
					high++
				} else {
					medium++
				}
				if !explained[kw{a.Symbol, a.Exchange, a.WindowStart}] {
					if a.Severity == ctc.High {
						falseHigh++
					} else {
						falseMed++
					}
				}
			}
			keyHours += 6 * float64(hours-1) // 3 instruments on 2 exchanges, after the first hour
		}
		t.Logf("%-18s bursts %d, found %d (recall %.3f); alerts medium %d high %d; false medium %d high %d = %.3f per key-hour (high only %.3f)",
			m.name, bursts, found, float64(found)/float64(bursts), medium, high, falseMed, falseHigh,
			float64(falseMed+falseHigh)/keyHours, float64(falseHigh)/keyHours)
	}
}
