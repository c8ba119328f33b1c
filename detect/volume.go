package detect

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"fmt"
	"math"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/window"
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
}

func (c VolumeConfig) withDefaults() VolumeConfig {
	c.Window = cmp.Or(c.Window, time.Minute)
	c.Lateness = cmp.Or(c.Lateness, 30*time.Second)
	c.History = cmp.Or(c.History, 60)
	c.MinHistory = cmp.Or(c.MinHistory, 10)
	c.Medium = cmp.Or(c.Medium, 2.5)
	c.High = cmp.Or(c.High, 3.5)
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
}

// Volume raises volume_spike alerts: a (symbol, exchange) window whose total quote volume is more
// than Medium (or High) sample standard deviations away from the mean of the key's previous History
// windows. Windows without trades count as zero once the key has been seen; they produce no
// aggregate row and no alert of their own. Every closed window is emitted as a VolumeWindow.
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
		v.hist[p.Key] = h
	} else {
		// The windows between the key's previous one and this one had no trades: they count as zero.
		gap := (p.Start-h.LastStart)/size - 1
		for i := int64(0); i < gap && i < int64(v.cfg.History); i++ {
			h.Rolling.Push(0)
		}
	}
	h.LastStart = p.Start
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

type volumeState struct {
	Windows []byte
	Keys    []volumeKey
	Hist    []volumeHistory
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
		st.Hist = append(st.Hist, *v.hist[k])
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
	if err := v.win.UnmarshalBinary(st.Windows); err != nil {
		return fmt.Errorf("volume: restore: %w", err)
	}
	v.hist = make(map[volumeKey]*volumeHistory, len(st.Keys))
	for i, k := range st.Keys {
		h := st.Hist[i]
		v.hist[k] = &h
	}
	return nil
}
