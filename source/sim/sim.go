package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/google/uuid"
)

// Kind names an injected event.
type Kind string

// The kinds of injected events, one per built-in detector. WhaleCluster, for detect.Cluster, is
// injected only with Config.WhaleClusters.
const (
	Whale             Kind = "whale"
	VolumeBurst       Kind = "volume_burst"
	SpreadDislocation Kind = "spread_dislocation"
	WhaleCluster      Kind = "whale_cluster"
)

// Event is the ground truth of one injected anomaly: what a detector should report, where and
// when.
type Event struct {
	Kind Kind
	// Instrument is the instrument's Name; Exchange and Symbol say where the event happened (for a
	// dislocation, the Coinbase side, whose price moved).
	Instrument, Exchange, Symbol string
	// Start and End bound the event in event time, [Start, End): the aligned 60 s window of a
	// burst, the two aligned 30 s windows of a dislocation. For a whale both are the trade's time;
	// for a whale cluster they are the times of its first and last orders.
	Start, End time.Time
	// EventID is the whale trade's event id; zero for the other kinds.
	EventID uuid.UUID
	// Magnitude is the whale's quote volume, the burst's trade-rate multiplier, the
	// dislocation's shift of the Coinbase price in percent (signed), or the whale cluster's
	// summed quote volume.
	Magnitude float64
	Detail    string
}

// The market model. The numbers are chosen against the detectors' defaults (DESIGN §4): normal
// trading stays far from every threshold, every injection crosses one by a wide margin.
const (
	volatility   = 0.0002             // of the log mid price, per √second (1.2 % an hour)
	reversion    = math.Ln2 / 86400   // pulls the mid back to its start with a one-day half-life, so a demo left running for weeks stays near the configured prices
	noise        = 0.00005            // per-trade deviation of an exchange's price from the mid
	coinbaseBias = 0.0001             // Coinbase trades a basis point above Binance
	medianSize   = 3000.0             // median quote volume of a normal trade
	sizeSigma    = 0.6                // log-normal spread of trade sizes: 90 % between $1.1k and $8k
	maxSize      = 45000.0            // normal trades never reach the $100k whale threshold, not even doubled in a burst
	burstRate    = 6.0                // trade-rate multiplier in a burst window
	burstSize    = 2.0                // trade-size multiplier in a burst window
	dislocation  = 0.015              // shift of the Coinbase price in a dislocation
	burstWindow  = int64(time.Minute) // the volume detector's window
	spreadWindow = int64(30 * time.Second)
	firstInject  = int64(10 * time.Second) // after the warm-up: the first injection is never at its very end
)

// whaleSizes cycle so that medium (> $100k), high (> $500k) and critical (> $1M) whales all occur.
var whaleSizes = [...]float64{250_000, 750_000, 1_500_000}

// clusterShapes cycle the same way for whale clusters: 6 orders of $25k, 8 of $70k and 12 of
// $90k (each ±4 %, so never a whale of its own and never under detect.Cluster's $10k floor)
// make about $150k, $560k and $1.08M. The orders come clusterGap apart, well within
// detect.Cluster's 2 s, and each is one to three fills at the same instant, as a sweep through
// the book is.
var clusterShapes = [...]struct {
	orders int
	size   float64
}{{6, 25_000}, {8, 70_000}, {12, 90_000}}

const clusterGap = int64(500 * time.Millisecond)

// Source is the simulator. It is not safe for concurrent use.
type Source struct {
	cfg     Config
	ins     []instrument
	streams []stream
	heap    []int32 // streams by next arrival; index len(streams) is the injector
	endNs   int64   // generation stops here (MaxInt64: never)
	warmEnd int64

	injNext  int64 // time of the next injection (MaxInt64: none)
	injEvery int64
	injK     int
	injRng   *rand.Rand

	jitter int64
	jitRng *rand.Rand
	late   []pending // delivery heap by (deliver, seq), used only with Jitter
	seq    uint64

	cur   pending // the next trade to emit, once ready
	ready bool
	count int64

	maxGen  int64 // latest generation time emitted, for releasing events
	planned []planned
	events  []Event

	chunks                       []chunk // the orders of the whale cluster being injected, in time order
	clusterQuote                 float64 // and what it has traded so far
	clusterOrders, clusterTrades int

	paced bool
	wall0 time.Time
}

