// Package coinbasetest is a local server that speaks the Coinbase Exchange WebSocket feed
// (matches and heartbeat channels) and the REST trade history on 127.0.0.1, with controls for the
// failures a live source must survive: dropped connections, stalls, trades lost on the wire
// (repairable from REST) or lost for good, malformed frames and error frames.
//
// The server holds one scripted trade history per product. Match appends a trade to it and sends
// it to the subscribed connection; Skip appends trades without sending them, Lose appends trades
// that neither the feed nor REST will ever show; Load appends trades with chosen ids and times
// (a past day, ids with holes) for the REST history alone.
//
// # REST
//
// GET /products/{id}/trades follows Coinbase's cursor pagination: at most limit (default 1000,
// at most 1000) trades, newest first; after=N pages to older trades (ids below N, the newest of
// them), before=N to newer ones (ids above N, the oldest of them, still listed newest first);
// CB-BEFORE and CB-AFTER carry the ids of the page's first and last trade. RateLimit makes it
// answer 429 beyond a token bucket of requests (on the server's Clock), and AnswerREST scripts the
// next answers: an error status, a Retry-After, a stall that holds the request until the client
// gives up.
package coinbasetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Trade is one scripted trade as the server keeps it.
type Trade struct {
	ID       int64
	Product  string
	Price    string
	Size     string
	Side     string // the maker's side, as Coinbase sends it
	Time     time.Time
	Sequence int64
	// Hidden trades are absent from REST as well: an unrepairable loss.
	Hidden bool
}

// Server is a Coinbase-Exchange-like WebSocket and REST server.
type Server struct {
	// URL is the WebSocket feed URL (ws://127.0.0.1:port/); RESTURL the REST base URL.
	URL, RESTURL string
	// SubscribeTimeout is how long a connection may wait before subscribing (5 s, as Coinbase).
	SubscribeTimeout time.Duration

	hs       *httptest.Server
	upgrader websocket.Upgrader

	mu          sync.Mutex
	cond        *sync.Cond
	trades      map[string][]Trade
	seq         map[string]int64
	conn        *websocket.Conn
	subscribed  []string
	subs        int // subscriptions served so far
	rejectDials int
	restFail    int
	restCalls   int
	conns       map[*websocket.Conn]bool
	stalled     bool
	advanced    bool
	advSeq      int64
	hbStop      chan struct{}
	wg          sync.WaitGroup
	closed      bool

	// Clock is the time of the REST rate limit (default time.Now); set it before the first request.
	Clock func() time.Time

	answers         []RESTAnswer
	requests        []url.Values
	rate            float64 // tokens a second; 0: no limit
	burst           float64
	tokens          float64
	tokensAt        time.Time
	stallQuit       chan struct{}
	limited         int // 429s answered by the rate limit
	pageCap         int
	limitRetryAfter string
}

// RESTAnswer scripts one answer of the REST trade history in place of the normal one.
type RESTAnswer struct {
	// Status is the HTTP status to answer (with a Coinbase-style {"message":…} body).
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Stall holds the request open without answering until the client gives up (or Close).
	Stall bool
	// Body, when set, is answered with status 200 (or Status) instead of the page: a truncated or
	// malformed page.
	Body string
}

// FirstTradeID is the id of each product's first scripted trade.
const FirstTradeID = 1000

// base is the time of trade FirstTradeID; each later trade is one millisecond after the previous.
var base = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// NewAdvanced starts a server that speaks the Advanced Trade feed instead (market_trades and
// heartbeats channels; a snapshot instead of last_match). Its market_trades "side" is the
// taker's side. REST is the same Exchange trade history.
func NewAdvanced(products ...string) *Server {
	s := New(products...)
	s.mu.Lock()
	s.advanced = true
	s.mu.Unlock()
	return s
}

