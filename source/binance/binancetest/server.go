// Package binancetest is a local Binance-like server for tests: combined WebSocket streams with
// SUBSCRIBE, scripted aggTrades with consecutive ids per symbol, the REST aggTrades history, and
// controls to make it misbehave the way the real one can (drops, stalls, gaps, malformed frames,
// serverShutdown, 429/418).
package binancetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Trade is one scripted aggregate trade.
type Trade struct {
	ID         int64
	Price, Qty string
	Time       int64 // ms
	BuyerMaker bool
}

// Answer is a scripted REST answer that replaces the next aggTrades response.
type Answer struct {
	Status     int
	RetryAfter int // seconds; 0 sends no header
	// After is how many requests are answered normally before this answer applies.
	After int
}

// Server is the fake exchange. Its zero value is not usable: call New.
type Server struct {
	HTTP *httptest.Server
	// WSURL is the WebSocket base (ws://127.0.0.1:port); URL is the REST base (http://...).
	WSURL, URL string

	mu       sync.Mutex
	history  map[string][]Trade // by upper-case symbol, ids ascending
	next     map[string]int64
	conns    map[*conn]struct{}
	answers  []Answer
	requests []url.Values
	weight   int
	stalled  bool
	pongs    []string
	connects int
	restDown bool
	refuse   bool
	clock    int64
	blocked  bool
}

type conn struct {
	ws      *websocket.Conn
	wmu     sync.Mutex
	streams map[string]bool
	stall   bool
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// New starts a server on 127.0.0.1:0; it is closed with t's cleanup when t is non-nil.
func New(t interface{ Cleanup(func()) }) *Server {
	s := &Server{history: map[string][]Trade{}, next: map[string]int64{}, conns: map[*conn]struct{}{},
		clock: 1700000000000}
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", s.serveWS)
	mux.HandleFunc("/ws/", s.serveWS)
	mux.HandleFunc("/api/v3/aggTrades", s.serveAggTrades)
	s.HTTP = httptest.NewServer(mux)
	s.URL = s.HTTP.URL
	s.WSURL = "ws" + strings.TrimPrefix(s.HTTP.URL, "http")
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Close drops every connection and stops the server.
func (s *Server) Close() {
	s.Drop()
	s.HTTP.CloseClientConnections()
	s.HTTP.Close()
}

// Block makes the server answer every request, WebSocket handshakes included, as Binance answers
// addresses it does not serve (many US ones, AWS's US regions among them): HTTP 451.
func (s *Server) Block(on bool) { s.mu.Lock(); s.blocked = on; s.mu.Unlock() }

// refuseBlocked answers 451 when the server is blocked, as Binance does (a JSON body naming its
// terms), and reports whether it did.
func (s *Server) refuseBlocked(w http.ResponseWriter) bool {
	s.mu.Lock()
	blocked := s.blocked
	s.mu.Unlock()
	if blocked {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnavailableForLegalReasons)
		fmt.Fprint(w, `{"code":0,"msg":"Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error."}`)
	}
	return blocked
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if s.refuseBlocked(w) {
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &conn{ws: ws, streams: map[string]bool{}}
	for _, st := range strings.Split(r.URL.Query().Get("streams"), "/") {
		if st != "" {
			c.streams[st] = true
		}
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/ws/"); ok && rest != "" {
		c.streams[rest] = true
	}
	ws.SetPongHandler(func(p string) error {
		s.mu.Lock()
		s.pongs = append(s.pongs, p)
		s.mu.Unlock()
		return nil
	})
	ws.SetPingHandler(func(p string) error {
		s.mu.Lock()
		stalled := s.stalled
		s.mu.Unlock()
		if stalled {
			return nil
		}
		c.wmu.Lock()
		defer c.wmu.Unlock()
		return ws.WriteControl(websocket.PongMessage, []byte(p), time.Now().Add(time.Second))
	})
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.connects++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		ws.Close()
	}()
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var req struct {
			Method string   `json:"method"`
			Params []string `json:"params"`
			ID     int64    `json:"id"`
		}
		if json.Unmarshal(msg, &req) != nil {
			c.write([]byte(`{"code":3,"msg":"Invalid JSON"}`))
			continue
		}
		s.mu.Lock()
		refuse := s.refuse
		s.mu.Unlock()
		switch {
		case refuse:
			c.write([]byte(fmt.Sprintf(`{"error":{"code":2,"msg":"Invalid request"},"id":%d}`, req.ID)))
		case req.Method == "SUBSCRIBE" || req.Method == "UNSUBSCRIBE":
			s.mu.Lock()
			for _, p := range req.Params {
				c.streams[p] = req.Method == "SUBSCRIBE"
			}
			s.mu.Unlock()
			c.write([]byte(fmt.Sprintf(`{"result":null,"id":%d}`, req.ID)))
		default:
			c.write([]byte(fmt.Sprintf(`{"code":2,"msg":"Invalid request","id":%d}`, req.ID)))
		}
	}
}