var _ ctc.Source = (*Source)(nil)

type instrument struct {
	Instrument
	logDev   float64 // log(mid / Price): the mean-reverting random walk
	t        int64   // time logDev was last moved to
	rng      *rand.Rand
	priceDec float64 // 10^decimals of prices and quantities, so they print like exchange ticks
	qtyDec   float64
	shifts   []span // dislocations of the Coinbase price, in time order
}

type stream struct {
	ins      int
	exchange string
	symbol   string
	idScope  string // symbol and run scope, hashed into event ids: see New
	coinbase bool
	rng      *rand.Rand
	next     int64 // time of the next arrival
	count    int64 // trades so far: the exchange trade id of the event id
	bursts   []span
}

type span struct {
	start, end int64
	factor     float64
}

// pending is a generated trade waiting to be emitted.
type pending struct {
	gen, deliver int64 // event time, and when it is delivered (later with Jitter)
	seq          uint64
	latency      int64 // ms from delivery to ingestion
	whale        bool
	closes       bool // the last trade of a whale cluster
	trade        ctc.Trade
}

// planned is an injected event not yet reported by Injected.
type planned struct {
	ev       Event
	start    int64
	waiting  bool      // a whale waits for its own trade to be emitted, a cluster for its last
	last     uuid.UUID // the event id of a whale cluster's last trade, once generated
	building bool      // a whale cluster whose orders are still being generated
}

// chunk is one order of a whale cluster still to be generated: fills trades of size each on
// stream at time at.
type chunk struct {
	at     int64
	stream int
	side   ctc.Side
	size   float64
	fills  int
	last   bool // the cluster's last order
}

// New validates cfg and returns a simulator positioned before its first trade.
func New(cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Source{cfg: cfg, endNs: math.MaxInt64, injNext: math.MaxInt64, jitter: int64(cfg.Jitter)}
	start := cfg.Start.UnixNano()
	if cfg.Duration > 0 && int64(cfg.Duration) < math.MaxInt64-start {
		s.endNs = start + int64(cfg.Duration)
	}
	s.warmEnd = start + int64(cfg.WarmUp)
	seed := uint64(cfg.Seed)
	// Every stream draws from its own generator, so adding an instrument or changing the injection
	// schedule leaves the other streams' random choices alone.
	newRand := func(salt uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, mix(salt))) }
	s.injRng, s.jitRng = newRand(1), newRand(2)
	// Event ids are scoped to the run — its seed and start — so that two runs never give two
	// different trades one id (a demo restarted from the present numbers its trades from 1
	// again), while the same run always gives the same ids.
	scope := "/sim/" + strconv.FormatInt(cfg.Seed, 10) + "/" + strconv.FormatInt(cfg.Start.UnixNano(), 10)
	for i, in := range cfg.Instruments {
		digits := math.Floor(math.Log10(in.Price)) + 1
		s.ins = append(s.ins, instrument{Instrument: in, t: start, rng: newRand(uint64(100 + i)),
			priceDec: math.Pow(10, clamp(7-digits, 0, 12)), qtyDec: math.Pow(10, clamp(digits, 0, 8))})
		s.streams = append(s.streams,
			stream{ins: i, exchange: ctc.Binance, symbol: in.Binance, idScope: in.Binance + scope, rng: newRand(uint64(1000 + 2*i))},
			stream{ins: i, exchange: ctc.Coinbase, symbol: in.Coinbase, idScope: in.Coinbase + scope, coinbase: true, rng: newRand(uint64(1001 + 2*i))})
	}
	for i := range s.streams {
		st := &s.streams[i]
		if i == 0 {
			st.next = start // the market opens with a trade
		} else {
			st.next = s.arrival(st, start)
		}
	}
	if cfg.InjectEvery > 0 {
		s.injEvery = int64(cfg.InjectEvery)
		s.injNext = s.warmEnd + firstInject
	}
	s.heap = make([]int32, len(s.streams)+1)
	for i := range s.heap {
		s.heap[i] = int32(i)
	}
	s.heapify()
	return s, nil
}