// New starts a server with one history trade per product (the one the first last_match shows).
func New(products ...string) *Server {
	s := &Server{SubscribeTimeout: 5 * time.Second, trades: map[string][]Trade{}, seq: map[string]int64{},
		conns: map[*websocket.Conn]bool{}, stallQuit: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	for _, p := range products {
		s.seq[p] = 100
		s.appendTrade(p, false)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /products/{id}/trades", s.restTrades)
	mux.HandleFunc("/", s.ws)
	s.hs = httptest.NewServer(mux)
	s.URL = "ws" + strings.TrimPrefix(s.hs.URL, "http") + "/"
	s.RESTURL = s.hs.URL
	return s
}

// Close drops every connection and stops the server, waiting for its goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	if s.hbStop != nil {
		close(s.hbStop)
	}
	for c := range s.conns {
		c.Close()
	}
	close(s.stallQuit)
	s.cond.Broadcast()
	s.mu.Unlock()
	s.hs.CloseClientConnections()
	s.hs.Close()
	s.wg.Wait()
}

// appendTrade adds the next trade of p to the history (s.mu held).
func (s *Server) appendTrade(p string, hidden bool) Trade {
	h := s.trades[p]
	id := int64(FirstTradeID)
	if len(h) > 0 {
		id = h[len(h)-1].ID + 1
	}
	s.seq[p]++
	side := "buy"
	if id%3 == 0 {
		side = "sell"
	}
	t := Trade{ID: id, Product: p, Price: fmt.Sprintf("%d.%02d", 100+id%50, id%100), Size: fmt.Sprintf("0.%03d", 1+id%999),
		Side: side, Time: base.Add(time.Duration(id-FirstTradeID) * time.Millisecond), Sequence: s.seq[p], Hidden: hidden}
	s.trades[p] = append(h, t)
	return t
}

// MatchFrame is the match message of t ("last_match" when last is set).
func MatchFrame(t Trade, last bool) []byte {
	typ := "match"
	if last {
		typ = "last_match"
	}
	return fmt.Appendf(nil, `{"type":%q,"trade_id":%d,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","side":%q,"size":%q,"price":%q,"product_id":%q,"sequence":%d,"time":%q}`,
		typ, t.ID, t.Side, t.Size, t.Price, t.Product, t.Sequence, t.Time.Format("2006-01-02T15:04:05.000000Z07:00"))
}

// TakerSide is the aggressor's side of t in Advanced Trade spelling: the opposite of the maker's.
func TakerSide(t Trade) string {
	if t.Side == "buy" {
		return "SELL"
	}
	return "BUY"
}

