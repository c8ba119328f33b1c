package anomaly

import (
	"fmt"
	"math"
	"time"
)

// Config sets the model's few knobs. Zero fields take the defaults of DefaultConfig; a negative
// weight turns its feature off. One configuration is meant to serve every series.
type Config struct {
	// Warmup is how many values the model only learns from before it may score above 0;
	// default 150.
	Warmup int
	// Horizon is how many values back the model remembers each feature's extremes; default 4096.
	Horizon int
	// Blocks is how many pieces the horizon is kept in: each costs two numbers per feature, and
	// the oldest piece is forgotten whole; default 64.
	Blocks int
	// Hush is how many values a feature stays silent after it alerts; default 20.
	Hush int
	// Quiet is how many values after any alert only a higher score alerts; default 100.
	Quiet int
	// Smooth is the weight of a new value in the moving averages; default 0.04.
	Smooth float64
	// LevelWeight scales the score of a record of the moving average; default 0.7.
	LevelWeight float64
	// Period is the cycle over which the model learns the usual value at each time (a day), cut
	// into Bins parts; default 24 h in 96 parts. A negative Period turns the profile off. A part
	// learns from every value that falls in it, so Bins should give each part a few values per
	// period at most: 96 parts of 15 minutes suit a value every 5 minutes (NAB's series); the
	// volume detector uses one part per window.
	Period time.Duration
	Bins   int
	// SeasonRate is how fast a part's usual value follows the values seen in it; default 0.4.
	SeasonRate float64
	// SeasonMin is how many visits a part needs before the residual from it counts; default 3.
	SeasonMin int
	// SeasonWeight scales the score of a record of the residual from the usual value; default
	// 0.08.
	SeasonWeight float64
	// SeasonLevelWeight scales the score of a record of the residual's moving average; default 0.3.
	SeasonLevelWeight float64
	// ShiftWeight scales the score of a record high of the distribution shift: the total
	// variation distance between a histogram of the recent values and one of the long run, both
	// over the range of the horizon in ShiftBins parts and kept as moving averages at rates
	// ShiftRecent and ShiftLongRun; defaults 0.4, 64 parts, 0.03 and 0.002.
	ShiftWeight               float64
	ShiftBins                 int
	ShiftRecent, ShiftLongRun float64
}

// DefaultConfig returns the configuration used for every series.
func DefaultConfig() Config {
	return Config{
		Warmup:            150,
		Horizon:           4096,
		Blocks:            64,
		Hush:              20,
		Quiet:             100,
		Smooth:            0.04,
		LevelWeight:       0.7,
		Period:            24 * time.Hour,
		Bins:              96,
		SeasonRate:        0.4,
		SeasonMin:         3,
		SeasonWeight:      0.08,
		SeasonLevelWeight: 0.3,
		ShiftWeight:       0.4,
		ShiftBins:         64,
		ShiftRecent:       0.03,
		ShiftLongRun:      0.002,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	or := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	ori := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	ori(&c.Warmup, d.Warmup)
	ori(&c.Horizon, d.Horizon)
	ori(&c.Blocks, d.Blocks)
	ori(&c.Hush, d.Hush)
	ori(&c.Quiet, d.Quiet)
	or(&c.Smooth, d.Smooth)
	or(&c.LevelWeight, d.LevelWeight)
	if c.Period == 0 {
		c.Period = d.Period
	}
	ori(&c.Bins, d.Bins)
	or(&c.SeasonRate, d.SeasonRate)
	ori(&c.SeasonMin, d.SeasonMin)
	or(&c.SeasonWeight, d.SeasonWeight)
	or(&c.SeasonLevelWeight, d.SeasonLevelWeight)
	or(&c.ShiftWeight, d.ShiftWeight)
	ori(&c.ShiftBins, d.ShiftBins)
	or(&c.ShiftRecent, d.ShiftRecent)
	or(&c.ShiftLongRun, d.ShiftLongRun)
	return c
}

// maxValue bounds the values the model computes with.
const maxValue = 1e300

// Limits on sizes, so that a configuration (or a snapshot) cannot ask for unbounded memory.
const (
	maxBlocks    = 1 << 12
	maxBins      = 1 << 14
	maxShiftBins = 1 << 10
)

// Validate reports the first setting that cannot work, after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Warmup < 0:
		return fmt.Errorf("anomaly: warmup must be >= 0 values, got %d", c.Warmup)
	case c.Blocks < 1 || c.Blocks > maxBlocks:
		return fmt.Errorf("anomaly: blocks must be 1..%d, got %d", maxBlocks, c.Blocks)
	case c.Horizon < c.Blocks:
		return fmt.Errorf("anomaly: horizon must be >= blocks (%d) values, got %d", c.Blocks, c.Horizon)
	case c.Hush < 0:
		return fmt.Errorf("anomaly: hush must be >= 0 values, got %d", c.Hush)
	case c.Quiet < 0:
		return fmt.Errorf("anomaly: quiet must be >= 0 values, got %d", c.Quiet)
	case !(c.Smooth > 0 && c.Smooth <= 1):
		return fmt.Errorf("anomaly: smooth must be in (0, 1], got %g", c.Smooth)
	case c.Bins < 1 || c.Bins > maxBins:
		return fmt.Errorf("anomaly: bins must be 1..%d, got %d", maxBins, c.Bins)
	case c.Period > 0 && c.Period < time.Duration(c.Bins):
		return fmt.Errorf("anomaly: period must be at least %d ns (one per bin), got %v", c.Bins, c.Period)
	case !(c.SeasonRate > 0 && c.SeasonRate <= 1):
		return fmt.Errorf("anomaly: season rate must be in (0, 1], got %g", c.SeasonRate)
	case c.SeasonMin < 1:
		return fmt.Errorf("anomaly: season min must be >= 1 visit, got %d", c.SeasonMin)
	case c.ShiftBins < 1 || c.ShiftBins > maxShiftBins:
		return fmt.Errorf("anomaly: shift bins must be 1..%d, got %d", maxShiftBins, c.ShiftBins)
	case !(c.ShiftRecent > 0 && c.ShiftRecent <= 1) || !(c.ShiftLongRun > 0 && c.ShiftLongRun <= 1):
		return fmt.Errorf("anomaly: shift rates must be in (0, 1], got %g and %g", c.ShiftRecent, c.ShiftLongRun)
	}
	for _, w := range []float64{c.LevelWeight, c.SeasonWeight, c.SeasonLevelWeight, c.ShiftWeight} {
		if math.IsNaN(w) || math.IsInf(w, 0) || w > 1 {
			return fmt.Errorf("anomaly: weights must be at most 1 (negative for off), got %g", w)
		}
	}
	return nil
}