// mix spreads small salts over the PCG's second seed word (SplitMix64's finalizer).
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

// Bulk implements ctc.BulkSource: the simulator run as fast as possible (Speed 0) never waits;
// a paced one does.
func (s *Source) Bulk() bool { return s.cfg.Speed == 0 }

var _ ctc.BulkSource = (*Source)(nil)

// Next fills rec with the next trade (rec.Decoded = true, rec.Data = nil) at Position{"sim", n}.
func (s *Source) Next(ctx context.Context, rec *ctc.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.ready {
		if !s.produce() {
			return ctc.ErrEndOfInput
		}
		s.ready = true
	}
	// A cancelled wait keeps the trade ready, so a retry with a new context loses nothing.
	if s.cfg.Speed > 0 && s.cur.deliver >= s.warmEnd {
		if err := s.pace(ctx, s.cur.deliver); err != nil {
			return err
		}
	}
	s.ready = false
	p := &s.cur
	p.trade.IngestionTimestamp = time.UnixMilli(p.deliver/1e6 + p.latency).UTC()
	s.count++
	*rec = ctc.Record{Decoded: true, Trade: p.trade, Position: ctc.Position{Partition: "sim", Offset: s.count}}
	s.maxGen = max(s.maxGen, p.gen)
	if len(s.planned) > 0 {
		s.release(p)
	}
	return nil
}

// Seek implements ctc.Seeker: it continues after the trade at Position{"sim", after.Offset} (the
// zero Position starts afresh, as New does) by generating and dropping the trades before it, so
// a checkpointed run resumes with the same market, ids and injected events it would have had.
// It is called before the first Next. A paced simulator resumed past its warm-up continues at
// its pace from the resumed trade on, not from the run's original start.
func (s *Source) Seek(ctx context.Context, after ctc.Position) error {
	if after == (ctc.Position{}) {
		return nil
	}
	if after.Partition != "sim" || after.Offset < 0 {
		return fmt.Errorf("sim: cannot seek to %v: positions are sim:N", after)
	}
	if s.count > 0 || s.ready {
		return errors.New("sim: Seek must come before the first Next")
	}
	for s.count < after.Offset {
		if s.count%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if !s.produce() {
			return fmt.Errorf("sim: cannot seek to %v: the run ends after %d trades", after, s.count)
		}
		s.count++
		s.maxGen = max(s.maxGen, s.cur.gen)
		if len(s.planned) > 0 {
			s.release(&s.cur)
		}
	}
	if s.cfg.Speed > 0 && s.cur.deliver >= s.warmEnd {
		// Pace from here: the next trade is due at once, the ones after it at Speed.
		s.paced = true
		s.wall0 = s.cfg.Now().Add(-time.Duration(float64(s.cur.deliver-s.warmEnd) / s.cfg.Speed))
	}
	return nil
}

var _ ctc.Seeker = (*Source)(nil)

// Injected returns the events injected so far, in the order they were reported: a window event
// once a trade at or after its Start has been emitted, a whale once its trade has been.
func (s *Source) Injected() []Event { return slices.Clone(s.events) }

func (s *Source) release(p *pending) {
	kept := s.planned[:0]
	for _, e := range s.planned {
		if e.waiting && (p.whale && e.ev.EventID == p.trade.EventID || p.closes && e.last == p.trade.EventID) {
			e.waiting = false
		}
		if !e.waiting && e.start <= s.maxGen {
			s.events = append(s.events, e.ev)
			continue
		}
		kept = append(kept, e)
	}
	s.planned = kept
}

// produce makes s.cur the next trade in delivery order, or reports the end of input.
func (s *Source) produce() bool {
	if s.jitter == 0 {
		return s.step(&s.cur)
	}
	// A trade can be delivered once no trade still to be generated could be delivered before it:
	// those are generated no earlier than the generator's next time, and delivered no earlier still.
	for {
		if len(s.late) > 0 && s.late[0].deliver <= s.genNext() {
			s.cur = s.popLate()
			return true
		}
		s.late = append(s.late, pending{})
		p := &s.late[len(s.late)-1]
		if !s.step(p) {
			s.late = s.late[:len(s.late)-1]
			if len(s.late) == 0 {
				return false
			}
			s.cur = s.popLate()
			return true
		}
		p.deliver = p.gen + int64(s.jitRng.Float64()*float64(s.jitter))
		s.seq++
		p.seq = s.seq
		s.pushLate()
	}
}

