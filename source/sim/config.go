package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/coattailcapital/ctc/internal/clock"
)

// Instrument is one asset the simulator trades on both exchanges.
type Instrument struct {
	// Name is the instrument as the spread detector knows it, e.g. "BTC".
	Name string
	// Binance and Coinbase are its symbols on each exchange, e.g. "BTC-USDT" and "BTC-USD".
	Binance, Coinbase string
	// Price is the starting mid price, in the quote currency.
	Price float64
}

// DefaultInstruments returns BTC at 60,000, ETH at 3,000 and SOL at 150, each on Binance X-USDT
// and Coinbase X-USD: the instruments of the detectors' default spread mapping.
func DefaultInstruments() []Instrument {
	return []Instrument{
		{Name: "BTC", Binance: "BTC-USDT", Coinbase: "BTC-USD", Price: 60000},
		{Name: "ETH", Binance: "ETH-USDT", Coinbase: "ETH-USD", Price: 3000},
		{Name: "SOL", Binance: "SOL-USDT", Coinbase: "SOL-USD", Price: 150},
	}
}

// ManyInstruments returns n instruments for load tests: DefaultInstruments first, then made-up
// ones (X03, X04, …, each on Binance X-USDT and Coinbase X-USD) with starting prices spread over
// five orders of magnitude, as a real list of pairs has.
func ManyInstruments(n int) []Instrument {
	ins := DefaultInstruments()
	for i := len(ins); i < n; i++ {
		name := fmt.Sprintf("X%02d", i)
		ins = append(ins, Instrument{Name: name, Binance: name + "-USDT", Coinbase: name + "-USD", Price: 0.5 * float64(int(1)<<(i%16))})
	}
	return ins[:max(n, 0)]
}

// Defaults of Config's zero fields.
const (
	DefaultRate        = 5.0
	DefaultInjectEvery = 2 * time.Minute
)

// MinInjectEvery keeps injections on one instrument from overlapping: an instrument sees one
// every 3·len(Instruments) injections (4·len with WhaleClusters), and a dislocation lasts up to
// 90 s from its injection.
const MinInjectEvery = 20 * time.Second

// Config describes a simulated market. The same Config gives the same trades, byte for byte.
type Config struct {
	Seed int64
	// Start is when the simulated market opens: the event time of the first trade. Required: a
	// fixed date makes runs reproducible, time.Now() makes a demo look live.
	Start time.Time
	// Duration bounds the run: Next returns ctc.ErrEndOfInput once event time reaches
	// Start+Duration. 0 runs forever.
	Duration time.Duration
	// Instruments defaults to DefaultInstruments.
	Instruments []Instrument
	// Rate is the mean number of trades per second of each (instrument, exchange); default 5.
	Rate float64
	// Speed is 0 to run as fast as the consumer reads (the clock is never read), or N for N× real
	// time.
	Speed float64
	// WarmUp is emitted as fast as possible even when Speed > 0, so that the detectors have the
	// hour of history they need before the paced part of a demo begins.
	WarmUp time.Duration
	// InjectEvery is the event time between injected events; default 2 minutes, at least
	// MinInjectEvery, negative to disable. The first comes 10 s after the warm-up.
	InjectEvery time.Duration
	// WhaleClusters adds a fourth kind to the injections' rotation, after the volume burst: a
	// whale splitting an order into 6 to 12 orders of one side, half a second apart, none a
	// whale (kind WhaleCluster, for detect.Cluster). Off by default so that every Config gives
	// the trades it gave before the kind existed.
	WhaleClusters bool
	// Jitter, when > 0, delivers each trade up to Jitter late relative to event-time order (no
	// trade is more than Jitter, rounded up to the millisecond, older than one delivered before
	// it), as a live feed with several connections does. The trades themselves do not change.
	Jitter time.Duration
	// Now and Sleep are the clock pacing uses; they default to time.Now and a timer. Sleep must
	// return ctx.Err() when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Times outside these bounds would overflow the simulator's int64 nanosecond clock.
var (
	minStart = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxStart = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Validate reports every problem with the configuration, or nil. Zero fields take their defaults.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("sim: "+format, args...)) }
	switch {
	case c.Start.IsZero():
		add("Start is required: a fixed time gives a reproducible run, time.Now() a live-looking one")
	case c.Start.Before(minStart) || c.Start.After(maxStart):
		add("Start must be between 1970 and 2200, got %v", c.Start)
	}
	if c.Duration < 0 {
		add("Duration must be >= 0 (0 = unbounded), got %v", c.Duration)
	}
	if c.Rate < 0 || math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) {
		add("Rate must be a finite number of trades per second >= 0 (0 = %v), got %v", DefaultRate, c.Rate)
	}
	if c.Speed < 0 || math.IsNaN(c.Speed) || math.IsInf(c.Speed, 0) {
		add("Speed must be a finite factor >= 0 (0 = as fast as possible), got %v", c.Speed)
	}
	if c.WarmUp < 0 {
		add("WarmUp must be >= 0, got %v", c.WarmUp)
	}
	if c.InjectEvery > 0 && c.InjectEvery < MinInjectEvery {
		add("InjectEvery must be at least %v so that injections on one instrument never overlap, got %v (negative disables injections)",
			MinInjectEvery, c.InjectEvery)
	}
	if c.Jitter < 0 {
		add("Jitter must be >= 0, got %v", c.Jitter)
	}
	names := map[string]bool{}
	symbols := map[string]bool{}
	for i, in := range c.Instruments {
		switch {
		case in.Name == "":
			add("instrument %d has no Name", i)
		case names[in.Name]:
			add("instrument %q appears twice", in.Name)
		}
		names[in.Name] = true
		if in.Binance == "" || in.Coinbase == "" {
			add("instrument %q needs both a Binance and a Coinbase symbol: the spread detector joins them", in.Name)
		}
		for _, sym := range []string{in.Binance, in.Coinbase} {
			if sym != "" && symbols[sym] {
				add("symbol %q is used by two instruments", sym)
			}
			symbols[sym] = true
		}
		if !(in.Price >= 1e-6 && in.Price <= 1e9) {
			add("instrument %q: Price must be between 1e-6 and 1e9, got %v", in.Name, in.Price)
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if len(c.Instruments) == 0 {
		c.Instruments = DefaultInstruments()
	}
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.InjectEvery == 0 {
		c.InjectEvery = DefaultInjectEvery
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = clock.Sleep
	}
	return c
}