// marketTradesLocked is an Advanced Trade market_trades frame (s.mu held).
func (s *Server) marketTradesLocked(typ string, ts []Trade) []byte {
	s.advSeq++
	var b strings.Builder
	fmt.Fprintf(&b, `{"channel":"market_trades","client_id":"","timestamp":%q,"sequence_num":%d,"events":[{"type":%q,"trades":[`,
		time.Now().UTC().Format(time.RFC3339Nano), s.advSeq, typ)
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"trade_id":"%d","product_id":%q,"price":%q,"size":%q,"side":%q,"time":%q}`,
			t.ID, t.Product, t.Price, t.Size, TakerSide(t), t.Time.Format(time.RFC3339Nano))
	}
	b.WriteString("]}]}")
	return []byte(b.String())
}

// Match scripts the next trade of product and sends it to the subscribed connection, if any.
func (s *Server) Match(product string) Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.appendTrade(product, false)
	if s.advanced {
		s.sendLocked(s.marketTradesLocked("update", []Trade{t}))
	} else {
		s.sendLocked(MatchFrame(t, false))
	}
	return t
}

// Skip scripts n trades of product that the feed does not send (a sequence and trade-id gap)
// but REST serves.
func (s *Server) Skip(product string, n int) []Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Trade
	for range n {
		out = append(out, s.appendTrade(product, false))
	}
	return out
}

// Lose scripts n trades of product that neither the feed nor REST will show.
func (s *Server) Lose(product string, n int) []Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Trade
	for range n {
		out = append(out, s.appendTrade(product, true))
	}
	return out
}

// Heartbeat sends a heartbeat for product with its latest trade id.
func (s *Server) Heartbeat(product string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.trades[product]
	var last int64
	if len(h) > 0 {
		last = h[len(h)-1].ID
	}
	if s.advanced {
		s.advSeq++
		s.sendLocked(fmt.Appendf(nil, `{"channel":"heartbeats","client_id":"","timestamp":%q,"sequence_num":%d,"events":[{"current_time":%q,"heartbeat_counter":"%d"}]}`,
			time.Now().UTC().Format(time.RFC3339Nano), s.advSeq, time.Now().UTC().String(), s.advSeq))
		return
	}
	s.sendLocked(fmt.Appendf(nil, `{"type":"heartbeat","sequence":%d,"last_trade_id":%d,"product_id":%q,"time":%q}`,
		s.seq[product], last, product, time.Now().UTC().Format(time.RFC3339Nano)))
}

// Send sends raw bytes as a text frame (malformed frames, anything).
func (s *Server) Send(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendLocked(frame)
}

// SendError sends an error frame.
func (s *Server) SendError(message, reason string) {
	b, _ := json.Marshal(map[string]string{"type": "error", "message": message, "reason": reason})
	s.Send(b)
}

// Drop closes the current connection abruptly (no close frame).
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.NetConn().Close()
		s.conn = nil
	}
}

// Stall keeps the connection open but silent (heartbeats included) while on; what is scripted
// meanwhile is never sent but stays in the REST history.
func (s *Server) Stall(on bool) {
	s.mu.Lock()
	s.stalled = on
	s.mu.Unlock()
}

// HeartbeatEvery sends a heartbeat per subscribed product every d, as Coinbase does every second,
// until Close.
func (s *Server) HeartbeatEvery(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hbStop != nil || s.closed {
		return
	}
	s.hbStop = make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.hbStop:
				return
			case <-t.C:
			}
			s.mu.Lock()
			prods := append([]string(nil), s.subscribed...)
			if s.conn == nil {
				prods = nil
			}
			s.mu.Unlock()
			for _, p := range prods {
				s.Heartbeat(p)
			}
		}
	}()
}

// RejectDials makes the next n connection attempts fail with 503.
func (s *Server) RejectDials(n int) {
	s.mu.Lock()
	s.rejectDials = n
	s.mu.Unlock()
}

// FailREST makes the next n REST requests fail with 500.
func (s *Server) FailREST(n int) {
	s.mu.Lock()
	s.restFail = n
	s.mu.Unlock()
}

// RESTCalls is the number of REST trade requests served.
func (s *Server) RESTCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restCalls
}

// Subscriptions is the number of subscriptions served so far (one per successful connection).
func (s *Server) Subscriptions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.subs
}

// WaitSubscribed blocks until at least n subscriptions were served, or the timeout passes.
func (s *Server) WaitSubscribed(n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer t.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.subs < n && !s.closed {
		if time.Now().After(deadline) {
			return false
		}
		s.cond.Wait()
	}
	return s.subs >= n
}

// History is every scripted trade of product, oldest first.
func (s *Server) History(product string) []Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Trade(nil), s.trades[product]...)
}

func (s *Server) sendLocked(frame []byte) {
	if s.conn == nil || s.stalled {
		return
	}
	s.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := s.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		s.conn.NetConn().Close()
		s.conn = nil
	}
}

func (s *Server) ws(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.rejectDials > 0 {
		s.rejectDials--
		s.mu.Unlock()
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	s.mu.Unlock()
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[c] = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		if s.conn == c {
			s.conn = nil
		}
		s.mu.Unlock()
		c.Close()
		s.wg.Done()
	}()
	c.SetReadDeadline(time.Now().Add(s.SubscribeTimeout))
	_, msg, err := c.ReadMessage()
	if err != nil {
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"error","message":"Failed to subscribe","reason":"subscribe within 5 seconds"}`))
		return
	}
	var sub struct {
		Type       string   `json:"type"`
		ProductIDs []string `json:"product_ids"`
		Channels   []string `json:"channels"`
		Channel    string   `json:"channel"` // Advanced Trade: one channel per message
	}
	if json.Unmarshal(msg, &sub) != nil || sub.Type != "subscribe" || len(sub.ProductIDs) == 0 {
		c.WriteMessage(websocket.TextMessage, []byte(`{"type":"error","message":"Failed to subscribe","reason":"malformed subscribe"}`))
		return
	}
	if sub.Channel != "" {
		sub.Channels = append(sub.Channels, sub.Channel)
	}
	s.mu.Lock()
	for _, p := range sub.ProductIDs {
		if _, ok := s.trades[p]; !ok {
			s.mu.Unlock()
			c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"type":"error","message":"Failed to subscribe","reason":"%s is not a valid product"}`, p))
			return
		}
	}
	if s.conn != nil {
		s.conn.NetConn().Close()
	}
	s.conn = c
	s.subscribed = sub.ProductIDs
	ids, _ := json.Marshal(sub.ProductIDs)
	var chans []string
	for _, ch := range sub.Channels {
		if s.advanced {
			chans = append(chans, fmt.Sprintf(`%q:%s`, ch, ids))
		} else {
			chans = append(chans, fmt.Sprintf(`{"name":%q,"product_ids":%s}`, ch, ids))
		}
	}
	if s.advanced {
		s.sendLocked([]byte(`{"channel":"subscriptions","client_id":"","timestamp":"` + time.Now().UTC().Format(time.RFC3339Nano) +
			`","sequence_num":0,"events":[{"subscriptions":{` + strings.Join(chans, ",") + `}}]}`))
	} else {
		s.sendLocked([]byte(`{"type":"subscriptions","channels":[` + strings.Join(chans, ",") + `]}`))
	}
	var snap []Trade
	for _, p := range sub.ProductIDs {
		h := s.trades[p]
		for i := len(h) - 1; i >= 0; i-- {
			if !h[i].Hidden { // a lost trade is lost to the last_match as well
				if s.advanced {
					snap = append(snap, h[i])
				} else {
					s.sendLocked(MatchFrame(h[i], true))
				}
				break
			}
		}
	}
	if len(snap) > 0 {
		s.sendLocked(s.marketTradesLocked("snapshot", snap))
	}
	s.subs++
	s.cond.Broadcast()
	s.mu.Unlock()
	c.SetReadDeadline(time.Time{})
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