func (c *conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(2 * time.Second))
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// Connections is the number of open WebSocket connections; Connects counts every one accepted.
func (s *Server) Connections() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.conns) }

// Connects counts the WebSocket connections accepted so far.
func (s *Server) Connects() int { s.mu.Lock(); defer s.mu.Unlock(); return s.connects }

// WaitConnects waits until n connections have been accepted in all and one is open (and
// subscribed to stream, when not empty), or the timeout passes.
func (s *Server) WaitConnects(n int, stream string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		ok := s.connects >= n && len(s.conns) > 0
		if ok && stream != "" {
			ok = false
			for c := range s.conns {
				ok = ok || c.streams[stream]
			}
		}
		s.mu.Unlock()
		if ok {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

func (s *Server) newTrades(symbol string, n int) []Trade {
	symbol = strings.ToUpper(symbol)
	if s.next[symbol] == 0 {
		s.next[symbol] = 1000
	}
	out := make([]Trade, n)
	for i := range out {
		id := s.next[symbol]
		s.next[symbol]++
		// Trade times follow the wall clock (so that a client's "since I started" catch-up finds
		// them) and still rise by at least 7 ms a trade.
		s.clock = max(s.clock+7, time.Now().UnixMilli())
		out[i] = Trade{ID: id, Price: strconv.FormatFloat(100+float64(id%100)/100, 'f', 8, 64),
			Qty: "0.50000000", Time: s.clock, BuyerMaker: id%3 == 0}
	}
	return out
}

// Frame is the aggTrade event of t in symbol, combined-stream wrapped when combined.
func Frame(symbol string, t Trade, combined bool) []byte {
	sym := strings.ToUpper(symbol)
	ev := fmt.Sprintf(`{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%s","q":"%s","f":%d,"l":%d,"T":%d,"m":%t,"M":true}`,
		t.Time+1, sym, t.ID, t.Price, t.Qty, t.ID*2, t.ID*2+1, t.Time, t.BuyerMaker)
	if !combined {
		return []byte(ev)
	}
	return []byte(`{"stream":"` + strings.ToLower(sym) + `@aggTrade","data":` + ev + `}`)
}

// Publish scripts n new trades of symbol, records them in the REST history and sends them to every
// connection subscribed to symbol@aggTrade. It returns them.
func (s *Server) Publish(symbol string, n int) []Trade {
	s.mu.Lock()
	ts := s.newTrades(symbol, n)
	sym := strings.ToUpper(symbol)
	s.history[sym] = append(s.history[sym], ts...)
	s.mu.Unlock()
	for _, t := range ts {
		s.send(strings.ToLower(sym)+"@aggTrade", Frame(sym, t, true))
	}
	return ts
}

// Skip scripts n trades that only the REST history has: the stream jumps over their ids.
func (s *Server) Skip(symbol string, n int) []Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.newTrades(symbol, n)
	sym := strings.ToUpper(symbol)
	s.history[sym] = append(s.history[sym], ts...)
	return ts
}

// Lose advances symbol's ids by n without recording the trades anywhere: a gap REST cannot fill.
func (s *Server) Lose(symbol string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newTrades(symbol, n)
}

// History returns the trades the REST history holds for symbol.
func (s *Server) History(symbol string) []Trade {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Trade(nil), s.history[strings.ToUpper(symbol)]...)
}

func (s *Server) send(stream string, frame []byte) {
	s.mu.Lock()
	if s.stalled {
		s.mu.Unlock()
		return
	}
	var cs []*conn
	for c := range s.conns {
		if stream == "" || c.streams[stream] {
			cs = append(cs, c)
		}
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.write(frame)
	}
}

