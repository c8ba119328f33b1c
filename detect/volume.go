package detect

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"fmt"
	"math"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/anomaly"
	"github.com/coattailcapital/ctc/window"
)

// VolumeModel names how the volume detector judges a key's closed window.
type VolumeModel string

const (
	// VolumeZScore is DESIGN §4's rule and the default: |z| of the window's total against the
	// mean and sample standard deviation of the key's previous History windows.
	VolumeZScore VolumeModel = "zscore"
	// VolumeAnomaly scores each key's series of window totals with package anomaly (one Scorer
	// per key): a window alerts when its score reaches ScoreMedium, and is high from ScoreHigh.
	VolumeAnomaly VolumeModel = "anomaly"
)

// VolumeConfig configures the volume-spike detector. Zero fields take the defaults of DESIGN §4.
type VolumeConfig struct {
	// Window is the tumbling window size; default 60 s.
	Window time.Duration
	// Lateness is how far behind the newest trade a trade may arrive and still count; default 30 s.
	Lateness time.Duration
	// History is how many previous windows of a key the mean and deviation are taken over; default 60 (1 h).
	History int
	// MinHistory is how many previous windows a key needs before it can alert; default 10.
	MinHistory int
	// Medium and High are the |z| thresholds; defaults 2.5 and 3.5.
	Medium, High float64

	// Model picks how a window is judged: VolumeZScore (the default) or VolumeAnomaly.
	Model VolumeModel
	// Anomaly configures VolumeAnomaly's scorers. Zero fields take anomaly.DefaultConfig, except
	// Bins, which defaults to one part per window of the day (1,440 for 60 s windows, at most
	// 16,384), so that each part of the daily profile sees one window a day.
	Anomaly anomaly.Config
	// ScoreMedium and ScoreHigh are VolumeAnomaly's cut-offs on the score in [0, 1]; defaults
	// 0.01 and 0.1. A window's value scores e/(1+e) when it passes the highest (or lowest) of the
	// key's last Anomaly.Horizon windows by e times their range, so the defaults read: medium when
	// a window passes the horizon's extremes by 1 % of their range, high by 11 %. A record of the
	// moving average or of the residual from the daily profile scores less (weights 0.7, 0.3).
	ScoreMedium, ScoreHigh float64
}

func (c VolumeConfig) withDefaults() VolumeConfig {
	c.Window = cmp.Or(c.Window, time.Minute)
	c.Lateness = cmp.Or(c.Lateness, 30*time.Second)
	c.History = cmp.Or(c.History, 60)
	c.MinHistory = cmp.Or(c.MinHistory, 10)
	c.Medium = cmp.Or(c.Medium, 2.5)
	c.High = cmp.Or(c.High, 3.5)
	c.Model = cmp.Or(c.Model, VolumeZScore)
	if c.Anomaly.Bins == 0 && c.Window > 0 {
		c.Anomaly.Bins = int(min(int64(24*time.Hour/c.Window), 1<<14))
		c.Anomaly.Bins = max(c.Anomaly.Bins, 1)
	}
	c.ScoreMedium = cmp.Or(c.ScoreMedium, 0.01)
	c.ScoreHigh = cmp.Or(c.ScoreHigh, 0.1)
	return c
}

