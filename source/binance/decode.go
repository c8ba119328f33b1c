package binance

import (
	"bytes"
	"errors"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/jsonscan"
)

// Kind says what a frame was, so that the source can act on the frames that are not trades.
type Kind uint8

// The kinds of frame DecodeFrame recognises.
const (
	KindUnknown  Kind = iota // valid JSON the decoder has no use for
	KindAggTrade             // "e":"aggTrade": one trade, ID is the aggregate id
	KindTrade                // "e":"trade": one trade, ID is the trade id
	KindAck                  // {"result":...,"id":N}: a control message was accepted
	KindError                // {"code":..,"msg":..} or {"error":{...},"id":N}: it was not
	KindShutdown             // "e":"serverShutdown": the server will close the connection soon
	KindOther                // another market-data event (depthUpdate, kline, bookTicker...)
)

var kindNames = [...]string{"unknown", "aggTrade", "trade", "ack", "error", "serverShutdown", "other"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Info describes a decoded frame beyond its trades.
type Info struct {
	Kind Kind
	// ID is the aggregate id (KindAggTrade), the trade id (KindTrade) or the request id
	// (KindAck, KindError when the server echoed it); -1 when absent.
	ID int64
	// Code and Msg are the error of a KindError frame. Msg is copied, so it stays valid.
	Code int64
	Msg  string
}

// FrameError is why a frame could not be decoded.
type FrameError struct {
	Offset int
	Detail string
}

func (e *FrameError) Error() string {
	return "binance: frame offset " + strconv.Itoa(e.Offset) + ": " + e.Detail
}

// DefaultQuotes are the quote assets tried, longest first, when a symbol is not in the explicit
// map. Binance symbols carry no separator, so the split is a guess that only the quote list makes
// reliable; symbols that matter should be put in SymbolMap.Explicit.
var DefaultQuotes = []string{"USDT", "USDC", "FDUSD", "BUSD", "BTC", "ETH", "BNB", "EUR", "TRY"}

// SymbolMap turns Binance symbols (BTCUSDT) into the unified BASE-QUOTE form (BTC-USDT). It caches
// what it computed so that the steady state does not allocate; it is safe for concurrent use.
// The zero value uses DefaultQuotes.
type SymbolMap struct {
	// Explicit maps an exchange symbol (upper case) to its unified name and wins over Quotes.
	Explicit map[string]string
	// Quotes are the quote assets; the longest matching suffix that leaves a base wins.
	Quotes []string

	mu    sync.Mutex // serialises inserts
	cache atomic.Pointer[map[string]string]
}

// maxCache bounds the cache so that a stream of invented symbols cannot grow it without limit.
const maxCache = 1 << 12

var defaultSymbols SymbolMap

// Normalize returns the unified symbol of raw (case-insensitive). A symbol without a known quote
// asset is returned upper-cased, unsplit.
func (m *SymbolMap) Normalize(raw []byte) string {
	if m == nil {
		m = &defaultSymbols
	}
	if s, ok := m.Explicit[string(raw)]; ok {
		return s
	}
	// The cache is copied on insert and read without a lock: inserts happen once a symbol, reads
	// once a frame.
	if c := m.cache.Load(); c != nil {
		if s, ok := (*c)[string(raw)]; ok {
			return s
		}
	}
	up := strings.ToUpper(string(raw))
	if s, ok := m.Explicit[up]; ok {
		return s
	}
	s := split(up, m.Quotes)
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.cache.Load()
	if old != nil && len(*old) >= maxCache {
		return s
	}
	next := make(map[string]string, 1+func() int {
		if old == nil {
			return 0
		}
		return len(*old)
	}())
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[string(raw)] = s
	m.cache.Store(&next)
	return s
}

func split(up string, quotes []string) string {
	if quotes == nil {
		quotes = DefaultQuotes
	}
	best := ""
	for _, q := range quotes {
		if len(q) > len(best) && len(up) > len(q) && strings.HasSuffix(up, q) {
			best = q
		}
	}
	if best == "" {
		return up
	}
	return up[:len(up)-len(best)] + "-" + best
}

// Stream returns the stream name of a symbol's aggTrade stream: btcusdt@aggTrade.
func Stream(symbol, kind string) string {
	return strings.ToLower(strings.ReplaceAll(symbol, "-", "")) + "@" + kind
}

// span is where a value sits in the frame; end == 0 means absent.
type span struct{ start, end int }

func (s span) ok() bool { return s.end > 0 }

// The keys DecodeFrame reads. A combined frame's "data" and a bare event share the event keys.
const (
	kStream = iota
	kData
	kResult
	kID
	kCode
	kMsg
	kError
	ke // event type
	ks // symbol
	ka // aggregate id
	kt // trade id
	kp // price
	kq // quantity
	kT // trade time
	km // buyer is maker
	numKeys
)

type spans [numKeys]span

func keyOf(k []byte) int {
	if len(k) == 1 {
		switch k[0] {
		case 'e':
			return ke
		case 's':
			return ks
		case 'a':
			return ka
		case 't':
			return kt
		case 'p':
			return kp
		case 'q':
			return kq
		case 'T':
			return kT
		case 'm':
			return km
		}
		return -1
	}
	switch string(k) {
	case "stream":
		return kStream
	case "data":
		return kData
	case "result":
		return kResult
	case "id":
		return kID
	case "code":
		return kCode
	case "msg":
		return kMsg
	case "error":
		return kError
	}
	return -1
}

var errEmpty = errors.New("binance: empty frame")

// DecodeFrame decodes one WebSocket frame — a combined-stream frame {"stream":..,"data":{..}}, a
// bare event, a control answer — and appends the trades it carries to out (at most one: Binance
// sends one trade an event). Frames that are valid but carry no trade (acks, errors,
// serverShutdown, depth, kline, bookTicker) append nothing and return no error: Info.Kind says
// what they were. A nil symbols uses DefaultQuotes.
//
// The trade's EventID is ctc.NewEventIDInt("binance", symbol, id) where id is the aggregate id of
// an aggTrade and the trade id of a raw trade. The two numberings are distinct: a consumer must
// not mix both streams for one symbol, or the same fill gets two ids. Side is Sell when m is true:
// m says the buyer was the maker, so the aggressor sold. Timestamp is T, the trade time (ms).
// IngestionTimestamp is left zero for the caller.
//
// It does not allocate for a trade frame once the symbol has been seen.
func DecodeFrame(frame []byte, symbols *SymbolMap, out []ctc.Trade) ([]ctc.Trade, Info, error) {
	info := Info{ID: -1}
	if sp, ok := fastAggTrade(frame); ok {
		return event(frame, &sp, symbols, out, info)
	}
	return decodeGeneral(frame, symbols, out, info)
}

func decodeGeneral(frame []byte, symbols *SymbolMap, out []ctc.Trade, info Info) ([]ctc.Trade, Info, error) {
	var top spans
	i := jsonscan.SkipWS(frame, 0)
	if i >= len(frame) {
		return out, info, errEmpty
	}
	var inner spans
	end, err := object(frame, i, &top, &inner, 0)
	if err != nil {
		return out, info, err
	}
	if j := jsonscan.SkipWS(frame, end); j != len(frame) {
		return out, info, &FrameError{j, "data after the JSON object"}
	}
	ev := &top
	if top[kData].ok() {
		if frame[top[kData].start] != '{' {
			// All-market streams (!miniTicker@arr) send an array: valid, and not ours.
			info.Kind = KindOther
			return out, info, nil
		}
		ev = &inner
	}
	if ev[ke].ok() {
		return event(frame, ev, symbols, out, info)
	}
	if top[kData].ok() {
		// bookTicker carries no event type; any other stream data is market data we do not use.
		info.Kind = KindOther
		return out, info, nil
	}
	if top[kError].ok() && frame[top[kError].start] == '{' {
		var e spans
		if _, err := object(frame, top[kError].start, &e, nil, 0); err != nil {
			return out, info, err
		}
		info.Kind = KindError
		info.Code, _ = intValue(frame, e[kCode])
		info.Msg = stringValue(frame, e[kMsg])
		if id, ok := intValue(frame, top[kID]); ok {
			info.ID = id
		}
		return out, info, nil
	}
	if top[kCode].ok() {
		info.Kind = KindError
		info.Code, _ = intValue(frame, top[kCode])
		info.Msg = stringValue(frame, top[kMsg])
		if id, ok := intValue(frame, top[kID]); ok {
			info.ID = id
		}
		return out, info, nil
	}
	if top[kResult].ok() && top[kID].ok() {
		info.Kind = KindAck
		info.ID, _ = intValue(frame, top[kID])
		return out, info, nil
	}
	return out, info, nil
}

func event(frame []byte, ev *spans, symbols *SymbolMap, out []ctc.Trade, info Info) ([]ctc.Trade, Info, error) {
	e := ev[ke]
	if frame[e.start] != '"' {
		return out, info, &FrameError{e.start, `"e" is not a string`}
	}
	name := frame[e.start+1 : e.end-1]
	idKey := ka
	switch string(name) {
	case "aggTrade":
		info.Kind = KindAggTrade
	case "trade":
		info.Kind, idKey = KindTrade, kt
	case "serverShutdown":
		info.Kind = KindShutdown
		return out, info, nil
	default:
		info.Kind = KindOther
		return out, info, nil
	}
	id, ok := intValue(frame, ev[idKey])
	if !ok || id < 0 {
		return out, info, &FrameError{ev[idKey].start, "trade id missing or not a non-negative integer"}
	}
	info.ID = id
	sym := ev[ks]
	if !sym.ok() || frame[sym.start] != '"' || sym.end-sym.start < 3 {
		return out, info, &FrameError{sym.start, `"s" missing or not a non-empty string`}
	}
	raw := frame[sym.start+1 : sym.end-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		return out, info, &FrameError{sym.start, `"s" has escapes`}
	}
	price, ok := decimal(frame, ev[kp])
	if !ok {
		return out, info, &FrameError{ev[kp].start, `"p" missing or not a positive decimal string`}
	}
	qty, ok := decimal(frame, ev[kq])
	if !ok {
		return out, info, &FrameError{ev[kq].start, `"q" missing or not a positive decimal string`}
	}
	ms, ok := intValue(frame, ev[kT])
	if !ok || ms < 0 || ms > 1<<53 {
		return out, info, &FrameError{ev[kT].start, `"T" missing or not a millisecond time`}
	}
	side := ctc.Buy
	switch m := ev[km]; {
	case !m.ok():
		return out, info, &FrameError{0, `"m" missing`}
	case string(frame[m.start:m.end]) == "true":
		side = ctc.Sell
	case string(frame[m.start:m.end]) != "false":
		return out, info, &FrameError{m.start, `"m" is not a boolean`}
	}
	symbol := symbols.Normalize(raw)
	out = append(out, ctc.Trade{
		EventID:     ctc.NewEventIDInt(ctc.Binance, symbol, id),
		Exchange:    ctc.Binance,
		Symbol:      symbol,
		Price:       price,
		Quantity:    qty,
		QuoteVolume: price * qty,
		Side:        side,
		Timestamp:   time.UnixMilli(ms).UTC(),
	})
	return out, info, nil
}

// decimal parses a quoted decimal such as "0.35280000": strconv's decimal grammar, positive and
// finite. ParseFloat alone would also take "Inf", "NaN" and hex floats.
func decimal(frame []byte, s span) (float64, bool) {
	if !s.ok() || frame[s.start] != '"' || s.end-s.start < 3 || s.end-s.start > 66 {
		return 0, false
	}
	v, ok := jsonscan.Decimal(frame[s.start+1 : s.end-1])
	return v, ok && v > 0 && v <= math.MaxFloat64
}

func intValue(frame []byte, s span) (int64, bool) {
	if !s.ok() {
		return 0, false
	}
	b := frame[s.start:s.end]
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

func stringValue(frame []byte, s span) string {
	if !s.ok() || frame[s.start] != '"' {
		return ""
	}
	if v, err := strconv.Unquote(string(frame[s.start:s.end])); err == nil {
		return v
	}
	return string(frame[s.start+1 : s.end-1])
}

// maxDepth is how deep objects may nest, the frame's own at depth 0.
const maxDepth = 64

// scanMessages word the shared scanner's codes.
var scanMessages = [...]string{
	jsonscan.EOF:        "unexpected end of frame",
	jsonscan.WantKey:    "expected a key",
	jsonscan.WantColon:  "expected ':'",
	jsonscan.WantComma:  "expected ',' or '}'",
	jsonscan.WantElem:   "expected ',' or ']'",
	jsonscan.BadValue:   "unexpected character",
	jsonscan.BadLiteral: "bad literal",
	jsonscan.BadNumber:  "invalid number",
	jsonscan.Control:    "control character in a string",
	jsonscan.BadEscape:  "invalid escape in a string",
	jsonscan.TooDeep:    "nested too deeply",
}

// object scans the object at frame[i] == '{', recording the spans of the keys it knows, and returns
// the index after it. A "data" object is scanned into inner in the same pass, so that a combined
// frame is read once.
func object(frame []byte, i int, sp, inner *spans, depth int) (int, error) {
	if depth > maxDepth {
		return 0, &FrameError{i, "nested too deeply"}
	}
	if i >= len(frame) || frame[i] != '{' {
		return 0, &FrameError{i, "expected an object"}
	}
	i = jsonscan.SkipWS(frame, i+1)
	if i < len(frame) && frame[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(frame) || frame[i] != '"' {
			return 0, &FrameError{i, "expected a key"}
		}
		// Event keys are one letter ("e", "s", "p"...): read those without a scan.
		ke, c := i+3, jsonscan.OK
		if ke > len(frame) || frame[i+2] != '"' || frame[i+1] < 0x20 || frame[i+1] == '"' || frame[i+1] == '\\' {
			if ke, _, c = jsonscan.String(frame, i); c == jsonscan.EOF {
				return 0, &FrameError{i, "unterminated string"}
			}
			if c != jsonscan.OK {
				return 0, &FrameError{ke, scanMessages[c]}
			}
		}
		k := -1
		if sp != nil {
			k = keyOf(frame[i+1 : ke-1])
		}
		i = jsonscan.SkipWS(frame, ke)
		if i >= len(frame) || frame[i] != ':' {
			return 0, &FrameError{i, "expected ':'"}
		}
		i = jsonscan.SkipWS(frame, i+1)
		start := i
		if k == kData && inner != nil && i < len(frame) && frame[i] == '{' {
			var err error
			if i, err = object(frame, i, inner, nil, depth+1); err != nil {
				return 0, err
			}
		} else if i, c = jsonscan.Skip(frame, i, maxDepth-depth); c != jsonscan.OK {
			return 0, &FrameError{i, scanMessages[c]}
		}
		if k >= 0 {
			sp[k] = span{start, i}
		}
		i = jsonscan.SkipWS(frame, i)
		if i >= len(frame) {
			return 0, &FrameError{i, "unterminated object"}
		}
		switch frame[i] {
		case ',':
			i = jsonscan.SkipWS(frame, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, &FrameError{i, "expected ',' or '}'"}
		}
	}
}
