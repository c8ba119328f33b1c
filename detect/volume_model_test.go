package detect_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/anomaly"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/window"
)

// smallAnomaly makes the anomaly model alert within the 40 minutes of ctctest's trades.
var smallAnomaly = anomaly.Config{Warmup: 5, Horizon: 16, Blocks: 4, Hush: 2, Quiet: 3, Bins: 4, SeasonMin: 1}

func anomalyVolume(t testing.TB) detect.VolumeConfig {
	t.Helper()
	return detect.VolumeConfig{Model: detect.VolumeAnomaly, Anomaly: smallAnomaly}
}

// volumeAnomalyOracle computes VolumeAnomaly's output from all the trades at once: every key's
// series of window totals, empty windows as zero (at most a horizon of them in a row), through
// one scorer per key. Totals are exact sums, as the detector's, so that a record is the same
// record in both.
func volumeAnomalyOracle(cfg detect.VolumeConfig) func([]ctc.Trade) ctc.Output {
	return func(trades []ctc.Trade) ctc.Output {
		const size = int64(time.Minute)
		type key struct{ sym, ex string }
		totals := map[key]map[int64]*window.Sum{}
		for _, t := range trades {
			k := key{t.Symbol, t.Exchange}
			ts := t.Timestamp.UnixNano()
			start := ts - ((ts%size)+size)%size
			if totals[k] == nil {
				totals[k] = map[int64]*window.Sum{}
			}
			if totals[k][start] == nil {
				totals[k][start] = new(window.Sum)
			}
			totals[k][start].Add(t.QuoteVolume)
		}
		out := ctc.Output{Volumes: volumeOracle(trades).Volumes}
		for k, ws := range totals {
			starts := make([]int64, 0, len(ws))
			for s := range ws {
				starts = append(starts, s)
			}
			slices.Sort(starts)
			s := anomaly.New(cfg.Anomaly)
			for i, st := range starts {
				if i > 0 {
					gap := (st-starts[i-1])/size - 1
					for j := max(0, gap-int64(s.Config().Horizon)); j < gap; j++ {
						s.Score(time.Unix(0, starts[i-1]+(j+1)*size).UTC(), 0)
					}
				}
				total := ws[st].Float64()
				score := s.Score(time.Unix(0, st).UTC(), total)
				sev, th := ctc.Severity(0), 0.0
				switch {
				case score >= cfg.ScoreHigh:
					sev, th = ctc.High, cfg.ScoreHigh
				case score >= cfg.ScoreMedium:
					sev, th = ctc.Medium, cfg.ScoreMedium
				default:
					continue
				}
				start, end := time.Unix(0, st).UTC(), time.Unix(0, st+size).UTC()
				out.Alerts = append(out.Alerts, ctc.Alert{
					AlertID:   ctc.NewAlertID(ctc.VolumeSpike, k.ex, k.sym, ctc.WindowKey(start)),
					AlertType: ctc.VolumeSpike, Symbol: k.sym, Exchange: k.ex, Severity: sev, ZScore: score,
					ThresholdValue: th, ActualValue: total, WindowStart: start, DetectedAt: end,
					TTLEpoch: end.Add(ctc.AlertTTL).Unix(),
				})
			}
		}
		return out
	}
}

