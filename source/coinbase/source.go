package coinbase

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/clock"
	"github.com/coattailcapital/ctc/source/feed"
	"github.com/gorilla/websocket"
)

// The production endpoints.
const (
	DefaultWSURL   = "wss://ws-feed.exchange.coinbase.com"
	DefaultRESTURL = "https://api.exchange.coinbase.com"
	// DefaultAdvancedWSURL is the Advanced Trade market data feed (public channels need no JWT).
	DefaultAdvancedWSURL = "wss://advanced-trade-ws.coinbase.com"
)

// Config configure a Source.
type Config struct {
	// Products to subscribe to, e.g. BTC-USD.
	Products []string
	// WSURL and RESTURL default to the production endpoints.
	WSURL, RESTURL string
	// Backoff spaces reconnect attempts.
	Backoff feed.Backoff
	// StaleTimeout is how long the connection may be silent (heartbeats included: Coinbase sends
	// one per product per second) before it is treated as dead and replaced. Default 10 s.
	StaleTimeout time.Duration
	// HTTPClient serves REST requests; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Dialer dials the feed; default websocket.DefaultDialer with a 10 s handshake timeout.
	Dialer *websocket.Dialer
	// Now stamps IngestionTimestamp; default time.Now.
	Now func() time.Time
	// Sleep waits between reconnect attempts; default a context-aware timer. Tests record it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Capture, when set, records every received frame (feed capture format).
	Capture *feed.CaptureWriter
	// OnGap is told of every gap found, repaired or not. It runs on the caller of Next.
	OnGap func(feed.Gap)
	// Advanced reads the Advanced Trade feed (market_trades and heartbeats channels) instead of the
	// Exchange feed; WSURL then defaults to DefaultAdvancedWSURL. Gaps are still repaired from the
	// Exchange REST history, which numbers trades the same way.
	Advanced bool
	// AdvancedSide must say how to read market_trades "side" when Advanced is set (see SideMeaning).
	AdvancedSide SideMeaning
	// RESTPageLimit is the page size of REST repair requests (≤ 1000, the exchange's limit).
	RESTPageLimit int
	// MaxRepair bounds how many trades one gap may fetch from REST; beyond it the oldest part of
	// the gap is reported unrepaired. Default 100,000.
	MaxRepair int
}

// ErrClosed (which wraps ctc.ErrClosed) is returned by Next after Close.
var ErrClosed = fmt.Errorf("coinbase: source closed: %w", ctc.ErrClosed)

// ExchangeError is an error frame from the exchange, handed over as a record's Err.
type ExchangeError struct{ Message, Reason string }

func (e *ExchangeError) Error() string {
	return "coinbase: error frame: " + e.Message + ": " + e.Reason
}

// Source reads trades from the Coinbase Exchange feed (see the package doc for how it repairs
// gaps). Next must be called from one goroutine; Close and Stats may be called from any.
type Source struct {
	opt   Config
	stats feed.Stats
	dec   Decoder

	mu     sync.Mutex
	conn   *websocket.Conn
	closed bool
	base   context.Context
	cancel context.CancelFunc

	// Only Next touches what follows.
	products  map[string]*product
	attempt   int
	connected bool // a connection was established before (so the next one is a reconnect)
	buf       []byte
	trades    []ctc.Trade
	pending   []pendingTrade
	head      int // pending[head:] are still to emit
	offset    int64
	poisoned  bool
	advIDs    []int64
	order     []int
}

type product struct {
	lastID  int64 // last trade id emitted; 0 before the first
	lastSeq int64
}

type pendingTrade struct {
	t    ctc.Trade
	data []byte
}