// genNext is the earliest time the generator can still produce a trade at.
func (s *Source) genNext() int64 {
	if t := s.at(s.heap[0]); t < s.endNs {
		return t
	}
	return math.MaxInt64
}

// step generates the next trade in event-time order into p, or reports that the run has ended.
func (s *Source) step(p *pending) bool {
	for {
		top := s.heap[0]
		t := s.at(top)
		if t >= s.endNs {
			return false
		}
		*p = pending{gen: t, deliver: t}
		if int(top) == len(s.streams) && len(s.chunks) > 0 && s.chunks[0].at <= s.injNext {
			s.clusterFill(t, p)
			s.siftDown(0)
			return true
		}
		if int(top) == len(s.streams) {
			whale := s.inject(t, p)
			s.injK++
			s.injNext = t + s.injEvery
			s.heapify() // a burst may have moved a stream's next arrival
			if whale {
				return true
			}
			continue
		}
		st := &s.streams[top]
		size := medianSize * math.Exp(sizeSigma*st.rng.NormFloat64())
		size = math.Min(size, maxSize)
		if inSpan(&st.bursts, t) != 0 {
			size *= burstSize
		}
		s.fill(st, t, size, st.rng, p)
		st.next = s.arrival(st, t)
		s.siftDown(0)
		return true
	}
}

// fill writes a trade of about size quote volume on st at time t into p.
func (s *Source) fill(st *stream, t int64, size float64, rng *rand.Rand, p *pending) {
	in := &s.ins[st.ins]
	if t > in.t {
		dt := float64(t-in.t) / 1e9
		// Explicit float64 conversions keep the compiler from fusing multiply-adds on the
		// architectures that have them, so that rounding does not depend on GOARCH.
		decay := float64(float64(reversion*dt) * in.logDev)
		shock := float64(float64(volatility*math.Sqrt(dt)) * in.rng.NormFloat64())
		in.logDev = in.logDev - decay + shock
		in.t = t
	}
	dev := float64(noise * rng.NormFloat64())
	if st.coinbase {
		dev += coinbaseBias
	}
	price := in.Price * math.Exp(in.logDev) * (1 + dev)
	if st.coinbase {
		if f := inSpan(&in.shifts, t); f != 0 {
			price *= f
		}
	}
	price = math.Round(price*in.priceDec) / in.priceDec
	qty := math.Max(math.Round(size/price*in.qtyDec), 1) / in.qtyDec
	side := ctc.Buy
	if rng.Uint64()&1 == 1 {
		side = ctc.Sell
	}
	st.count++
	p.latency = 2 + rng.Int64N(24)
	p.trade = ctc.Trade{
		EventID:     ctc.NewEventIDInt(st.exchange, st.idScope, st.count),
		Exchange:    st.exchange,
		Symbol:      st.symbol,
		Price:       price,
		Quantity:    qty,
		QuoteVolume: price * qty,
		Side:        side,
		Timestamp:   time.UnixMilli(t / 1e6).UTC(),
	}
}

// clusterFill writes the next trade of the whale cluster being injected, at time t, into p.
func (s *Source) clusterFill(t int64, p *pending) {
	c := &s.chunks[0]
	s.fill(&s.streams[c.stream], t, c.size, s.injRng, p)
	p.trade.Side = c.side
	s.clusterQuote += p.trade.QuoteVolume
	s.clusterTrades++
	if c.fills--; c.fills > 0 {
		return
	}
	s.clusterOrders++
	if !c.last {
		s.chunks = append(s.chunks[:0], s.chunks[1:]...)
		return
	}
	s.chunks = s.chunks[:0]
	p.closes = true
	for i := range s.planned {
		if e := &s.planned[i]; e.building {
			e.building, e.last = false, p.trade.EventID
			e.ev.Magnitude = s.clusterQuote
			e.ev.Detail = fmt.Sprintf("%s %s: %s $%.0f in %d orders (%d trades), %v apart, none over $100k", p.trade.Exchange,
				p.trade.Symbol, p.trade.Side, s.clusterQuote, s.clusterOrders, s.clusterTrades, time.Duration(clusterGap))
		}
	}
	s.clusterQuote, s.clusterOrders, s.clusterTrades = 0, 0, 0
}