func TestVolumeAnomalyLaws(t *testing.T) {
	t.Parallel()
	cfg := anomalyVolume(t)
	full := cfg
	full.ScoreMedium, full.ScoreHigh = 0.01, 0.1
	ctctest.TestDetector(t, ctctest.DetectorSpec{
		New: func() ctc.Detector {
			d, err := detect.NewVolume(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return stripMessages(d)
		},
		Lateness: 30 * time.Second,
		Oracle:   volumeAnomalyOracle(full),
	})
}

// The anomaly model alerts on a burst after a calm, with the severity its cut-offs give and the
// score in ZScore.
func TestVolumeAnomalyAlertsOnBurst(t *testing.T) {
	t.Parallel()
	d, err := detect.NewVolume(anomalyVolume(t))
	if err != nil {
		t.Fatal(err)
	}
	var out ctc.Output
	for m := range 30 {
		q := 1.0 + float64(m%3)*0.1
		if m == 25 {
			q = 50
		}
		tr := trade(ctc.Binance, "BTC-USDT", int64(m), time.Duration(m)*time.Minute+time.Second, 100, q, ctc.Buy)
		d.Observe(&tr, &out)
	}
	d.Advance(ctc.EndOfTime, &out)
	var got []ctc.Alert
	for _, a := range out.Alerts {
		if a.ActualValue > 1000 {
			got = append(got, a)
		}
	}
	if len(got) != 1 || got[0].Severity != ctc.High || !(got[0].ZScore >= 0.1 && got[0].ZScore <= 1) || got[0].ThresholdValue != 0.1 {
		t.Fatalf("alerts on the burst: %+v, want one high alert with its score in ZScore", got)
	}
	if !strings.Contains(got[0].Message, "anomaly score") {
		t.Errorf("message %q does not say it is an anomaly score", got[0].Message)
	}
}

// A snapshot taken under the z-score model restores into the anomaly model (its scorers start
// afresh), and the anomaly model's snapshot round-trips.
func TestVolumeRestoreAcrossModels(t *testing.T) {
	t.Parallel()
	z, _ := detect.NewVolume(detect.VolumeConfig{})
	a, _ := detect.NewVolume(anomalyVolume(t))
	var out ctc.Output
	for m := range 20 {
		tr := trade(ctc.Binance, "ETH-USDT", int64(m), time.Duration(m)*time.Minute, 10, 1+float64(m%4), ctc.Sell)
		z.Observe(&tr, &out)
		a.Observe(&tr, &out)
	}
	zs, err := z.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := detect.NewVolume(anomalyVolume(t))
	if err := b.Restore(zs); err != nil {
		t.Fatalf("anomaly model refused a z-score snapshot: %v", err)
	}
	as, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c, _ := detect.NewVolume(anomalyVolume(t))
	if err := c.Restore(as); err != nil {
		t.Fatal(err)
	}
	cs, _ := c.Snapshot()
	if string(cs) != string(as) {
		t.Error("anomaly model's snapshot does not round-trip")
	}
}

func TestVolumeModelValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  detect.VolumeConfig
		want string
	}{
		{detect.VolumeConfig{Model: "ewma"}, "model"},
		{detect.VolumeConfig{ScoreMedium: 0.5, ScoreHigh: 0.2}, "cut-offs"},
		{detect.VolumeConfig{ScoreHigh: 2}, "cut-offs"},
		{detect.VolumeConfig{Model: detect.VolumeAnomaly, Anomaly: anomaly.Config{Smooth: 3}}, "smooth"},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error about %s", tc.cfg, err, tc.want)
		}
	}
	if err := (detect.VolumeConfig{Model: detect.VolumeAnomaly}).Validate(); err != nil {
		t.Errorf("default anomaly model: %v", err)
	}
}

// The anomaly model on three hours of one trade a minute, then a minute ten times the usual: it
// alerts once, high, on the first window beyond anything in the key's last 4,096 windows. (It
// learns for its first 150 windows.)
func ExampleVolumeConfig_anomaly() {
	d, _ := detect.NewVolume(detect.VolumeConfig{Model: detect.VolumeAnomaly})
	var out ctc.Output
	for m := range 200 {
		qty := 10.0 + float64(m%7)
		if m == 190 {
			qty = 100
		}
		tr := trade("binance", "BTC-USDT", int64(m), time.Duration(m)*time.Minute, 100, qty, ctc.Buy)
		d.Observe(&tr, &out)
	}
	d.Advance(ctc.EndOfTime, &out)
	for _, a := range out.Alerts {
		fmt.Printf("%s %s %s score=%.2f at %s\n", a.AlertType, a.Severity, a.Symbol, a.ZScore, a.DetectedAt.Format(time.TimeOnly))
	}
	// Output:
	// volume_spike high BTC-USDT score=0.93 at 13:11:00
}