// Validate reports the first setting that cannot work, after defaults are applied.
func (c VolumeConfig) Validate() error {
	c = c.withDefaults()
	if err := (window.Spec{Size: c.Window, Lateness: c.Lateness}).Validate(); err != nil {
		return fmt.Errorf("volume: %w", err)
	}
	switch {
	case c.History < 2:
		return fmt.Errorf("volume: history must be >= 2 windows, got %d", c.History)
	case c.MinHistory < 2 || c.MinHistory > c.History:
		return fmt.Errorf("volume: min history must be 2..%d windows, got %d", c.History, c.MinHistory)
	case !(c.Medium > 0) || !(c.High >= c.Medium):
		return fmt.Errorf("volume: thresholds must satisfy 0 < medium <= high, got medium %g, high %g", c.Medium, c.High)
	case c.Model != VolumeZScore && c.Model != VolumeAnomaly:
		return fmt.Errorf("volume: model must be %q or %q, got %q", VolumeZScore, VolumeAnomaly, c.Model)
	case !(c.ScoreMedium > 0) || !(c.ScoreHigh >= c.ScoreMedium) || c.ScoreHigh > 1:
		return fmt.Errorf("volume: score cut-offs must satisfy 0 < medium <= high <= 1, got medium %g, high %g", c.ScoreMedium, c.ScoreHigh)
	}
	if c.Model == VolumeAnomaly {
		if err := c.Anomaly.Validate(); err != nil {
			return fmt.Errorf("volume: %w", err)
		}
	}
	return nil
}

type volumeKey struct {
	Symbol, Exchange string
}

func compareVolumeKey(a, b volumeKey) int {
	return cmp.Or(cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Exchange, b.Exchange))
}

// volumeAcc sums with window.Sum so that a window's totals do not depend on the order its trades
// arrived in: that is what makes reordering within the lateness bound change nothing, to the bit.
type volumeAcc struct {
	Count            int64
	Quote, PQ, Qty   window.Sum
	Buy, Sell        window.Sum
	MaxPrice, MinPrc float64
}

// volumeHistory is one key's closed windows, oldest first.
type volumeHistory struct {
	Rolling   window.Rolling
	LastStart int64
	scorer    *anomaly.Scorer // VolumeAnomaly's, kept in volumeState.Scorers
}

// Volume raises volume_spike alerts: a (symbol, exchange) window whose total quote volume is more
// than Medium (or High) sample standard deviations away from the mean of the key's previous History
// windows. Windows without trades count as zero once the key has been seen; they produce no
// aggregate row and no alert of their own. Every closed window is emitted as a VolumeWindow.
//
// With Model VolumeAnomaly the rule is package anomaly's instead: each key's window totals go
// through a Scorer of its own, and a window alerts medium when its score reaches ScoreMedium,
// high from ScoreHigh, with the score in the alert's ZScore and the cut-off it passed in
// ThresholdValue. The scorers' state is part of the detector's snapshot.
type Volume struct {
	cfg  VolumeConfig
	win  *window.Tumbling[volumeKey, volumeAcc]
	hist map[volumeKey]*volumeHistory
	buf  []float64
}

var (
	_ ctc.Detector    = (*Volume)(nil)
	_ ctc.Snapshotter = (*Volume)(nil)
)

// NewVolume returns a volume-spike detector.
func NewVolume(cfg VolumeConfig) (*Volume, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	w, err := window.NewTumbling[volumeKey, volumeAcc](window.Spec{Size: cfg.Window, Lateness: cfg.Lateness}, compareVolumeKey)
	if err != nil {
		return nil, err
	}
	return &Volume{cfg: cfg, win: w, hist: make(map[volumeKey]*volumeHistory)}, nil
}

// Name returns "volume_spike".
func (v *Volume) Name() string { return string(ctc.VolumeSpike) }

// Observe adds the trade to its window.
func (v *Volume) Observe(t *ctc.Trade, out *ctc.Output) {
	acc := v.win.Add(t.Timestamp.UnixNano(), volumeKey{t.Symbol, t.Exchange})
	if acc == nil {
		out.Late = append(out.Late, ctc.LateTrade{Detector: v.Name(), Trade: *t})
		return
	}
	if acc.Count == 0 || t.Price > acc.MaxPrice {
		acc.MaxPrice = t.Price
	}
	if acc.Count == 0 || t.Price < acc.MinPrc {
		acc.MinPrc = t.Price
	}
	acc.Count++
	acc.Quote.Add(t.QuoteVolume)
	acc.PQ.Add(t.Price * t.Quantity)
	acc.Qty.Add(t.Quantity)
	if t.Side == ctc.Buy {
		acc.Buy.Add(t.QuoteVolume)
	} else {
		acc.Sell.Add(t.QuoteVolume)
	}
	v.fire(out)
}