// inSpan reports the factor of the span of spans holding t (0 if none), forgetting spans that
// have ended: time only moves forward for a stream.
func inSpan(spans *[]span, t int64) float64 {
	for len(*spans) > 0 && (*spans)[0].end <= t {
		*spans = (*spans)[1:]
	}
	if len(*spans) > 0 && (*spans)[0].start <= t {
		return (*spans)[0].factor
	}
	return 0
}

// arrival draws st's next arrival after t. Arrivals are a Poisson process whose rate changes at
// burst boundaries; since the exponential is memoryless, a draw that crosses a boundary is
// discarded and redrawn from the boundary at the new rate, which is exact.
func (s *Source) arrival(st *stream, t int64) int64 {
	for {
		rate, bound := s.cfg.Rate, int64(math.MaxInt64)
		if f := inSpan(&st.bursts, t); f != 0 {
			rate *= f
			bound = st.bursts[0].end
		} else if len(st.bursts) > 0 {
			bound = st.bursts[0].start
		}
		dt := st.rng.ExpFloat64() / rate * 1e9
		if dt < float64(bound-t) {
			return t + int64(dt)
		}
		t = bound
	}
}

// inject starts injection s.injK at time t. It returns true when the injection is a whale trade,
// which it writes into p.
//
// Injections cycle whale → spread dislocation → volume burst (→ whale cluster, with
// Config.WhaleClusters), one instrument per cycle. What they do rotates with the instrument's own
// count of cycles, so that every instrument sees whales of every size, dislocations of both signs,
// and bursts on both exchanges, whatever the number of instruments.
func (s *Source) inject(t int64, p *pending) bool {
	kinds := 3
	if s.cfg.WhaleClusters {
		kinds = 4
	}
	cycle := s.injK / kinds
	ii := cycle % len(s.ins)
	in := &s.ins[ii]
	round := cycle / len(s.ins)
	ev := Event{Instrument: in.Name}
	var start int64
	switch s.injK % kinds {
	case 0:
		st := &s.streams[2*ii+round%2]
		size := whaleSizes[(round+ii)%len(whaleSizes)] * (1 + float64(0.08*(s.injRng.Float64()-0.5)))
		s.fill(st, t, size, s.injRng, p)
		p.whale = true
		tr := &p.trade
		ev = Event{Kind: Whale, Instrument: in.Name, Exchange: st.exchange, Symbol: st.symbol,
			Start: tr.Timestamp, End: tr.Timestamp, EventID: tr.EventID, Magnitude: tr.QuoteVolume,
			Detail: fmt.Sprintf("%s %s: %s %g at %g = $%.0f", st.exchange, st.symbol, tr.Side, tr.Quantity,
				tr.Price, tr.QuoteVolume)}
		start = t
	case 1:
		start = ceil(t, spreadWindow)
		sign, where := 1.0, "above"
		if round%2 == 1 {
			sign, where = -1, "below"
		}
		in.shifts = append(in.shifts, span{start, start + 2*spreadWindow, 1 + sign*dislocation})
		ev = Event{Kind: SpreadDislocation, Instrument: in.Name, Exchange: ctc.Coinbase, Symbol: in.Coinbase,
			Start: time.Unix(0, start).UTC(), End: time.Unix(0, start+2*spreadWindow).UTC(),
			Magnitude: sign * dislocation * 100,
			Detail: fmt.Sprintf("coinbase %s: price %.1f %% %s the market for two 30 s windows (spread %+.2f %%)",
				in.Coinbase, dislocation*100, where, (1/(1+sign*dislocation)-1)*100)}
	case 2:
		st := &s.streams[2*ii+(round+1)%2]
		start = ceil(t, burstWindow)
		st.bursts = append(st.bursts, span{start, start + burstWindow, burstRate})
		if st.next > start {
			// No arrival fell before the burst at the old rate; draw the rest at the new one.
			st.next = s.arrival(st, start)
		}
		ev = Event{Kind: VolumeBurst, Instrument: in.Name, Exchange: st.exchange, Symbol: st.symbol,
			Start: time.Unix(0, start).UTC(), End: time.Unix(0, start+burstWindow).UTC(), Magnitude: burstRate,
			Detail: fmt.Sprintf("%s %s: trade rate ×%g and size ×%g for one 60 s window",
				st.exchange, st.symbol, burstRate, burstSize)}
	case 3:
		// On the exchange the cycle's burst left alone, so that the cluster is most of its flow.
		si := 2*ii + round%2
		st := &s.streams[si]
		shape := clusterShapes[(round+ii)%len(clusterShapes)]
		side := ctc.Buy
		if s.injRng.Uint64()&1 == 1 {
			side = ctc.Sell
		}
		for k := range shape.orders {
			fills := 1 + s.injRng.IntN(3)
			size := shape.size * (1 + float64(0.08*(s.injRng.Float64()-0.5)))
			s.chunks = append(s.chunks, chunk{at: t + int64(k)*clusterGap, stream: si, side: side,
				size: size / float64(fills), fills: fills, last: k == shape.orders-1})
		}
		start = s.chunks[len(s.chunks)-1].at
		ev = Event{Kind: WhaleCluster, Instrument: in.Name, Exchange: st.exchange, Symbol: st.symbol,
			Start: time.UnixMilli(t / 1e6).UTC(), End: time.UnixMilli(start / 1e6).UTC()} // Magnitude and Detail: clusterFill
	}
	s.planned = append(s.planned, planned{ev: ev, start: start, waiting: ev.Kind == Whale || ev.Kind == WhaleCluster,
		building: ev.Kind == WhaleCluster})
	return ev.Kind == Whale
}