type restTrade struct {
	Time    string `json:"time"`
	TradeID int64  `json:"trade_id"`
	Price   string `json:"price"`
	Size    string `json:"size"`
	Side    string `json:"side"`
}

// Load appends trades to product's history (creating the product) for REST alone: the feed
// does not send them. Their ids must rise above the history's last id; Product and Sequence are
// filled in, and times are kept as given (Coinbase's history is in time order: keep them
// non-decreasing).
func (s *Server) Load(product string, trades ...Trade) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.trades[product]
	if _, ok := s.seq[product]; !ok {
		s.seq[product] = 100
	}
	for _, t := range trades {
		if len(h) > 0 && t.ID <= h[len(h)-1].ID {
			return fmt.Errorf("coinbasetest: trade id %d does not rise above %d", t.ID, h[len(h)-1].ID)
		}
		if t.ID <= 0 {
			return fmt.Errorf("coinbasetest: trade id %d is not positive", t.ID)
		}
		s.seq[product]++
		t.Product, t.Sequence = product, s.seq[product]
		h = append(h, t)
	}
	s.trades[product] = h
	return nil
}

// RateLimit answers REST requests beyond a token bucket of perSecond requests a second, burst
// deep, with 429 (and Retry-After when retryAfter is set), as Coinbase limits public endpoints
// (10 a second, bursts of 15, per IP). perSecond 0 removes the limit.
func (s *Server) RateLimit(perSecond float64, burst int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate, s.burst, s.tokens, s.tokensAt = perSecond, float64(burst), float64(burst), time.Time{}
	s.limitRetryAfter = retryAfter
}

// CapPage makes pages hold at most n trades whatever limit asks (0: no cap), as an exchange may
// answer short pages that are not the end of the history.
func (s *Server) CapPage(n int) {
	s.mu.Lock()
	s.pageCap = n
	s.mu.Unlock()
}

// Limited is the number of 429s the rate limit answered.
func (s *Server) Limited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// AnswerREST queues answers for the next REST trade requests, one each, before normal service.
func (s *Server) AnswerREST(a ...RESTAnswer) {
	s.mu.Lock()
	s.answers = append(s.answers, a...)
	s.mu.Unlock()
}