// features are what the model keeps records of.
const (
	fValue       = iota // the value itself
	fLevel              // its moving average: a shift too gradual or too noisy to show in single values
	fSeason             // the value less the usual value at this time of the period
	fSeasonLevel        // the moving average of that residual
	fShift              // how far the recent values' distribution lies from the long run's
	nFeatures
)

// Scorer scores one series. It is not safe for concurrent use; use one per series.
type Scorer struct {
	cfg Config

	n     int64   // values seen
	level float64 // moving average of the values
	res   float64 // moving average of the residuals from the usual value
	resOK bool    // res has been started
	rec   [nFeatures]record
	prof  []float64 // usual value per part of the period
	seen  []int32   // visits per part, saturating

	recent, long []float64 // histograms of the values over the horizon's range, moving averages

	lastAlert int64   // value number of the last alert; 0 before any
	lastScore float64 // its score
}

// New returns a Scorer for cfg; it panics if cfg does not Validate, like regexp.MustCompile.
func New(cfg Config) *Scorer {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	s := &Scorer{cfg: cfg}
	for k := range s.rec {
		s.rec[k] = newRecord(cfg.Blocks)
	}
	s.prof = make([]float64, cfg.Bins)
	s.seen = make([]int32, cfg.Bins)
	s.recent = make([]float64, cfg.ShiftBins)
	s.long = make([]float64, cfg.ShiftBins)
	return s
}

// Config returns the configuration in use, defaults applied.
func (s *Scorer) Config() Config { return s.cfg }

// Score takes the next value of the series and returns its anomaly score in [0, 1], computed from
// t, v and the values before them only. A value that is not finite scores 0 and is not learned
// from; values beyond ±1e300 count as ±1e300.
func (s *Scorer) Score(t time.Time, v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	// Clamping keeps every sum and difference below finite, so that no state becomes Inf or NaN.
	v = min(max(v, -maxValue), maxValue)
	s.n++
	var f [nFeatures]float64
	s.features(t, v, &f)
	w := [nFeatures]float64{1, s.cfg.LevelWeight, s.cfg.SeasonWeight, s.cfg.SeasonLevelWeight, s.cfg.ShiftWeight}
	size := s.cfg.Horizon / s.cfg.Blocks
	best := 0.0
	for k := range f {
		if math.IsNaN(f[k]) {
			continue
		}
		r := &s.rec[k]
		if s.n > int64(s.cfg.Warmup) && w[k] > 0 {
			e := r.excess(f[k])
			if k == fShift && f[k] < max(r.hmax, r.omax) {
				e = 0 // a distribution closer to the long run's than ever is no news
			}
			if e > 0 && (r.last == 0 || s.n-r.last > int64(s.cfg.Hush)) {
				r.last = s.n
				e = min(e, 1e12)
				best = max(best, w[k]*e/(1+e))
			}
		}
		r.add(f[k], size)
	}
	if best > 0 {
		// One event tends to pass several features in turn: after an alert, only a stronger one.
		if s.lastAlert > 0 && s.n-s.lastAlert <= int64(s.cfg.Quiet) && best <= s.lastScore {
			return 0
		}
		s.lastAlert, s.lastScore = s.n, best
	}
	return best
}

