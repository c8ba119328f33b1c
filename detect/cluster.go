package detect

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/window"
)

// WhaleCluster is the alert type of Cluster: a whale's order split into several orders, none of
// which is a whale on its own.
const WhaleCluster ctc.AlertType = "whale_cluster"

// ClusterConfig configures the split-order whale detector. Zero fields take the defaults; a
// negative MinOrder or MinShare turns that rule off.
type ClusterConfig struct {
	// Medium, High and Critical grade a cluster's summed quote volume, and an order above Medium is
	// a whale of its own: the whale detector's business, never part of a cluster. Defaults: the
	// whale thresholds of DESIGN §4, $100,000, $500,000 and $1,000,000. Keep them equal to the
	// whale detector's (Thresholds.ClusterConfig does) so that the two agree on what a whale is.
	Medium, High, Critical float64
	// MaxGap is the longest event time between one order of a cluster and the next; default 2 s.
	// Execution algorithms that slice an order re-send the next slice within a second or so; a
	// longer gap would chain unrelated traders on a busy book, and every second of it delays the
	// alert, which is decided only when no order can extend the cluster any more.
	MaxGap time.Duration
	// MinOrders is the fewest orders that make a cluster; default 3. Two large orders close
	// together happen by chance between two traders; three or more in a row on one side is a
	// pattern.
	MinOrders int
	// MinOrder is the smallest order quote volume that counts towards a cluster; default Medium/10
	// ($10,000). Smaller orders are the market's ordinary flow (the simulator's median trade is
	// $3,000): without a floor, same-side orders of a liquid pair chain without end. Negative: every
	// order counts.
	MinOrder float64
	// MinShare is the smallest share of all the quote volume traded on the cluster's (exchange,
	// symbol) from its first order to its last (both sides, every size, whale orders aside) that
	// the cluster must make; default 0.5. One participant moving most of the flow is a split
	// whale; large orders in a busy market (a volume burst, a liquidation cascade) are not, and
	// are the volume detector's business. Negative: no share is required.
	MinShare float64
	// Lateness is how far behind the newest trade (of any symbol) a trade may arrive and still
	// count; default 15 s, the spread detector's, since both take their watermark from every
	// exchange's feed. A cluster is decided when the watermark passes its last order + MaxGap.
	Lateness time.Duration
}

func (c ClusterConfig) withDefaults() ClusterConfig {
	c.Medium = cmp.Or(c.Medium, 100_000)
	c.High = cmp.Or(c.High, 500_000)
	c.Critical = cmp.Or(c.Critical, 1_000_000)
	c.MaxGap = cmp.Or(c.MaxGap, 2*time.Second)
	c.MinOrders = cmp.Or(c.MinOrders, 3)
	c.MinOrder = cmp.Or(c.MinOrder, c.Medium/10)
	c.MinShare = cmp.Or(c.MinShare, 0.5)
	c.Lateness = cmp.Or(c.Lateness, 15*time.Second)
	return c
}

// Validate reports the first setting that cannot work, after defaults are applied.
func (c ClusterConfig) Validate() error {
	c = c.withDefaults()
	switch {
	case !(c.Medium > 0 && c.Medium <= c.High && c.High <= c.Critical) || math.IsInf(c.Critical, 0):
		return fmt.Errorf("cluster: thresholds must satisfy 0 < medium <= high <= critical, got %g, %g, %g", c.Medium, c.High, c.Critical)
	case c.MaxGap <= 0:
		return fmt.Errorf("cluster: max gap must be > 0, got %v", c.MaxGap)
	case c.MinOrders < 2:
		return fmt.Errorf("cluster: min orders must be >= 2 (one order is not a split), got %d", c.MinOrders)
	case math.IsNaN(c.MinOrder) || c.MinOrder > c.Medium:
		return fmt.Errorf("cluster: min order must be at most medium (%g), got %g", c.Medium, c.MinOrder)
	case math.IsNaN(c.MinShare) || c.MinShare > 1:
		return fmt.Errorf("cluster: min share must be at most 1 (negative turns it off), got %g", c.MinShare)
	case c.Lateness <= 0:
		return fmt.Errorf("cluster: lateness must be > 0, got %v", c.Lateness)
	}
	return nil
}

// ClusterConfig returns the configuration of a Cluster detector that agrees with these thresholds'
// whale detector: its medium, high and critical are Whale, 5× and 10× Whale.
func (th Thresholds) ClusterConfig() ClusterConfig {
	return ClusterConfig{Medium: th.Whale, High: 5 * th.Whale, Critical: 10 * th.Whale}
}

