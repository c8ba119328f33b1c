// Package coinbasetest is a local server that speaks the Coinbase Exchange WebSocket feed
// (matches and heartbeat channels) and the REST trade history on 127.0.0.1, with controls for the
// failures a live source must survive: dropped connections, stalls, trades lost on the wire
// (repairable from REST) or lost for good, malformed frames and error frames.
//
// The server holds one scripted trade history per product. Match appends a trade to it and sends
// it to the subscribed connection; Skip appends trades without sending them, Lose appends trades
// that neither the feed nor REST will ever show.
package coinbasetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
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
		conns: map[*websocket.Conn]bool{}}
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

// restTrades serves GET /products/{id}/trades?limit=&after=: newest first; after=N returns trades
// with ids below N; CB-AFTER is the cursor for the next (older) page.
func (s *Server) restTrades(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.restCalls++
	if s.restFail > 0 {
		s.restFail--
		s.mu.Unlock()
		http.Error(w, `{"message":"Internal server error"}`, http.StatusInternalServerError)
		return
	}
	h, ok := s.trades[r.PathValue("id")]
	h = append([]Trade(nil), h...)
	s.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"NotFound"}`))
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message":"invalid limit"}`))
			return
		}
		limit = n
	}
	after := int64(1<<62 - 1)
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"message":"invalid after"}`))
			return
		}
		after = n
	}
	sort.Slice(h, func(i, j int) bool { return h[i].ID > h[j].ID })
	page := []restTrade{}
	for _, t := range h {
		if t.ID >= after || t.Hidden {
			continue
		}
		if len(page) == limit {
			break
		}
		page = append(page, restTrade{Time: t.Time.Format("2006-01-02T15:04:05.000000Z07:00"), TradeID: t.ID, Price: t.Price, Size: t.Size, Side: t.Side})
	}
	if len(page) > 0 {
		w.Header().Set("CB-BEFORE", strconv.FormatInt(page[0].TradeID, 10))
		w.Header().Set("CB-AFTER", strconv.FormatInt(page[len(page)-1].TradeID, 10))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(page)
}