// ceil rounds t up to a multiple of size: the start of the first whole aligned window at or
// after t. t is never negative (Validate keeps Start after 1970).
func ceil(t, size int64) int64 { return (t + size - 1) / size * size }

// pace holds a trade back until the wall clock has moved (deliver − end of warm-up)/Speed past the
// moment the first paced trade was due. Measuring from one origin keeps scheduling delays from
// accumulating.
func (s *Source) pace(ctx context.Context, deliver int64) error {
	if !s.paced {
		s.paced = true
		s.wall0 = s.cfg.Now()
	}
	due := s.wall0.Add(time.Duration(float64(deliver-s.warmEnd) / s.cfg.Speed))
	if d := due.Sub(s.cfg.Now()); d > 0 {
		return s.cfg.Sleep(ctx, d)
	}
	return nil
}

func (s *Source) at(i int32) int64 {
	if int(i) == len(s.streams) {
		if len(s.chunks) > 0 && s.chunks[0].at < s.injNext {
			return s.chunks[0].at
		}
		return s.injNext
	}
	return s.streams[i].next
}

// less orders the merge: by time, then the injector before any stream (a burst scheduled at t must
// govern trades at t), then by stream index, so ties never depend on anything but the Config.
func (s *Source) less(a, b int32) bool {
	ta, tb := s.at(a), s.at(b)
	if ta != tb {
		return ta < tb
	}
	return s.rank(a) < s.rank(b)
}

func (s *Source) rank(i int32) int32 {
	if int(i) == len(s.streams) {
		return -1
	}
	return i
}

func (s *Source) heapify() {
	for i := len(s.heap)/2 - 1; i >= 0; i-- {
		s.siftDown(i)
	}
}

func (s *Source) siftDown(i int) {
	h := s.heap
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && s.less(h[r], h[l]) {
			m = r
		}
		if !s.less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

func lateLess(a, b *pending) bool {
	return a.deliver < b.deliver || a.deliver == b.deliver && a.seq < b.seq
}

func (s *Source) pushLate() {
	h := s.late
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !lateLess(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (s *Source) popLate() pending {
	h := s.late
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && lateLess(&h[r], &h[l]) {
			m = r
		}
		if !lateLess(&h[m], &h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	s.late = h
	return top
}