// Cluster raises whale_cluster alerts for whales that split an order so that no single trade
// crosses the whale threshold.
//
// It first rebuilds taker orders: the trades of one (exchange, symbol) with the same side and the
// same timestamp are one order — one sweep through the book, which Binance reports as several
// aggregate trades and Coinbase as several matches of one taker order id (ctc.Trade carries no
// order id, so the timestamp stands for it on both exchanges). A cluster is then a run of orders
// on one (exchange, symbol) and side, each at most MaxGap after the previous one, counting only
// orders of at least MinOrder and at most Medium. A larger order is a whale of its own, the whale
// detector's business: this detector ignores it (it neither joins, breaks nor dilutes a cluster).
// The whale detector judges trades, not orders, so an order above Medium made only of fills below
// it is reported by neither.
// A cluster raises an alert when it has MinOrders orders or more, its summed quote volume exceeds
// Medium (High, Critical), and it makes at least MinShare of all the quote volume traded on its
// (exchange, symbol) between its first order and its last, both sides, whale orders aside.
//
// The alert's ActualValue is the summed quote volume, WindowStart the first order's time,
// DetectedAt the last order's; the message gives the side, the order and trade counts, the span,
// the VWAP and the share. Its id is NewAlertID of the first order: (whale_cluster, exchange,
// symbol, "side|first order time").
//
// Event time drives everything: the watermark is the newest trade time seen (or the time Advance
// gives) minus Lateness; an order is complete once the watermark passes its time, and a cluster
// is decided once the watermark passes its last order + MaxGap, so its alert comes MaxGap +
// Lateness of event time after its last order (17 s with the defaults; at the end of a bounded
// input, at once). A trade older than the watermark is late: it goes to the late output and
// changes nothing.
type Cluster struct {
	cfg                ClusterConfig
	lateness, maxGap   int64
	minOrder, minShare float64
	maxTs, wm          int64
	buf                []clusterFill // trades of orders not yet complete, buf[head:], in compareFill order
	head               int
	open               []*openKey // the keys with an open cluster: few, so a scan beats hashing two strings
	free               []*openKey
	earliest           int64         // at most the earliest Last of an open cluster
	decided            []openCluster // scratch for sweep
}

var (
	_ ctc.Detector    = (*Cluster)(nil)
	_ ctc.Snapshotter = (*Cluster)(nil)
)

type clusterKey struct{ Exchange, Symbol string }

// openKey is a key's open clusters, by side (buy, sell); a run of no orders is none.
type openKey struct {
	clusterKey
	runs [2]clusterRun
}

func (o *openKey) empty() bool { return o.runs[0].Orders == 0 && o.runs[1].Orders == 0 }

// lookup returns the open clusters of (exchange, symbol), or nil.
func (d *Cluster) lookup(exchange, symbol string) *openKey {
	for _, o := range d.open {
		if o.Symbol == symbol && o.Exchange == exchange {
			return o
		}
	}
	return nil
}

// drop forgets d.open[i], whose clusters have all been decided, keeping it for reuse.
func (d *Cluster) drop(i int) {
	n := len(d.open) - 1
	d.free = append(d.free, d.open[i])
	d.open[i], d.open[n] = d.open[n], nil
	d.open = d.open[:n]
}

// clusterFill is one trade waiting for its order to complete. Its fields are exported for gob.
type clusterFill struct {
	TS               int64
	Exchange, Symbol string
	Side             ctc.Side
	Quote, PQ, Qty   float64
}

// compareFill orders trades by (time, exchange, symbol, side), so that the trades of one order
// are adjacent and orders complete in time order. It returns early: it runs for every trade.
func compareFill(a, b *clusterFill) int {
	if a.TS != b.TS {
		return cmp.Compare(a.TS, b.TS)
	}
	if a.Exchange != b.Exchange {
		return strings.Compare(a.Exchange, b.Exchange)
	}
	if a.Symbol != b.Symbol {
		return strings.Compare(a.Symbol, b.Symbol)
	}
	return cmp.Compare(a.Side, b.Side)
}

// clusterRun is an open cluster. Sums are exact (window.Sum) so that the order in which trades
// arrived within the lateness bound changes no bit of the result.
type clusterRun struct {
	Side            ctc.Side
	First, Last     int64
	Orders, Trades  int64
	Quote, PQ, Qty  window.Sum
	Flow, FlowAtEnd window.Sum // the key's volume (whale orders aside) since First; and up to Last
}