// Advance fires the windows the event time t closes.
func (v *Volume) Advance(t time.Time, out *ctc.Output) {
	v.win.Advance(unixNano(t))
	v.fire(out)
}

func (v *Volume) fire(out *ctc.Output) {
	for _, p := range v.win.Ready() {
		v.close(p, out)
	}
}

func (v *Volume) close(p window.Pane[volumeKey, volumeAcc], out *ctc.Output) {
	size := int64(v.cfg.Window)
	start, end := time.Unix(0, p.Start).UTC(), time.Unix(0, p.End).UTC()
	total := p.Acc.Quote.Float64()
	out.Volumes = append(out.Volumes, ctc.VolumeWindow{
		Symbol: p.Key.Symbol, Exchange: p.Key.Exchange,
		WindowStart: start, WindowEnd: end,
		TradeCount:  p.Acc.Count,
		TotalVolume: total,
		AvgPrice:    p.Acc.PQ.Float64() / p.Acc.Qty.Float64(),
		MaxPrice:    p.Acc.MaxPrice, MinPrice: p.Acc.MinPrc,
		BuyVolume: p.Acc.Buy.Float64(), SellVolume: p.Acc.Sell.Float64(),
	})

	h := v.hist[p.Key]
	if h == nil {
		h = &volumeHistory{Rolling: window.NewRolling(v.cfg.History)}
		if v.cfg.Model == VolumeAnomaly {
			h.scorer = anomaly.New(v.cfg.Anomaly)
		}
		v.hist[p.Key] = h
	} else {
		// The windows between the key's previous one and this one had no trades: they count as zero.
		gap := (p.Start-h.LastStart)/size - 1
		for i := int64(0); i < gap && i < int64(v.cfg.History); i++ {
			h.Rolling.Push(0)
		}
		if h.scorer != nil {
			// At most a horizon of them: older ones would have left the scorer's memory anyway.
			fill := min(gap, int64(h.scorer.Config().Horizon))
			for i := gap - fill; i < gap; i++ {
				h.scorer.Score(time.Unix(0, h.LastStart+(i+1)*size).UTC(), 0)
			}
		}
	}
	h.LastStart = p.Start
	if h.scorer != nil {
		h.Rolling.Push(total)
		v.judge(p, h.scorer.Score(start, total), total, out)
		return
	}
	n, mean, sd := h.Rolling.Len(), h.Rolling.Mean(), h.Rolling.StdDev()
	h.Rolling.Push(total)
	if n < v.cfg.MinHistory || sd == 0 {
		return
	}
	z := (total - mean) / sd
	sev, threshold, ok := grade(math.Abs(z), rung{v.cfg.High, ctc.High}, rung{v.cfg.Medium, ctc.Medium})
	if !ok {
		return
	}
	out.Alerts = append(out.Alerts, ctc.Alert{
		AlertID:        ctc.NewAlertID(ctc.VolumeSpike, p.Key.Exchange, p.Key.Symbol, ctc.WindowKey(start)),
		AlertType:      ctc.VolumeSpike,
		Symbol:         p.Key.Symbol,
		Exchange:       p.Key.Exchange,
		Severity:       sev,
		ZScore:         z,
		ThresholdValue: threshold,
		ActualValue:    total,
		WindowStart:    start,
		DetectedAt:     end,
		Message: fmt.Sprintf("%s on %s: %s traded in %s, z=%.2f against a mean of %s over %d windows",
			p.Key.Symbol, p.Key.Exchange, money(total), v.cfg.Window, z, money(mean), n),
		TTLEpoch: ttl(end),
	})
}