// SendRaw sends frame to every connection, as it is (a malformed frame, a depth update...).
func (s *Server) SendRaw(frame []byte) { s.send("", frame) }

// Shutdown sends the serverShutdown event Binance sends before maintenance.
func (s *Server) Shutdown() {
	s.send("", []byte(`{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}`))
}

// Drop closes every WebSocket connection without a close frame, as a network failure would.
func (s *Server) Drop() {
	s.mu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.ws.NetConn().Close()
	}
}

// Stall stops (true) or resumes (false) sending anything: trades and pongs.
func (s *Server) Stall(on bool) { s.mu.Lock(); s.stalled = on; s.mu.Unlock() }

// Ping sends a ping with payload to every connection; Pongs returns the payloads echoed so far.
func (s *Server) Ping(payload string) {
	s.mu.Lock()
	cs := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.wmu.Lock()
		c.ws.WriteControl(websocket.PingMessage, []byte(payload), time.Now().Add(time.Second))
		c.wmu.Unlock()
	}
}

// Pongs returns the payloads of the pongs received.
func (s *Server) Pongs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.pongs...)
}

// Answer queues scripted REST answers: each replaces one aggTrades response.
func (s *Server) Answer(a ...Answer) { s.mu.Lock(); s.answers = append(s.answers, a...); s.mu.Unlock() }

// RefuseSubscribe answers every SUBSCRIBE with an error frame until called with false.
func (s *Server) RefuseSubscribe(on bool) { s.mu.Lock(); s.refuse = on; s.mu.Unlock() }

// RESTDown makes every aggTrades request fail with 503 until called with false.
func (s *Server) RESTDown(down bool) { s.mu.Lock(); s.restDown = down; s.mu.Unlock() }

// Requests returns the query of every aggTrades request.
func (s *Server) Requests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]url.Values(nil), s.requests...)
}

// SetWeight sets the weight the next response reports as used.
func (s *Server) SetWeight(w int) { s.mu.Lock(); s.weight = w; s.mu.Unlock() }

type restTrade struct {
	A int64  `json:"a"`
	P string `json:"p"`
	Q string `json:"q"`
	F int64  `json:"f"`
	L int64  `json:"l"`
	T int64  `json:"T"`
	M bool   `json:"m"`
	B bool   `json:"M"`
}

func (s *Server) serveAggTrades(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	s.requests = append(s.requests, q)
	s.mu.Unlock()
	if s.refuseBlocked(w) {
		return
	}
	s.mu.Lock()
	s.weight += 4
	w.Header().Set("X-MBX-USED-WEIGHT-1M", strconv.Itoa(s.weight))
	if s.restDown {
		s.mu.Unlock()
		http.Error(w, `{"code":-1001,"msg":"Internal error"}`, http.StatusServiceUnavailable)
		return
	}
	if len(s.answers) > 0 && s.answers[0].After > 0 {
		s.answers[0].After--
	} else if len(s.answers) > 0 {
		a := s.answers[0]
		s.answers = s.answers[1:]
		s.mu.Unlock()
		if a.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(a.RetryAfter))
		}
		w.WriteHeader(a.Status)
		fmt.Fprintf(w, `{"code":-1003,"msg":"scripted %d"}`, a.Status)
		return
	}
	hist := s.history[strings.ToUpper(q.Get("symbol"))]
	s.mu.Unlock()
	if hist == nil {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"code":-1121,"msg":"Invalid symbol."}`))
		return
	}
	limit := 500
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 {
		limit = min(v, 1000)
	}
	i := 0
	if v := q.Get("fromId"); v != "" {
		from, _ := strconv.ParseInt(v, 10, 64)
		i = sort.Search(len(hist), func(i int) bool { return hist[i].ID >= from })
	} else if v := q.Get("startTime"); v != "" {
		st, _ := strconv.ParseInt(v, 10, 64)
		i = sort.Search(len(hist), func(i int) bool { return hist[i].Time >= st })
	}
	end := int64(1 << 62)
	if v := q.Get("endTime"); v != "" {
		end, _ = strconv.ParseInt(v, 10, 64)
	}
	out := []restTrade{}
	for ; i < len(hist) && len(out) < limit && hist[i].Time <= end; i++ {
		t := hist[i]
		out = append(out, restTrade{t.ID, t.Price, t.Qty, t.ID * 2, t.ID*2 + 1, t.Time, t.BuyerMaker, true})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