type openCluster struct {
	Exchange, Symbol string
	Run              clusterRun
}

// NewCluster returns a split-order whale detector.
func NewCluster(cfg ClusterConfig) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Cluster{cfg: cfg, lateness: int64(cfg.Lateness), maxGap: int64(cfg.MaxGap),
		minOrder: max(cfg.MinOrder, 0), minShare: max(cfg.MinShare, 0)}
	d.reset()
	return d, nil
}

func (d *Cluster) reset() {
	d.maxTs, d.wm, d.earliest = math.MinInt64, math.MinInt64, math.MaxInt64
	d.buf, d.head = d.buf[:0], 0
	clear(d.open)
	d.open = d.open[:0]
}

// Name returns "whale_cluster".
func (d *Cluster) Name() string { return string(WhaleCluster) }

// Observe adds the trade to its order, and decides what the watermark it moves completes.
func (d *Cluster) Observe(t *ctc.Trade, out *ctc.Output) {
	ts := t.Timestamp.UnixNano()
	if ts < d.wm {
		out.Late = append(out.Late, ctc.LateTrade{Detector: d.Name(), Trade: *t})
		return
	}
	f := clusterFill{TS: ts, Exchange: t.Exchange, Symbol: t.Symbol, Side: t.Side,
		Quote: t.QuoteVolume, PQ: t.Price * t.Quantity, Qty: t.Quantity}
	if n := len(d.buf); n == d.head || compareFill(&d.buf[n-1], &f) <= 0 {
		d.buf = append(d.buf, f)
	} else {
		live := d.buf[d.head:]
		i := d.head + sort.Search(len(live), func(i int) bool { return compareFill(&live[i], &f) > 0 })
		d.buf = append(d.buf, clusterFill{})
		copy(d.buf[i+1:], d.buf[i:])
		d.buf[i] = f
	}
	if ts > d.maxTs {
		d.advance(ts, out)
	}
}

// Advance moves event time to t without a trade: an idle source, or the end of input
// (ctc.EndOfTime), which completes every order and decides every cluster.
func (d *Cluster) Advance(t time.Time, out *ctc.Output) {
	if ts := unixNano(t); ts > d.maxTs {
		d.advance(ts, out)
	}
}

// setMax makes ts the newest event time and moves the watermark to it minus the lateness (+∞ at
// the end of time).
func (d *Cluster) setMax(ts int64) {
	d.maxTs = ts
	switch {
	case ts == math.MaxInt64:
		d.wm = math.MaxInt64
	case ts < math.MinInt64+d.lateness:
		d.wm = math.MinInt64
	default:
		d.wm = ts - d.lateness
	}
}

func (d *Cluster) advance(ts int64, out *ctc.Output) {
	d.setMax(ts)
	// Complete the orders the watermark has passed, one (time, exchange, symbol) at a time.
	for d.head < len(d.buf) && d.buf[d.head].TS < d.wm {
		i := d.head + 1
		for i < len(d.buf) && d.buf[i].TS == d.buf[d.head].TS &&
			d.buf[i].Exchange == d.buf[d.head].Exchange && d.buf[i].Symbol == d.buf[d.head].Symbol {
			i++
		}
		d.group(d.buf[d.head:i], out)
		d.head = i
	}
	if d.head > 0 && d.head >= len(d.buf)/2 {
		n := copy(d.buf, d.buf[d.head:])
		clear(d.buf[n:])
		d.buf, d.head = d.buf[:n], 0
	}
	if d.due(d.earliest) {
		d.sweep(out)
	}
}

// due reports whether a cluster whose last order is at last can no longer be extended.
func (d *Cluster) due(last int64) bool {
	return d.wm == math.MaxInt64 || last < math.MaxInt64-d.maxGap && last+d.maxGap < d.wm
}

