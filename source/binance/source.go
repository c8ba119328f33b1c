package binance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/clock"
	"github.com/coattailcapital/ctc/source/feed"
	"github.com/gorilla/websocket"
)

// Config configures a Source. Only Symbols is required.
type Config struct {
	// Symbols are Binance symbols (BTCUSDT) or unified ones (BTC-USDT).
	Symbols []string
	// StreamURL is the WebSocket base; default wss://stream.binance.com:9443.
	StreamURL string
	// RESTURL is the REST base used for gap repair; default https://api.binance.com.
	RESTURL string
	// SymbolMap normalises symbols; nil uses DefaultQuotes.
	SymbolMap *SymbolMap
	// Backoff paces reconnects.
	Backoff feed.Backoff
	// StaleTimeout: a connection that receives nothing (not even a ping) for this long is dead.
	// Default 60 s (Binance pings every 20 s).
	StaleTimeout time.Duration
	// MaxConnAge: connections are replaced before Binance cuts them at 24 h. Default 23 h 30 min.
	MaxConnAge time.Duration
	// MaxStreams per connection; default (and Binance's limit) 1024.
	MaxStreams int
	// ControlInterval is the pause between outgoing control messages; default 250 ms (Binance
	// allows 5 a second).
	ControlInterval time.Duration
	// SubscribeBatch is the number of streams per SUBSCRIBE message; default 200.
	SubscribeBatch int
	// RawTrades subscribes to <symbol>@trade instead of @aggTrade. Raw trade ids have no REST
	// history without an API key here, so such a source detects no gaps: use aggTrade unless every
	// fill must be seen separately.
	RawTrades bool
	// Now and Sleep are the clock; tests replace them. Sleep paces reconnects and REST retries.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	// Capture, when set, records every received frame (it is flushed on Close).
	Capture *feed.CaptureWriter
	// MaxRepair bounds the ids one repair fetches (default 100000): an absurd jump (a corrupt id)
	// must not page through the whole history. The rest is reported as an unrepaired gap.
	MaxRepair int64
	// OnGap is called (from Next) with every gap found, repaired or not.
	OnGap func(feed.Gap)
	// History is the REST client for repairs; default one on RESTURL with the same clock.
	History *History
	// Dialer defaults to one with a 10 s handshake timeout.
	Dialer *websocket.Dialer
}

// Source is the live Binance aggTrade feed (ctc.Source, ctc.Closer). Connections run in their own
// goroutines; decoding, gap detection and REST repair run in Next, so records come out in order
// and a repair delays the records behind it rather than reordering them.
type Source struct {
	cfg   Config
	hist  *History
	stats feed.Stats

	startOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	items     chan item

	mu    sync.Mutex
	conns map[*websocket.Conn]struct{}
	// groups holds the unified symbols of each connection, for the catch-up after its reconnect.
	groups [][]string
	// started is when the source started: the catch-up of a symbol with no id seen yet starts there.
	started time.Time

	// Owned by Next.
	fatal   error            // a permanent failure (ErrRegionBlocked): every Next returns it
	last    map[string]int64 // last aggregate id emitted per unified symbol
	pending []pendingRec
	trades  []ctc.Trade
	offset  int64
}

type item struct {
	conn      int
	recv      time.Time
	frame     []byte
	reconnect bool  // the connection was re-established: close the downtime from REST
	fatal     error // the connection gave up for good (ErrRegionBlocked): Next returns it
}

type pendingRec struct {
	data      []byte
	trade     ctc.Trade
	err       error
	decoded   bool
	partition string
}