// RESTRequests is the query of every REST trade request served so far (rate-limited ones included).
func (s *Server) RESTRequests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.requests...)
}

func (s *Server) now() time.Time {
	if s.Clock != nil {
		return s.Clock()
	}
	return time.Now()
}

// allowLocked takes a token of the rate limit (s.mu held).
func (s *Server) allowLocked() bool {
	if s.rate <= 0 {
		return true
	}
	now := s.now()
	if !s.tokensAt.IsZero() {
		s.tokens = min(s.burst, s.tokens+now.Sub(s.tokensAt).Seconds()*s.rate)
	}
	s.tokensAt = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

func restError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": message})
	w.Write(b)
}

// restTrades serves GET /products/{id}/trades?limit=&after=|before=: newest first; after=N
// returns the newest trades with ids below N, before=N the oldest trades with ids above N; CB-BEFORE
// and CB-AFTER are the ids of the page's first (newest) and last (oldest) trade.
func (s *Server) restTrades(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.restCalls++
	s.requests = append(s.requests, q)
	if s.restFail > 0 {
		s.restFail--
		s.mu.Unlock()
		restError(w, http.StatusInternalServerError, "Internal server error")
		return
	}
	if len(s.answers) > 0 {
		a := s.answers[0]
		s.answers = s.answers[1:]
		quit := s.stallQuit
		s.mu.Unlock()
		if a.Stall {
			select {
			case <-r.Context().Done():
			case <-quit:
			}
			return
		}
		if a.RetryAfter != "" {
			w.Header().Set("Retry-After", a.RetryAfter)
		}
		status := a.Status
		if status == 0 {
			status = http.StatusOK
		}
		if a.Body != "" {
			w.WriteHeader(status)
			w.Write([]byte(a.Body))
			return
		}
		restError(w, status, http.StatusText(status))
		return
	}
	if !s.allowLocked() {
		s.limited++
		ra := s.limitRetryAfter
		s.mu.Unlock()
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		restError(w, http.StatusTooManyRequests, "Public rate limit exceeded")
		return
	}
	h, ok := s.trades[r.PathValue("id")]
	pageCap := s.pageCap
	s.mu.Unlock() // h is append-only: the prefix read here never changes
	if !ok {
		restError(w, http.StatusNotFound, "NotFound")
		return
	}
	limit := 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			restError(w, http.StatusBadRequest, "invalid limit: must be 1..1000")
			return
		}
		limit = n
	}
	if pageCap > 0 {
		limit = min(limit, pageCap)
	}
	cursor := func(name string) (int64, bool, bool) {
		v := q.Get(name)
		if v == "" {
			return 0, false, true
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			restError(w, http.StatusBadRequest, "invalid "+name)
			return 0, false, false
		}
		return n, true, true
	}
	after, hasAfter, ok1 := cursor("after")
	if !ok1 {
		return
	}
	before, hasBefore, ok2 := cursor("before")
	if !ok2 {
		return
	}
	if hasAfter && hasBefore {
		restError(w, http.StatusBadRequest, "before and after are exclusive")
		return
	}
	// h is in id order: the page is a run of visible trades next to the cursor.
	var page []Trade
	if hasBefore {
		i := sort.Search(len(h), func(i int) bool { return h[i].ID > before })
		for ; i < len(h) && len(page) < limit; i++ {
			if !h[i].Hidden {
				page = append(page, h[i])
			}
		}
		slices.Reverse(page)
	} else {
		i := len(h)
		if hasAfter {
			i = sort.Search(len(h), func(i int) bool { return h[i].ID >= after })
		}
		for i--; i >= 0 && len(page) < limit; i-- {
			if !h[i].Hidden {
				page = append(page, h[i])
			}
		}
	}
	out := make([]restTrade, len(page))
	for i, t := range page {
		out[i] = restTrade{Time: t.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), TradeID: t.ID, Price: t.Price, Size: t.Size, Side: t.Side}
	}
	if len(out) > 0 {
		w.Header().Set("CB-BEFORE", strconv.FormatInt(out[0].TradeID, 10))
		w.Header().Set("CB-AFTER", strconv.FormatInt(out[len(out)-1].TradeID, 10))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