// judge raises VolumeAnomaly's alert for a window that scored score.
func (v *Volume) judge(p window.Pane[volumeKey, volumeAcc], score, total float64, out *ctc.Output) {
	sev, threshold, ok := grade(score, rung{math.Nextafter(v.cfg.ScoreHigh, 0), ctc.High}, rung{math.Nextafter(v.cfg.ScoreMedium, 0), ctc.Medium})
	if !ok {
		return
	}
	threshold = math.Nextafter(threshold, 2)
	start, end := time.Unix(0, p.Start).UTC(), time.Unix(0, p.End).UTC()
	out.Alerts = append(out.Alerts, ctc.Alert{
		AlertID:        ctc.NewAlertID(ctc.VolumeSpike, p.Key.Exchange, p.Key.Symbol, ctc.WindowKey(start)),
		AlertType:      ctc.VolumeSpike,
		Symbol:         p.Key.Symbol,
		Exchange:       p.Key.Exchange,
		Severity:       sev,
		ZScore:         score,
		ThresholdValue: threshold,
		ActualValue:    total,
		WindowStart:    start,
		DetectedAt:     end,
		Message: fmt.Sprintf("%s on %s: %s traded in %s, anomaly score %.3f (cut-off %g): beyond the key's recent range",
			p.Key.Symbol, p.Key.Exchange, money(total), v.cfg.Window, score, threshold),
		TTLEpoch: ttl(end),
	})
}

type volumeState struct {
	Windows []byte
	Keys    []volumeKey
	Hist    []volumeHistory
	// Scorers holds VolumeAnomaly's scorer snapshots, one per key in Keys; empty for VolumeZScore.
	Scorers [][]byte
}

// Snapshot saves the open windows and every key's history.
func (v *Volume) Snapshot() ([]byte, error) {
	w, err := v.win.MarshalBinary()
	if err != nil {
		return nil, err
	}
	st := volumeState{Windows: w}
	for k := range v.hist {
		st.Keys = append(st.Keys, k)
	}
	sortFunc(st.Keys, compareVolumeKey)
	for _, k := range st.Keys {
		h := v.hist[k]
		st.Hist = append(st.Hist, *h)
		if h.scorer != nil {
			b, err := h.scorer.Snapshot()
			if err != nil {
				return nil, fmt.Errorf("volume: snapshot: %w", err)
			}
			st.Scorers = append(st.Scorers, b)
		}
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(st); err != nil {
		return nil, fmt.Errorf("volume: snapshot: %w", err)
	}
	return b.Bytes(), nil
}

// Restore replaces the detector's state with a snapshot.
func (v *Volume) Restore(b []byte) error {
	var st volumeState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return fmt.Errorf("volume: restore: %w", err)
	}
	if len(st.Keys) != len(st.Hist) {
		return fmt.Errorf("volume: restore: %d keys but %d histories", len(st.Keys), len(st.Hist))
	}
	if len(st.Scorers) != 0 && len(st.Scorers) != len(st.Keys) {
		return fmt.Errorf("volume: restore: %d keys but %d scorers", len(st.Keys), len(st.Scorers))
	}
	scorers := make([]*anomaly.Scorer, len(st.Keys))
	if v.cfg.Model == VolumeAnomaly {
		// A snapshot taken under the z-score model has no scorers: theirs start afresh.
		for i := range scorers {
			scorers[i] = anomaly.New(v.cfg.Anomaly)
			if len(st.Scorers) > 0 {
				if err := scorers[i].Restore(st.Scorers[i]); err != nil {
					return fmt.Errorf("volume: restore: key %v: %w", st.Keys[i], err)
				}
			}
		}
	}
	if err := v.win.UnmarshalBinary(st.Windows); err != nil {
		return fmt.Errorf("volume: restore: %w", err)
	}
	v.hist = make(map[volumeKey]*volumeHistory, len(st.Keys))
	for i, k := range st.Keys {
		h := st.Hist[i]
		h.scorer = scorers[i]
		v.hist[k] = &h
	}
	return nil
}
