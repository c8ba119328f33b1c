package quality

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
)

// The defaults of Config (DESIGN §5).
const (
	DefaultDedupWindow    = time.Hour
	DefaultMaxIngestDelay = 5 * time.Minute
	DefaultTolerance      = 0.001
)

// The default bounds of a trade's values: far beyond anything traded (no asset trades above a
// billion dollars a unit, no single trade moves ten billion), so that only non-physical values —
// a price of 1e300 that would turn every sum it enters into +Inf — are rejected.
const (
	DefaultMaxPrice       = 1e9
	DefaultMaxQuantity    = 1e15
	DefaultMaxQuoteVolume = 1e10
)

// DefaultExchanges are the exchanges the built-in sources speak.
func DefaultExchanges() []string { return []string{ctc.Binance, ctc.Coinbase} }

// Config configures a Chain. The zero value of each field means its default.
type Config struct {
	// Exchanges are the allowed values of exchange, compared exactly; default binance and coinbase.
	Exchanges []string
	// Symbols, when set, are the only allowed symbols; when empty any well-formed BASE-QUOTE symbol
	// (uppercase letters and digits on both sides of one '-') is allowed.
	Symbols []string
	// DedupWindow is how long, in event time, an event_id is remembered; default 1 h.
	DedupWindow time.Duration
	// MaxIngestDelay is how long after its timestamp a trade may be ingested before it is flagged
	// late; default 5 min.
	MaxIngestDelay time.Duration
	// Tolerance is the relative difference between quote_volume and price × quantity beyond which
	// a trade is flagged inconsistent; default 0.001 (0.1 %).
	Tolerance float64
	// MaxPrice, MaxQuantity and MaxQuoteVolume bound a trade's values (quote_volume, given or
	// computed as price × quantity); a trade beyond one is invalid. Defaults DefaultMaxPrice,
	// DefaultMaxQuantity and DefaultMaxQuoteVolume.
	MaxPrice, MaxQuantity, MaxQuoteVolume float64
}

// Validate reports every field that New would reject, with what it must be.
func (c Config) Validate() error {
	var errs []error
	for i, e := range c.Exchanges {
		if e == "" {
			errs = append(errs, fmt.Errorf("quality: Exchanges[%d] must not be empty", i))
		}
	}
	for i, s := range c.Symbols {
		if !wellFormedSymbol(s) {
			errs = append(errs, fmt.Errorf("quality: Symbols[%d] must be BASE-QUOTE in uppercase letters and digits (e.g. BTC-USDT), got %q", i, s))
		}
	}
	if c.DedupWindow < 0 {
		errs = append(errs, fmt.Errorf("quality: DedupWindow must be >= 0 (0 means the default, %v), got %v", DefaultDedupWindow, c.DedupWindow))
	}
	if c.MaxIngestDelay < 0 {
		errs = append(errs, fmt.Errorf("quality: MaxIngestDelay must be >= 0 (0 means the default, %v), got %v", DefaultMaxIngestDelay, c.MaxIngestDelay))
	}
	if math.IsNaN(c.Tolerance) || math.IsInf(c.Tolerance, 0) || c.Tolerance < 0 {
		errs = append(errs, fmt.Errorf("quality: Tolerance must be a finite number >= 0 (0 means the default, %v), got %v", DefaultTolerance, c.Tolerance))
	}
	for _, b := range []struct {
		name     string
		v, deflt float64
	}{{"MaxPrice", c.MaxPrice, DefaultMaxPrice}, {"MaxQuantity", c.MaxQuantity, DefaultMaxQuantity}, {"MaxQuoteVolume", c.MaxQuoteVolume, DefaultMaxQuoteVolume}} {
		if math.IsNaN(b.v) || math.IsInf(b.v, 0) || b.v < 0 {
			errs = append(errs, fmt.Errorf("quality: %s must be a finite number >= 0 (0 means the default, %g), got %v", b.name, b.deflt, b.v))
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields and copies the slices, which the caller may change later.
func (c Config) withDefaults() Config {
	if len(c.Exchanges) == 0 {
		c.Exchanges = DefaultExchanges()
	} else {
		c.Exchanges = slices.Clone(c.Exchanges)
	}
	c.Symbols = slices.Clone(c.Symbols)
	if c.DedupWindow == 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	if c.MaxIngestDelay == 0 {
		c.MaxIngestDelay = DefaultMaxIngestDelay
	}
	if c.Tolerance == 0 {
		c.Tolerance = DefaultTolerance
	}
	if c.MaxPrice == 0 {
		c.MaxPrice = DefaultMaxPrice
	}
	if c.MaxQuantity == 0 {
		c.MaxQuantity = DefaultMaxQuantity
	}
	if c.MaxQuoteVolume == 0 {
		c.MaxQuoteVolume = DefaultMaxQuoteVolume
	}
	return c
}

// maxDetailValue is how much of a value a detail quotes: a dead letter says what was wrong
// without echoing a 50 MB symbol.
const maxDetailValue = 64

// clip quotes s for a detail, cut to maxDetailValue bytes with its length when longer.
func clip(s string) string {
	if len(s) <= maxDetailValue {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:maxDetailValue], len(s))
}

// wellFormedSymbol reports whether s is BASE-QUOTE: uppercase ASCII letters and digits on both
// sides of exactly one '-'.
func wellFormedSymbol(s string) bool {
	dash := -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' && dash < 0:
			dash = i
		default:
			return false
		}
	}
	return dash > 0 && dash < len(s)-1
}

// policy is the configured part of validity: which exchanges and symbols are allowed.
type policy struct {
	exchanges []string
	symbols   map[string]struct{} // nil: any well-formed symbol
	list      []string            // the allowed symbols, sorted, for details
}

func newPolicy(c Config) policy {
	p := policy{exchanges: c.Exchanges}
	if len(c.Symbols) > 0 {
		p.symbols = make(map[string]struct{}, len(c.Symbols))
		for _, s := range c.Symbols {
			p.symbols[s] = struct{}{}
		}
		p.list = slices.Sorted(maps.Keys(p.symbols))
	}
	return p
}

func (p *policy) exchangeOK(s string) bool {
	for _, e := range p.exchanges {
		if e == s {
			return true
		}
	}
	return false
}

func (p *policy) symbolOK(s string) bool {
	if p.symbols != nil {
		_, ok := p.symbols[s]
		return ok // the configured symbols are well-formed (Validate)
	}
	return wellFormedSymbol(s)
}

func (p *policy) exchangeDetail(s string) string {
	return fmt.Sprintf("exchange must be one of %s, got %s", strings.Join(p.exchanges, ", "), clip(s))
}

func (p *policy) symbolDetail(s string) string {
	if !wellFormedSymbol(s) {
		return fmt.Sprintf("symbol must be BASE-QUOTE in uppercase letters and digits (e.g. BTC-USDT), got %s", clip(s))
	}
	const show = 10
	list := strings.Join(p.list[:min(show, len(p.list))], ", ")
	if len(p.list) > show {
		list += fmt.Sprintf(", … (%d more)", len(p.list)-show)
	}
	return fmt.Sprintf("symbol must be one of the configured symbols (%s), got %s", list, clip(s))
}