// features computes the features of v at t and advances the moving averages and the profile.
// A feature not yet defined is NaN.
func (s *Scorer) features(t time.Time, v float64, f *[nFeatures]float64) {
	if s.n == 1 {
		s.level = v
	}
	s.level += s.cfg.Smooth * (v - s.level)
	f[fValue], f[fLevel] = v, s.level
	f[fShift] = s.shift(v)
	f[fSeason], f[fSeasonLevel] = math.NaN(), math.NaN()
	if s.cfg.Period <= 0 {
		return
	}
	p := int64(s.cfg.Period)
	b := int(((t.UnixNano()%p + p) % p) / (p / int64(s.cfg.Bins)))
	b = min(b, s.cfg.Bins-1)
	if s.seen[b] >= int32(s.cfg.SeasonMin) {
		r := v - s.prof[b]
		if !s.resOK {
			s.res, s.resOK = r, true
		}
		s.res += s.cfg.Smooth * (r - s.res)
		f[fSeason], f[fSeasonLevel] = r, s.res
	}
	if s.seen[b] == 0 {
		s.prof[b] = v
	} else {
		s.prof[b] += s.cfg.SeasonRate * (v - s.prof[b])
	}
	if s.seen[b] < math.MaxInt32 {
		s.seen[b]++
	}
}

// shift adds v to the recent and long-run histograms and returns their total variation
// distance, NaN before the horizon has a range. The parts are over the range of the values seen,
// v included, so they widen as the range does: an approximation that costs nothing to keep.
func (s *Scorer) shift(v float64) float64 {
	r := &s.rec[fValue]
	hi, lo := max(r.hmax, r.omax, v), min(r.hmin, r.omin, v)
	if !(hi > lo) {
		return math.NaN()
	}
	nb := len(s.recent)
	b := min(int(float64(nb)*(v-lo)/(hi-lo)), nb-1)
	// Until they have seen 1/rate values, the averages are plain means.
	ar, al := max(s.cfg.ShiftRecent, 1/float64(s.n)), max(s.cfg.ShiftLongRun, 1/float64(s.n))
	kr, kl := 1-ar, 1-al
	rec, long := s.recent, s.long[:len(s.recent)]
	tv := 0.0
	for i := range rec {
		x, y := rec[i]*kr, long[i]*kl
		rec[i], long[i] = x, y
		tv += math.Abs(x - y)
	}
	// Part b gains what the decay took, and its term of the distance changes with it.
	x, y := rec[b], long[b]
	tv -= math.Abs(x - y)
	rec[b], long[b] = x+ar, y+al
	tv += math.Abs(rec[b] - long[b])
	return tv / 2
}

// record keeps the extremes of a feature over the horizon, in a ring of blocks, so that its
// memory is fixed and forgetting is gradual.
type record struct {
	bmax, bmin []float64 // extremes of the closed blocks
	nb         int64     // closed blocks
	bn         int       // values in the open block
	omax, omin float64   // extremes of the open block
	hmax, hmin float64   // extremes of the closed blocks in the ring
	last       int64     // value number of the last alert; 0 before any
}

func newRecord(blocks int) record {
	return record{
		bmax: make([]float64, blocks), bmin: make([]float64, blocks),
		omax: math.Inf(-1), omin: math.Inf(1), hmax: math.Inf(-1), hmin: math.Inf(1),
	}
}

// excess is how far v lies beyond the extremes seen, as a fraction of their range: 0 inside
// the range or before there is one.
func (r *record) excess(v float64) float64 {
	hi, lo := max(r.hmax, r.omax), min(r.hmin, r.omin)
	switch {
	case !(hi > lo):
		return 0
	case v > hi:
		return (v - hi) / (hi - lo)
	case v < lo:
		return (lo - v) / (hi - lo)
	}
	return 0
}

func (r *record) add(v float64, size int) {
	r.omax, r.omin = max(r.omax, v), min(r.omin, v)
	r.bn++
	if r.bn < size {
		return
	}
	blocks := len(r.bmax)
	k := int(r.nb % int64(blocks))
	r.bmax[k], r.bmin[k] = r.omax, r.omin
	r.nb++
	r.bn = 0
	r.omax, r.omin = math.Inf(-1), math.Inf(1)
	r.hmax, r.hmin = math.Inf(-1), math.Inf(1)
	for i := range int(min(r.nb, int64(blocks))) {
		r.hmax, r.hmin = max(r.hmax, r.bmax[i]), min(r.hmin, r.bmin[i])
	}
}