// group applies the orders of one (time, exchange, symbol), at most one per side, to the key's
// clusters. Every trade in fills is complete: no more can arrive without being late.
func (d *Cluster) group(fills []clusterFill, out *ctc.Output) {
	// Each side's order: its quote volume, whether it is a whale, and whether it counts towards a
	// cluster. The quote volume of an order of several fills is summed exactly, so that it does
	// not depend on the order they arrived in.
	var n [2]int64
	var q [2]float64
	for i := range fills {
		if s := sideIndex(fills[i].Side); s >= 0 {
			n[s]++
			q[s] = fills[i].Quote
		}
	}
	var whale, eligible [2]bool
	for s := range n {
		if n[s] == 0 {
			continue
		}
		if n[s] > 1 {
			q[s] = sumQuote(fills, s).Float64()
		}
		whale[s] = q[s] > d.cfg.Medium
		eligible[s] = !whale[s] && q[s] >= d.minOrder
	}
	if !eligible[0] && !eligible[1] && len(d.open) == 0 {
		return // the common case: an ordinary order, and no cluster it could extend or dilute
	}
	ts := fills[0].TS
	o := d.lookup(fills[0].Exchange, fills[0].Symbol)
	if o == nil {
		if !eligible[0] && !eligible[1] {
			return
		}
		if n := len(d.free); n > 0 {
			o, d.free = d.free[n-1], d.free[:n-1]
		} else {
			o = new(openKey)
		}
		*o = openKey{clusterKey: clusterKey{fills[0].Exchange, fills[0].Symbol}}
		d.open = append(d.open, o)
	}
	var quote [2]window.Sum
	var flow window.Sum // the group's volume, whale orders aside
	for s := range n {
		if n[s] > 0 && !whale[s] {
			quote[s] = sumQuote(fills, s)
			flow.Merge(quote[s])
		}
	}
	for i := range fills {
		if sideIndex(fills[i].Side) < 0 {
			flow.Add(fills[i].Quote)
		}
	}
	for s := range o.runs {
		c := &o.runs[s]
		if c.Orders > 0 && ts-c.Last > d.maxGap {
			d.decide(o.clusterKey, c, out)
			*c = clusterRun{}
		}
		if eligible[s] {
			if c.Orders == 0 {
				*c = clusterRun{Side: sideOf(s), First: ts}
			}
			c.Last = ts
			c.Orders++
			c.Trades += n[s]
			c.Quote.Merge(quote[s])
			for i := range fills {
				if f := &fills[i]; sideIndex(f.Side) == s {
					c.PQ.Add(f.PQ)
					c.Qty.Add(f.Qty)
				}
			}
		}
		if c.Orders > 0 {
			c.Flow.Merge(flow)
			if c.Last == ts {
				c.FlowAtEnd = c.Flow
			}
			d.earliest = min(d.earliest, c.Last)
		}
	}
	if o.empty() {
		d.drop(slices.Index(d.open, o))
	}
}

// sweep decides every open cluster the watermark has passed, in (last order, exchange, symbol,
// side) order, and finds the earliest last order of those left.
func (d *Cluster) sweep(out *ctc.Output) {
	d.decided = d.decided[:0]
	d.earliest = math.MaxInt64
	for i := 0; i < len(d.open); {
		o := d.open[i]
		for s := range o.runs {
			c := &o.runs[s]
			if c.Orders == 0 {
				continue
			}
			if d.due(c.Last) {
				d.decided = append(d.decided, openCluster{o.Exchange, o.Symbol, *c})
				*c = clusterRun{}
			} else {
				d.earliest = min(d.earliest, c.Last)
			}
		}
		if o.empty() {
			d.drop(i)
		} else {
			i++
		}
	}
	sortFunc(d.decided, compareOpen)
	for i := range d.decided {
		o := &d.decided[i]
		d.decide(clusterKey{o.Exchange, o.Symbol}, &o.Run, out)
	}
}

func compareOpen(a, b openCluster) int {
	return cmp.Or(cmp.Compare(a.Run.Last, b.Run.Last), cmp.Compare(a.Exchange, b.Exchange),
		cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Run.Side, b.Run.Side))
}

// decide raises the alert of a finished cluster, if it is one.
func (d *Cluster) decide(k clusterKey, c *clusterRun, out *ctc.Output) {
	if c.Orders < int64(d.cfg.MinOrders) {
		return
	}
	sum := c.Quote.Float64()
	sev, threshold, ok := grade(sum, rung{d.cfg.Critical, ctc.Critical}, rung{d.cfg.High, ctc.High}, rung{d.cfg.Medium, ctc.Medium})
	if !ok {
		return
	}
	share := sum / c.FlowAtEnd.Float64()
	if share < d.minShare {
		return
	}
	first, last := time.Unix(0, c.First).UTC(), time.Unix(0, c.Last).UTC()
	vwap := c.PQ.Float64() / c.Qty.Float64()
	out.Alerts = append(out.Alerts, ctc.Alert{
		AlertID:        ctc.NewAlertID(WhaleCluster, k.Exchange, k.Symbol, c.Side.String()+"|"+ctc.WindowKey(first)),
		AlertType:      WhaleCluster,
		Symbol:         k.Symbol,
		Exchange:       k.Exchange,
		Severity:       sev,
		ThresholdValue: threshold,
		ActualValue:    sum,
		WindowStart:    first,
		DetectedAt:     last,
		Message: fmt.Sprintf("%s on %s: %s %s split into a cluster of %d orders (%d trades) over %s, VWAP %s, %.0f%% of the volume traded; no order over %s (cluster over %s)",
			k.Symbol, k.Exchange, money(sum), c.Side, c.Orders, c.Trades, time.Duration(c.Last-c.First), price(vwap),
			share*100, money(d.cfg.Medium), money(threshold)),
		TTLEpoch: ttl(last),
	})
}