// New returns a source; it connects on the first Next.
func New(cfg Config) (*Source, error) {
	if len(cfg.Symbols) == 0 {
		return nil, errors.New("binance: no symbols")
	}
	if cfg.StreamURL == "" {
		cfg.StreamURL = "wss://stream.binance.com:9443"
	}
	if cfg.StaleTimeout <= 0 {
		cfg.StaleTimeout = time.Minute
	}
	if cfg.MaxConnAge <= 0 {
		cfg.MaxConnAge = 23*time.Hour + 30*time.Minute
	}
	if cfg.MaxStreams <= 0 || cfg.MaxStreams > 1024 {
		cfg.MaxStreams = 1024
	}
	if cfg.ControlInterval <= 0 {
		cfg.ControlInterval = 250 * time.Millisecond
	}
	if cfg.SubscribeBatch <= 0 {
		cfg.SubscribeBatch = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxRepair <= 0 {
		cfg.MaxRepair = 100000
	}
	if cfg.Sleep == nil {
		cfg.Sleep = clock.Sleep
	}
	if cfg.Dialer == nil {
		cfg.Dialer = &websocket.Dialer{HandshakeTimeout: 10 * time.Second, Proxy: http.ProxyFromEnvironment}
	}
	h := cfg.History
	if h == nil {
		h = &History{Endpoint: cfg.RESTURL, Symbols: cfg.SymbolMap, Backoff: cfg.Backoff, Now: cfg.Now,
			Sleep: cfg.Sleep, MaxRetries: 2}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Source{cfg: cfg, hist: h, ctx: ctx, cancel: cancel, items: make(chan item, 4096),
		conns: map[*websocket.Conn]struct{}{}, last: map[string]int64{}}, nil
}

// Stats returns the counters.
func (s *Source) Stats() feed.StatsSnapshot { return s.stats.Snapshot() }

func (s *Source) start() {
	s.startOnce.Do(func() {
		s.started = s.cfg.Now()
		kind := "aggTrade"
		if s.cfg.RawTrades {
			kind = "trade"
		}
		streams := make([]string, len(s.cfg.Symbols))
		for i, sym := range s.cfg.Symbols {
			streams[i] = Stream(sym, kind)
		}
		for i := 0; i*s.cfg.MaxStreams < len(streams); i++ {
			lo, hi := i*s.cfg.MaxStreams, min((i+1)*s.cfg.MaxStreams, len(streams))
			var syms []string
			for _, sym := range s.cfg.Symbols[lo:hi] {
				syms = append(syms, s.cfg.SymbolMap.Normalize([]byte(strings.ToUpper(strings.ReplaceAll(sym, "-", "")))))
			}
			s.groups = append(s.groups, syms)
		}
		for i := range s.groups {
			lo, hi := i*s.cfg.MaxStreams, min((i+1)*s.cfg.MaxStreams, len(streams))
			s.wg.Add(1)
			go s.run(i, streams[lo:hi])
		}
	})
}

// run keeps one connection alive for its group of streams.
func (s *Source) run(idx int, streams []string) {
	defer s.wg.Done()
	attempt := 0
	for connected := false; ; {
		ok, err := s.session(idx, streams, connected)
		if s.ctx.Err() != nil {
			return
		}
		if ok {
			attempt, connected = 0, true
		}
		var planned *plannedError
		if errors.As(err, &planned) {
			continue // serverShutdown or the age limit: reconnect at once
		}
		if errors.Is(err, ErrRegionBlocked) {
			select { // permanent: Next returns it, and no reconnect can change it
			case s.items <- item{conn: idx, fatal: err}:
			case <-s.ctx.Done():
			}
			return
		}
		d := s.cfg.Backoff.Delay(attempt)
		attempt++
		if s.cfg.Sleep(s.ctx, d) != nil {
			return
		}
	}
}

type plannedError struct{ why string }

func (e *plannedError) Error() string { return "planned reconnect: " + e.why }

// session runs one connection until it fails; ok reports that it got as far as receiving data.
func (s *Source) session(idx int, streams []string, reconnect bool) (ok bool, err error) {
	ws, resp, err := s.cfg.Dialer.DialContext(s.ctx, strings.TrimRight(s.cfg.StreamURL, "/")+"/stream", nil)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnavailableForLegalReasons {
			return false, fmt.Errorf("binance: %s answered the WebSocket handshake with 451: %w", s.cfg.StreamURL, ErrRegionBlocked)
		}
		return false, err
	}
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		ws.Close()
		return false, s.ctx.Err()
	}
	s.conns[ws] = struct{}{}
	s.mu.Unlock()
	if reconnect {
		s.stats.Reconnects.Add(1)
	}
	defer func() {
		s.mu.Lock()
		delete(s.conns, ws)
		s.mu.Unlock()
		ws.Close()
	}()
	stale := s.cfg.StaleTimeout
	ws.SetReadDeadline(time.Now().Add(stale))
	var wmu sync.Mutex
	ws.SetPingHandler(func(p string) error {
		ws.SetReadDeadline(time.Now().Add(stale))
		wmu.Lock()
		defer wmu.Unlock()
		// The pong must echo the ping's payload, or Binance counts it as missing.
		err := ws.WriteControl(websocket.PongMessage, []byte(p), time.Now().Add(5*time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	// Subscribe in batches, paced so that control messages stay under Binance's 5 a second. Every
	// SUBSCRIBE must be acknowledged within StaleTimeout, or the connection is not trusted.
	unacked := map[int64]bool{}
	for i, id := 0, int64(1); i < len(streams); i, id = i+s.cfg.SubscribeBatch, id+1 {
		if i > 0 && s.cfg.Sleep(s.ctx, s.cfg.ControlInterval) != nil {
			return false, s.ctx.Err()
		}
		batch := streams[i:min(i+s.cfg.SubscribeBatch, len(streams))]
		msg := `{"method":"SUBSCRIBE","params":["` + strings.Join(batch, `","`) + `"],"id":` + strconv.FormatInt(id, 10) + `}`
		wmu.Lock()
		ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		err := ws.WriteMessage(websocket.TextMessage, []byte(msg))
		wmu.Unlock()
		if err != nil {
			return false, err
		}
		unacked[id] = true
	}
	if reconnect {
		select {
		case s.items <- item{conn: idx, reconnect: true}:
		case <-s.ctx.Done():
			return false, s.ctx.Err()
		}
	}
	age := time.AfterFunc(s.cfg.MaxConnAge, func() { ws.Close() })
	defer age.Stop()
	born := time.Now()
	for {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			if time.Since(born) >= s.cfg.MaxConnAge {
				return ok, &plannedError{"connection age limit"}
			}
			return ok, err
		}
		recv := s.cfg.Now()
		ws.SetReadDeadline(time.Now().Add(stale))
		if len(unacked) > 0 && time.Since(born) > stale {
			return ok, fmt.Errorf("binance: %d SUBSCRIBE messages not acknowledged within %v", len(unacked), stale)
		}
		s.stats.Messages.Add(1)
		if s.cfg.Capture != nil {
			s.mu.Lock()
			s.cfg.Capture.Write(recv, frame)
			s.mu.Unlock()
		}
		if !bytes.HasPrefix(frame, []byte(`{"stream":"`)) || bytes.HasPrefix(frame, []byte(`{"stream":"!`)) {
			_, info, derr := DecodeFrame(frame, s.cfg.SymbolMap, nil)
			switch {
			case derr != nil:
				// Malformed: Next reports it.
			case info.Kind == KindAck:
				delete(unacked, info.ID)
				ok = true
				continue
			case info.Kind == KindError:
				return ok, fmt.Errorf("binance: subscription refused: code %d: %s", info.Code, info.Msg)
			case info.Kind == KindShutdown:
				return ok, &plannedError{"serverShutdown"}
			case info.Kind != KindAggTrade && info.Kind != KindTrade:
				continue
			}
		}
		ok = true
		select {
		case s.items <- item{conn: idx, recv: recv, frame: frame}:
		case <-s.ctx.Done():
			return ok, s.ctx.Err()
		}
	}
}

// ErrClosed (which wraps ctc.ErrClosed) is returned by Next after Close.
var ErrClosed = fmt.Errorf("binance: source closed: %w", ctc.ErrClosed)

// Next returns the next trade or malformed frame; ErrClosed after Close, even when frames were
// still queued. It must not be called concurrently (the pipeline calls it from one goroutine).
func (s *Source) Next(ctx context.Context, rec *ctc.Record) error {
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	s.start()
	for len(s.pending) == 0 {
		if s.fatal != nil {
			return s.fatal
		}
		select {
		case it := <-s.items:
			if it.fatal != nil {
				s.fatal = it.fatal
				continue
			}
			s.handle(ctx, it)
		case <-ctx.Done():
			return ctx.Err()
		case <-s.ctx.Done():
			return ErrClosed
		}
	}
	p := s.pending[0]
	s.pending[0] = pendingRec{}
	s.pending = s.pending[1:]
	rec.Reset()
	rec.Data = append(rec.Data, p.data...)
	rec.Decoded, rec.Trade, rec.Err = p.decoded, p.trade, p.err
	s.offset++
	rec.Position = ctc.Position{Partition: p.partition, Offset: s.offset}
	return nil
}

func (s *Source) handle(ctx context.Context, it item) {
	part := "binance/" + strconv.Itoa(it.conn)
	if it.reconnect {
		s.catchUp(ctx, it.conn, part)
		return
	}
	var info Info
	var err error
	s.trades, info, err = DecodeFrame(it.frame, s.cfg.SymbolMap, s.trades[:0])
	if err != nil {
		s.stats.Malformed.Add(1)
		s.pending = append(s.pending, pendingRec{data: it.frame, err: err, partition: part})
		return
	}
	for _, t := range s.trades {
		t.IngestionTimestamp = it.recv.UTC()
		s.stats.LagMillis.Store(it.recv.Sub(t.Timestamp).Milliseconds())
		if info.Kind == KindAggTrade {
			last, seen := s.last[t.Symbol]
			if seen && info.ID <= last {
				continue // overlap after a reconnect or a repair
			}
			if seen && info.ID > last+1 {
				s.repair(ctx, t.Symbol, last+1, info.ID-1, part, "aggregate ids jumped")
			}
			s.last[t.Symbol] = info.ID
		}
		s.stats.Trades.Add(1)
		s.pending = append(s.pending, pendingRec{data: it.frame, trade: t, decoded: true, partition: part})
	}
}

// catchUp fetches what the symbols of a connection traded while it was down: from the id after
// the last one emitted, up to MaxRepair ids (a longer outage is closed by the gap check when the
// stream's next trade arrives).
func (s *Source) catchUp(ctx context.Context, conn int, part string) {
	for _, sym := range s.groups[conn] {
		if last, ok := s.last[sym]; ok {
			s.repair(ctx, sym, last+1, last+s.cfg.MaxRepair, part, "reconnected")
			continue
		}
		// No id seen yet: what traded since the source started is found by time.
		page, err := s.hist.Page(ctx, sym, -1, s.started.UnixMilli(), 0, 1000)
		if err != nil {
			s.stats.GapsDetected.Add(1)
			s.stats.GapsUnrepaired.Add(1)
			s.gap(feed.Gap{Exchange: ctc.Binance, Symbol: sym, From: s.started, To: s.cfg.Now(),
				Reason: "reconnected before any trade was seen; REST catch-up failed: " + err.Error()})
			continue
		}
		if len(page) == 0 {
			continue
		}
		s.stats.GapsDetected.Add(1)
		s.stats.GapsRepaired.Add(1)
		s.gap(feed.Gap{Exchange: ctc.Binance, Symbol: sym, FirstID: page[0].ID, LastID: page[len(page)-1].ID,
			Repaired: true, Reason: "reconnected before any trade was seen"})
		for _, a := range page {
			s.emitRepaired(sym, a, part)
		}
		if len(page) == 1000 {
			last := s.last[sym]
			s.repair(ctx, sym, last+1, last+s.cfg.MaxRepair, part, "reconnected")
		}
	}
}

func (s *Source) emitRepaired(sym string, a AggTrade, part string) {
	a.Trade.IngestionTimestamp = s.cfg.Now().UTC()
	s.last[sym] = a.ID
	s.stats.Trades.Add(1)
	s.pending = append(s.pending, pendingRec{data: a.Trade.AppendJSON(nil), trade: a.Trade, decoded: true, partition: part})
}

// repair fetches ids [from, to] of symbol from REST and queues them; what it cannot fetch is
// reported as an unrepaired gap. An open-ended catch-up (reason "reconnected") is not a gap when
// the history simply has nothing newer.
func (s *Source) repair(ctx context.Context, sym string, from, to int64, part, reason string) {
	catchUp := reason == "reconnected"
	if !catchUp {
		s.stats.GapsDetected.Add(1)
	}
	got := int64(0)
	fetchTo := min(to, from+s.cfg.MaxRepair-1)
	next, err := s.hist.Range(ctx, sym, from, fetchTo, func(page []AggTrade) error {
		for _, a := range page {
			if a.ID <= s.last[sym] {
				continue
			}
			got++
			s.emitRepaired(sym, a, part)
		}
		return nil
	})
	if catchUp {
		if got > 0 {
			s.stats.GapsDetected.Add(1)
		}
		if err == nil {
			if got > 0 {
				s.stats.GapsRepaired.Add(1)
				s.gap(feed.Gap{Exchange: ctc.Binance, Symbol: sym, FirstID: from, LastID: next - 1, Repaired: true, Reason: reason})
			}
			return
		}
		if got == 0 {
			s.stats.GapsDetected.Add(1)
		}
		s.stats.GapsUnrepaired.Add(1)
		s.gap(feed.Gap{Exchange: ctc.Binance, Symbol: sym, FirstID: next, LastID: 0, Repaired: false,
			Reason: "reconnected; REST catch-up failed: " + err.Error()})
		return
	}
	if err == nil && next > to {
		s.stats.GapsRepaired.Add(1)
		s.gap(feed.Gap{Exchange: ctc.Binance, Symbol: sym, FirstID: from, LastID: to, Repaired: true, Reason: reason})
		return
	}
	why := reason + "; REST history does not hold them"
	if err == nil && next > fetchTo {
		why = reason + "; more than MaxRepair ids"
	}
	if err != nil {
		why = reason + "; REST failed: " + err.Error()
	}
	s.stats.GapsUnrepaired.Add(1)
	s.gap(feed.Gap{Exchange: ctc.Binance, Symbol: sym, FirstID: next, LastID: to, Repaired: false, Reason: why})
}

func (s *Source) gap(g feed.Gap) {
	if s.cfg.OnGap != nil {
		s.cfg.OnGap(g)
	}
}

// Close stops every connection goroutine and waits for them, up to ctx's deadline.
func (s *Source) Close(ctx context.Context) error {
	s.cancel()
	s.mu.Lock()
	for ws := range s.conns {
		ws.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("binance: close: %w", ctx.Err())
	}
	if s.cfg.Capture != nil {
		return s.cfg.Capture.Flush()
	}
	return nil
}
