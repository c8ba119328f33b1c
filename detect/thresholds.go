package detect

import (
	"flag"

	"github.com/coattailcapital/ctc"
)

// Thresholds are the alert thresholds a command exposes, with the defaults of DESIGN §4. Whale and
// spread escalate by fixed factors: high and critical whales at 5× and 10× Whale, medium and high
// spreads at 2× and 4× Spread.
type Thresholds struct {
	Whale          float64 // quote volume of a medium whale
	ZMedium, ZHigh float64 // volume-spike |z|
	Spread         float64 // |spread %| of a low spread alert
	MinHistory     int     // windows of history before a volume alert
}

// DefaultThresholds returns DESIGN §4's thresholds.
func DefaultThresholds() Thresholds {
	return Thresholds{Whale: 100_000, ZMedium: 2.5, ZHigh: 3.5, Spread: 0.5, MinHistory: 10}
}

// RegisterFlags adds -whale, -z, -z-high, -spread and -min-history to fs, defaulting to th.
func (th *Thresholds) RegisterFlags(fs *flag.FlagSet) {
	fs.Float64Var(&th.Whale, "whale", th.Whale, "whale threshold in quote currency (high and critical are 5× and 10× it)")
	fs.Float64Var(&th.ZMedium, "z", th.ZMedium, "volume spike |z| threshold for a medium alert")
	fs.Float64Var(&th.ZHigh, "z-high", th.ZHigh, "volume spike |z| threshold for a high alert")
	fs.Float64Var(&th.Spread, "spread", th.Spread, "spread alert threshold in percent (medium and high are 2× and 4× it)")
	fs.IntVar(&th.MinHistory, "min-history", th.MinHistory, "windows of history a key needs before a volume alert")
}

// Detectors returns the three built-in detectors with these thresholds, or the first threshold
// that cannot work.
func (th Thresholds) Detectors() ([]ctc.Detector, error) {
	v, err := NewVolume(VolumeConfig{Medium: th.ZMedium, High: th.ZHigh, MinHistory: th.MinHistory})
	if err != nil {
		return nil, err
	}
	wc := WhaleConfig{Medium: th.Whale, High: 5 * th.Whale, Critical: 10 * th.Whale}
	if err := wc.Validate(); err != nil {
		return nil, err
	}
	s, err := NewSpread(SpreadConfig{Low: th.Spread, Medium: 2 * th.Spread, High: 4 * th.Spread})
	if err != nil {
		return nil, err
	}
	return []ctc.Detector{v, NewWhale(wc), s}, nil
}