// sumQuote returns the exact quote volume of the fills of side index s.
func sumQuote(fills []clusterFill, s int) window.Sum {
	var sum window.Sum
	for i := range fills {
		if sideIndex(fills[i].Side) == s {
			sum.Add(fills[i].Quote)
		}
	}
	return sum
}

func sideIndex(s ctc.Side) int {
	switch s {
	case ctc.Buy:
		return 0
	case ctc.Sell:
		return 1
	}
	return -1 // counts as flow only
}

func sideOf(i int) ctc.Side { return [2]ctc.Side{ctc.Buy, ctc.Sell}[i] }

// clusterSnapshotVersion is bumped whenever clusterState changes incompatibly.
const clusterSnapshotVersion = 1

type clusterState struct {
	Version int
	MaxTs   int64
	Pending []clusterFill
	Open    []openCluster
}

// Snapshot saves the trades of incomplete orders and the open clusters.
func (d *Cluster) Snapshot() ([]byte, error) {
	st := clusterState{Version: clusterSnapshotVersion, MaxTs: d.maxTs, Pending: d.buf[d.head:]}
	for _, o := range d.open {
		for _, c := range o.runs {
			if c.Orders > 0 {
				st.Open = append(st.Open, openCluster{o.Exchange, o.Symbol, c})
			}
		}
	}
	sortFunc(st.Open, func(a, b openCluster) int {
		return cmp.Or(cmp.Compare(a.Exchange, b.Exchange), cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Run.Side, b.Run.Side))
	})
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(st); err != nil {
		return nil, fmt.Errorf("cluster: snapshot: %w", err)
	}
	return b.Bytes(), nil
}

// Restore replaces the detector's state with a snapshot.
func (d *Cluster) Restore(b []byte) error {
	var st clusterState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return fmt.Errorf("cluster: restore: %w", err)
	}
	if st.Version != clusterSnapshotVersion {
		return fmt.Errorf("cluster: restore: snapshot format %d, this build reads %d", st.Version, clusterSnapshotVersion)
	}
	if !slicesSortedFunc(st.Pending, compareFill) {
		return fmt.Errorf("cluster: restore: pending trades out of order")
	}
	var open []*openKey
	for i := range st.Open {
		c := &st.Open[i]
		s := sideIndex(c.Run.Side)
		if s < 0 {
			return fmt.Errorf("cluster: restore: open cluster of side %v", c.Run.Side)
		}
		k := clusterKey{c.Exchange, c.Symbol}
		i := slices.IndexFunc(open, func(o *openKey) bool { return o.clusterKey == k })
		if i < 0 {
			i = len(open)
			open = append(open, &openKey{clusterKey: k})
		}
		o := open[i]
		if c.Run.Orders < 1 {
			return fmt.Errorf("cluster: restore: open cluster of %d orders", c.Run.Orders)
		}
		if o.runs[s].Orders > 0 {
			return fmt.Errorf("cluster: restore: two open %v clusters on %s %s", c.Run.Side, c.Exchange, c.Symbol)
		}
		o.runs[s] = c.Run
	}
	d.reset()
	d.buf = append(d.buf, st.Pending...)
	d.open = open
	if st.MaxTs != math.MinInt64 {
		d.setMax(st.MaxTs)
	}
	for _, o := range d.open {
		for _, c := range o.runs {
			if c.Orders > 0 {
				d.earliest = min(d.earliest, c.Last)
			}
		}
	}
	return nil
}

func slicesSortedFunc(s []clusterFill, cmp func(a, b *clusterFill) int) bool {
	for i := 1; i < len(s); i++ {
		if cmp(&s[i-1], &s[i]) > 0 {
			return false
		}
	}
	return true
}