// New returns a Source; it connects on the first Next.
func New(opt Config) (*Source, error) {
	if len(opt.Products) == 0 {
		return nil, errors.New("coinbase: no products")
	}
	for _, p := range opt.Products {
		if !validProduct([]byte(p)) {
			return nil, fmt.Errorf("coinbase: product %q is not BASE-QUOTE", p)
		}
	}
	if opt.Advanced && opt.AdvancedSide != SideIsTaker && opt.AdvancedSide != SideIsMaker {
		return nil, errors.New("coinbase: Advanced needs AdvancedSide: SideIsTaker (the documented reading, DefaultAdvancedSide) or SideIsMaker")
	}
	if opt.WSURL == "" {
		opt.WSURL = DefaultWSURL
		if opt.Advanced {
			opt.WSURL = DefaultAdvancedWSURL
		}
	}
	if opt.RESTURL == "" {
		opt.RESTURL = DefaultRESTURL
	}
	if opt.StaleTimeout <= 0 {
		opt.StaleTimeout = 10 * time.Second
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if opt.Dialer == nil {
		d := *websocket.DefaultDialer
		d.HandshakeTimeout = 10 * time.Second
		opt.Dialer = &d
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = clock.Sleep
	}
	if opt.RESTPageLimit <= 0 || opt.RESTPageLimit > 1000 {
		opt.RESTPageLimit = 1000
	}
	if opt.MaxRepair <= 0 {
		opt.MaxRepair = 100_000
	}
	s := &Source{opt: opt, products: map[string]*product{}}
	s.dec = Decoder{AdvancedSide: opt.AdvancedSide, ids: &s.advIDs}
	for _, p := range opt.Products {
		s.products[intern([]byte(p))] = &product{}
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Stats returns the counters.
func (s *Source) Stats() feed.StatsSnapshot { return s.stats.Snapshot() }

// Close drops the connection; a Next blocked in it returns ErrClosed. No goroutine outlives it.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.cancel()
	if s.conn != nil {
		s.conn.Close()
	}
	// Idle keep-alive connections of the REST client hold goroutines.
	s.opt.HTTPClient.CloseIdleConnections()
	if s.opt.Capture != nil {
		return s.opt.Capture.Flush()
	}
	return nil
}

func (s *Source) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Next fills rec with the next trade (Decoded, Data = the frame or REST object it came from), or
// with a frame that could not be used (Err set). It reconnects and repairs gaps as needed.
func (s *Source) Next(ctx context.Context, rec *ctc.Record) error {
	for {
		if s.head < len(s.pending) {
			p := &s.pending[s.head]
			s.head++
			s.emit(rec, p.t, p.data)
			if s.head == len(s.pending) {
				// Reuse the queue's storage: a match per frame must not cost an allocation.
				s.pending, s.head = s.pending[:0], 0
			}
			return nil
		}
		if s.isClosed() {
			return ErrClosed
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.conn == nil {
			if err := s.connect(ctx); err != nil {
				if s.isClosed() {
					return ErrClosed
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue
			}
		}
		frame, err := s.read(ctx)
		if err != nil {
			s.dropConn()
			if s.isClosed() {
				return ErrClosed
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		if done, err := s.handle(ctx, frame, rec); done || err != nil {
			return err
		}
	}
}

func (s *Source) emit(rec *ctc.Record, t ctc.Trade, data []byte) {
	now := s.opt.Now()
	t.IngestionTimestamp = now
	s.stats.Trades.Add(1)
	s.stats.LagMillis.Store(now.Sub(t.Timestamp).Milliseconds())
	s.offset++
	*rec = ctc.Record{Data: data, Decoded: true, Trade: t, Position: ctc.Position{Partition: ctc.Coinbase, Offset: s.offset}}
}

// connect dials and subscribes, sleeping the back-off delay before every attempt but the very
// first, so that a flapping exchange is not hammered.
func (s *Source) connect(ctx context.Context) error {
	if s.connected || s.attempt > 0 {
		sctx, release := s.merged(ctx)
		err := s.opt.Sleep(sctx, s.opt.Backoff.Delay(s.attempt))
		release()
		if err != nil {
			return err
		}
	}
	s.attempt++
	dctx, release := s.merged(ctx)
	defer release()
	c, resp, err := s.opt.Dialer.DialContext(dctx, s.opt.WSURL, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return err
	}
	for _, sub := range s.subscribeMessages() {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := c.WriteMessage(websocket.TextMessage, sub); err != nil {
			c.Close()
			return err
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return ErrClosed
	}
	s.conn = c
	s.mu.Unlock()
	if s.connected {
		s.stats.Reconnects.Add(1)
	}
	s.connected = true
	return nil
}

func (s *Source) subscribeMessages() [][]byte {
	type exchangeSub struct {
		Type       string   `json:"type"`
		ProductIDs []string `json:"product_ids"`
		Channels   []string `json:"channels"`
	}
	type advancedSub struct {
		Type       string   `json:"type"`
		ProductIDs []string `json:"product_ids"`
		Channel    string   `json:"channel"`
	}
	if !s.opt.Advanced {
		b, _ := json.Marshal(exchangeSub{"subscribe", s.opt.Products, []string{"matches", "heartbeat"}})
		return [][]byte{b}
	}
	// Advanced Trade takes one channel per message; heartbeats keep a quiet connection open.
	a, _ := json.Marshal(advancedSub{"subscribe", s.opt.Products, "market_trades"})
	b, _ := json.Marshal(advancedSub{"subscribe", s.opt.Products, "heartbeats"})
	return [][]byte{a, b}
}

// merged is ctx, also cancelled by Close; release frees it.
func (s *Source) merged(ctx context.Context) (context.Context, func()) {
	m, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.base, cancel)
	return m, func() { stop(); cancel() }
}

func (s *Source) dropConn() {
	s.mu.Lock()
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.mu.Unlock()
	s.poisoned = false
}

// read returns the next frame. A cancelled ctx expires the read deadline to unblock it; gorilla
// connections cannot resume after a failed read, so the connection is then replaced on the next call.
func (s *Source) read(ctx context.Context) ([]byte, error) {
	c := s.conn
	if s.poisoned {
		s.poisoned = false
		return nil, errors.New("coinbase: read deadline expired by a cancelled context")
	}
	c.SetReadDeadline(time.Now().Add(s.opt.StaleTimeout))
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() {
				s.poisoned = true // the deadline may have been expired after the read succeeded
			}
		}()
	}
	_, r, err := c.NextReader()
	if err != nil {
		return nil, err
	}
	s.buf = s.buf[:0]
	for {
		if len(s.buf) == cap(s.buf) {
			s.buf = append(s.buf, 0)[:len(s.buf)]
		}
		n, err := r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	s.attempt = 0
	s.stats.Messages.Add(1)
	if s.opt.Capture != nil {
		// Under mu: Close flushes the same writer from another goroutine.
		s.mu.Lock()
		if !s.closed {
			s.opt.Capture.Write(s.opt.Now(), s.buf)
		}
		s.mu.Unlock()
	}
	return s.buf, nil
}

// handle processes one frame; done reports that rec was filled.
func (s *Source) handle(ctx context.Context, frame []byte, rec *ctc.Record) (bool, error) {
	var info Info
	var err error
	s.advIDs = s.advIDs[:0]
	s.trades, info, err = s.dec.Decode(frame, s.trades[:0])
	if err != nil {
		s.stats.Malformed.Add(1)
		s.offset++
		*rec = ctc.Record{Data: frame, Err: err, Position: ctc.Position{Partition: ctc.Coinbase, Offset: s.offset}}
		return true, nil
	}
	switch info.Kind {
	case KindError:
		s.offset++
		*rec = ctc.Record{Data: frame, Err: &ExchangeError{info.Message, info.Reason}, Position: ctc.Position{Partition: ctc.Coinbase, Offset: s.offset}}
		return true, nil
	case KindMatch, KindLastMatch:
		s.accept(ctx, info.Product, info.TradeID, info.Sequence, info.Kind == KindLastMatch, s.trades[0], frame)
		return false, nil
	case KindMarketTrades:
		// A batch may hold several products, newest first: emit in trade-id order per product.
		idx := s.order[:0]
		for i := range s.trades {
			idx = append(idx, i)
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			if c := strings.Compare(s.trades[a].Symbol, s.trades[b].Symbol); c != 0 {
				return c
			}
			return cmp.Compare(s.advIDs[a], s.advIDs[b])
		})
		s.order = idx
		for _, i := range idx {
			if s.advIDs[i] < 0 {
				s.pending = append(s.pending, pendingTrade{s.trades[i], frame}) // no numeric id: nothing to check
				continue
			}
			s.accept(ctx, s.trades[i].Symbol, s.advIDs[i], 0, false, s.trades[i], frame)
		}
		return false, nil
	case KindHeartbeat:
		p := s.products[info.Product]
		if p == nil || info.TradeID <= p.lastID {
			return false, nil
		}
		if p.lastID == 0 {
			// No last_match (a product without trades yet, say): the heartbeat sets the baseline,
			// so that a trade lost before the first match received is still noticed.
			p.lastID = info.TradeID
			return false, nil
		}
		first := p.lastID + 1
		p.lastID = info.TradeID
		s.repair(ctx, info.Product, first, info.TradeID, fmt.Sprintf("heartbeat last_trade_id %d after %d", info.TradeID, first-1))
	}
	return false, nil
}

// accept queues a trade unless it was emitted already, repairing the ids between the last one
// emitted and it first.
func (s *Source) accept(ctx context.Context, prod string, id, seq int64, historical bool, t ctc.Trade, frame []byte) {
	p := s.products[prod]
	if p == nil {
		return // not subscribed: a stale subscription's tail
	}
	if id <= p.lastID {
		return // already emitted: the last_match after a reconnect, or an overlap
	}
	if p.lastID > 0 && id > p.lastID+1 {
		reason := fmt.Sprintf("trade id %d after %d", id, p.lastID)
		if historical {
			reason = "reconnect: " + reason
		} else if seq > 0 && p.lastSeq > 0 {
			reason += fmt.Sprintf(" (sequence %d after %d)", seq, p.lastSeq)
		}
		s.repair(ctx, prod, p.lastID+1, id-1, reason)
	}
	p.lastID = id
	p.lastSeq = seq
	s.pending = append(s.pending, pendingTrade{t, frame})
}

// repair fetches trade ids first..last of product from REST, queues what it found in id order,
// and reports the gap (and what could not be fetched).
func (s *Source) repair(ctx context.Context, prod string, first, last int64, reason string) {
	s.stats.GapsDetected.Add(1)
	got, err := s.fetch(ctx, prod, first, last)
	slices.SortFunc(got, func(a, b PageTrade) int { return cmp.Compare(a.ID, b.ID) })
	have := first
	var missing []feed.Gap
	for _, pt := range got {
		if pt.ID < have {
			continue
		}
		if pt.ID > have {
			missing = append(missing, feed.Gap{FirstID: have, LastID: pt.ID - 1})
		}
		if pt.Err != nil {
			missing = append(missing, feed.Gap{FirstID: pt.ID, LastID: pt.ID})
		} else {
			s.pending = append(s.pending, pendingTrade{pt.Trade, pt.Raw})
		}
		have = pt.ID + 1
	}
	if have <= last {
		missing = append(missing, feed.Gap{FirstID: have, LastID: last})
	}
	if len(missing) == 0 {
		s.stats.GapsRepaired.Add(1)
		s.gap(feed.Gap{Exchange: ctc.Coinbase, Symbol: prod, FirstID: first, LastID: last, Repaired: true, Reason: reason})
		return
	}
	s.stats.GapsUnrepaired.Add(1)
	why := "not in the REST history"
	if err != nil {
		why = "REST: " + err.Error()
	}
	for _, g := range missing {
		g.Exchange, g.Symbol, g.Reason = ctc.Coinbase, prod, reason+"; "+why
		s.gap(g)
	}
}

func (s *Source) gap(g feed.Gap) {
	if s.opt.OnGap != nil {
		s.opt.OnGap(g)
	}
}

// fetch pages back from just after last until it passes first (newest first, CB-AFTER cursor).
// Pages are read by DecodeTradesPage, the history's decoder, so a repaired trade is the trade a
// backfill of the same day reads; a page whose trade ids cannot be read ends the repair with its
// error, and an element with another bad field comes back with Err set (reported missing).
func (s *Source) fetch(ctx context.Context, prod string, first, last int64) ([]PageTrade, error) {
	mctx, release := s.merged(ctx)
	defer release()
	var out, page []PageTrade
	after := last + 1
	for len(out) < s.opt.MaxRepair {
		u := fmt.Sprintf("%s/products/%s/trades?limit=%d&after=%d", s.opt.RESTURL, url.PathEscape(prod), s.opt.RESTPageLimit, after)
		body, hdr, err := s.get(mctx, u)
		if err != nil {
			return out, err
		}
		page, err = DecodeTradesPage(prod, body, page[:0])
		if err != nil {
			return out, fmt.Errorf("GET %s: %w", u, err)
		}
		if len(page) == 0 {
			return out, nil
		}
		lowest := after
		for _, pt := range page {
			lowest = min(lowest, pt.ID)
			if pt.ID >= first && pt.ID <= last {
				out = append(out, pt)
			}
		}
		if lowest <= first {
			return out, nil
		}
		next := lowest
		if h := hdr.Get("CB-AFTER"); h != "" {
			if n, err := strconv.ParseInt(h, 10, 64); err == nil {
				next = n
			}
		}
		if next >= after {
			return out, fmt.Errorf("GET %s: cursor did not move", u)
		}
		after = next
	}
	return out, fmt.Errorf("gap larger than MaxRepair (%d)", s.opt.MaxRepair)
}

// restAttempts bounds the tries of one REST page: Coinbase limits public requests per second
// (429) and has transient 5xx; a gap is worth a few seconds of waiting, not an unbounded stall.
const restAttempts = 4

// get fetches one page, retrying 429 and 5xx after the back-off delay (or Retry-After).
func (s *Source) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	var last error
	for attempt := range restAttempts {
		if attempt > 0 {
			if err := s.opt.Sleep(ctx, s.retryDelay(attempt-1, last)); err != nil {
				return nil, nil, err
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, nil, err
		}
		resp, err := s.opt.HTTPClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, err
			}
			last = err
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		switch {
		case err != nil:
			last = err
		case resp.StatusCode == http.StatusOK:
			return body, resp.Header, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = &statusError{u, resp.Status, resp.Header.Get("Retry-After")}
		default:
			return nil, nil, &statusError{u, resp.Status, ""}
		}
	}
	return nil, nil, last
}

type statusError struct{ url, status, retryAfter string }

func (e *statusError) Error() string { return "GET " + e.url + ": " + e.status }

func (s *Source) retryDelay(n int, err error) time.Duration {
	var se *statusError
	if errors.As(err, &se) && se.retryAfter != "" {
		if secs, perr := strconv.Atoi(se.retryAfter); perr == nil && secs >= 0 && secs <= 60 {
			return time.Duration(secs) * time.Second
		}
	}
	return s.opt.Backoff.Delay(n)
}

var (
	_ ctc.Source = (*Source)(nil)
	_ ctc.Closer = (*Source)(nil)
)
