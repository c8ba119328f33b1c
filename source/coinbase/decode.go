package coinbase

import (
	"errors"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/jsonscan"
	"github.com/coattailcapital/ctc/internal/rfc3339"
)

// Kind is what a frame was.
type Kind uint8

// The frame kinds DecodeFrame recognises. Only KindMatch, KindLastMatch and KindMarketTrades carry
// trades; the others carry what the source needs to detect gaps (product, sequence, last trade id)
// or nothing at all.
const (
	KindUnknown Kind = iota
	KindMatch
	KindLastMatch
	KindHeartbeat
	KindSubscriptions
	KindError
	KindTicker
	KindL2Update
	KindSnapshot
	// KindMarketTrades is an Advanced Trade market_trades frame (possibly several trades).
	KindMarketTrades
	// KindAdvancedOther is any other Advanced Trade channel (heartbeats, subscriptions).
	KindAdvancedOther
	// KindOther is an Exchange frame of a type this package does not use (received, open, done, …).
	KindOther
)

var kindNames = [...]string{"unknown", "match", "last_match", "heartbeat", "subscriptions", "error",
	"ticker", "l2update", "snapshot", "market_trades", "advanced", "other"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Info is what a frame says besides its trades.
type Info struct {
	Kind Kind
	// Product is product_id (interned: comparing and keeping it costs nothing).
	Product string
	// Sequence is the per-product sequence (sequence_num for Advanced Trade), 0 when absent.
	Sequence int64
	// TradeID is trade_id for a match, last_match or ticker, last_trade_id for a heartbeat.
	TradeID int64
	// Time is the frame's time, when it has one.
	Time time.Time
	// Message and Reason are an error frame's fields.
	Message, Reason string
}

// SideMeaning says whose side an Advanced Trade market_trades "side" is. Coinbase's documentation
// and widely used client libraries disagree, so a Decoder has no silent default: the zero value
// rejects market_trades frames until the caller chooses.
type SideMeaning uint8

const (
	// SideUnset rejects market_trades frames.
	SideUnset SideMeaning = iota
	// SideIsTaker takes "side" as the aggressor's side (the documentation's reading; DefaultAdvancedSide).
	SideIsTaker
	// SideIsMaker takes "side" as the maker's side, like the Exchange feed's match: the aggressor is the opposite.
	SideIsMaker
)

// DefaultAdvancedSide is the documented reading of market_trades "side". It is not applied
// implicitly: pass it to Decoder.AdvancedSide (or Config.AdvancedSide) to agree with it.
const DefaultAdvancedSide = SideIsTaker

// Decoder decodes frames. The zero value decodes every Exchange feed frame; AdvancedSide must be
// set for Advanced Trade market_trades frames. A Decoder holds no per-call state and may be shared.
type Decoder struct {
	AdvancedSide SideMeaning
	// ids, when set, receives the numeric trade id of every market_trades trade (-1 when not
	// numeric), in step with the trades: the Source needs them for dedup and gap detection.
	ids *[]int64
}

// DecodeFrame decodes one Exchange feed frame with the zero Decoder (market_trades frames are
// rejected: use a Decoder with AdvancedSide set). See Decoder.Decode.
func DecodeFrame(frame []byte, out []ctc.Trade) ([]ctc.Trade, Info, error) {
	return Decoder{}.Decode(frame, out)
}

// Errors a frame can fail with, wrapped with detail.
var (
	ErrMalformed   = errors.New("coinbase: malformed frame")
	ErrSideNotSet  = errors.New("coinbase: market_trades side meaning not chosen (set Decoder.AdvancedSide)")
	errNotAnObject = malformed("frame is not a JSON object")
)

// FrameError is a malformed frame: what was wrong. It matches ErrMalformed with errors.Is.
type FrameError struct{ Detail string }

func (e *FrameError) Error() string        { return "coinbase: malformed frame: " + e.Detail }
func (e *FrameError) Is(target error) bool { return target == ErrMalformed }

// malformed errors are package-level values: a bad frame must not cost an allocation either, since
// a hostile or broken peer can send them at line rate.
func malformed(detail string) error { return &FrameError{Detail: detail} }

var (
	errSyntax      = malformed("invalid JSON")
	errNoType      = malformed("no type or channel")
	errTradeID     = malformed("trade_id missing or not a positive integer")
	errSide        = malformed(`side missing or not "buy"/"sell"`)
	errPrice       = malformed("price missing or not a positive decimal string")
	errSize        = malformed("size missing or not a positive decimal string")
	errProduct     = malformed("product_id missing or not BASE-QUOTE")
	errTime        = malformed("time missing or not RFC 3339")
	errSequence    = malformed("sequence not a non-negative integer")
	errLastTradeID = malformed("last_trade_id not a non-negative integer")
	errEvents      = malformed("events missing or not an array of objects")
	errTrades      = malformed("trades not an array of objects")
)

// span is a value's bytes in the frame; for strings, the content between the quotes.
type span struct {
	start, end int32
	kind       byte // 0 absent, '"' string (unescaped), '\\' string with escapes, 'n' number, 'o' other
}

func (s span) of(b []byte) []byte { return b[s.start:s.end] }

// Decode appends the trades of frame to out and says what the frame was. It allocates nothing in
// steady state: product ids are interned, numbers and times are parsed in place. The Exchange
// feed's match side is the maker's, so the trade's Side is the opposite. IngestionTimestamp is left
// zero for the caller to set.
func (d Decoder) Decode(frame []byte, out []ctc.Trade) ([]ctc.Trade, Info, error) {
	var info Info
	var typ, tradeID, side, size, price, product, seq, tm, lastTrade, message, reason, channel, events, seqNum span
	i := jsonscan.SkipWS(frame, 0)
	if i >= len(frame) || frame[i] != '{' {
		return out, info, errNotAnObject
	}
	end, ok := scanObject(frame, i, func(key []byte, v span) {
		switch string(key) {
		case "type":
			typ = v
		case "trade_id":
			tradeID = v
		case "side":
			side = v
		case "size":
			size = v
		case "price":
			price = v
		case "product_id":
			product = v
		case "sequence":
			seq = v
		case "time":
			tm = v
		case "last_trade_id":
			lastTrade = v
		case "message":
			message = v
		case "reason":
			reason = v
		case "channel":
			channel = v
		case "events":
			events = v
		case "sequence_num":
			seqNum = v
		}
	})
	if !ok || jsonscan.SkipWS(frame, end) != len(frame) {
		return out, info, errSyntax
	}
	if typ.kind != '"' {
		if channel.kind == '"' {
			return d.advanced(frame, channel, events, seqNum, out)
		}
		return out, info, errNoType
	}
	switch string(typ.of(frame)) {
	case "match":
		info.Kind = KindMatch
	case "last_match":
		info.Kind = KindLastMatch
	case "heartbeat":
		info.Kind = KindHeartbeat
	case "subscriptions":
		info.Kind = KindSubscriptions
		return out, info, nil
	case "error":
		info.Kind = KindError
		info.Message = string(unescaped(frame, message))
		info.Reason = string(unescaped(frame, reason))
		return out, info, nil
	case "ticker":
		info.Kind = KindTicker
	case "l2update":
		info.Kind = KindL2Update
	case "snapshot":
		info.Kind = KindSnapshot
	default:
		info.Kind = KindOther
	}
	// The gap detector needs product and sequence on every kind that has them.
	if product.kind != 0 {
		if product.kind != '"' || !validProduct(product.of(frame)) {
			return out, info, errProduct
		}
		info.Product = intern(product.of(frame))
	}
	if seq.kind != 0 {
		n, ok := parseUint(frame, seq)
		if !ok {
			return out, info, errSequence
		}
		info.Sequence = n
	}
	if tm.kind == '"' {
		if t, ok := rfc3339.Parse(tm.of(frame)); ok {
			info.Time = t
		} else if info.Kind == KindMatch || info.Kind == KindLastMatch || info.Kind == KindHeartbeat {
			return out, info, errTime
		}
	}
	switch info.Kind {
	case KindHeartbeat:
		if info.Product == "" {
			return out, info, errProduct
		}
		if lastTrade.kind != 0 {
			n, ok := parseUint(frame, lastTrade)
			if !ok {
				return out, info, errLastTradeID
			}
			info.TradeID = n
		}
		return out, info, nil
	case KindTicker:
		if tradeID.kind == 'n' {
			info.TradeID, _ = parseUint(frame, tradeID)
		}
		return out, info, nil
	case KindMatch, KindLastMatch:
	default:
		return out, info, nil
	}
	id, ok := parseUint(frame, tradeID)
	if !ok || id <= 0 {
		return out, info, errTradeID
	}
	info.TradeID = id
	if info.Product == "" {
		return out, info, errProduct
	}
	if tm.kind != '"' {
		return out, info, errTime
	}
	s, ok := takerSide(plain(frame, side))
	if !ok {
		return out, info, errSide
	}
	p, ok := parseDecimal(frame, price)
	if !ok {
		return out, info, errPrice
	}
	q, ok := parseDecimal(frame, size)
	if !ok {
		return out, info, errSize
	}
	out = append(out, ctc.Trade{
		EventID:     ctc.NewEventIDInt(ctc.Coinbase, info.Product, id),
		Exchange:    ctc.Coinbase,
		Symbol:      info.Product,
		Price:       p,
		Quantity:    q,
		QuoteVolume: p * q,
		Side:        s,
		Timestamp:   info.Time,
	})
	return out, info, nil
}

// advanced decodes an Advanced Trade frame.
func (d Decoder) advanced(frame []byte, channel, events, seqNum span, out []ctc.Trade) ([]ctc.Trade, Info, error) {
	info := Info{Kind: KindAdvancedOther}
	if seqNum.kind != 0 {
		n, ok := parseUint(frame, seqNum)
		if !ok {
			return out, info, errSequence
		}
		info.Sequence = n
	}
	if string(channel.of(frame)) != "market_trades" {
		return out, info, nil
	}
	info.Kind = KindMarketTrades
	if d.AdvancedSide != SideIsTaker && d.AdvancedSide != SideIsMaker {
		return out, info, ErrSideNotSet
	}
	if events.kind != 'o' || frame[events.start] != '[' {
		return out, info, errEvents
	}
	n0 := len(out)
	var err error
	_, ok := scanArray(frame, int(events.start), func(ev span) bool {
		if frame[ev.start] != '{' {
			err = errEvents
			return false
		}
		var trades span
		scanObject(frame, int(ev.start), func(key []byte, v span) {
			if string(key) == "trades" {
				trades = v
			}
		})
		if trades.kind == 0 {
			return true
		}
		if trades.kind != 'o' || frame[trades.start] != '[' {
			err = errTrades
			return false
		}
		scanArray(frame, int(trades.start), func(tr span) bool {
			if frame[tr.start] != '{' {
				err = errTrades
				return false
			}
			out, err = d.advancedTrade(frame, tr, out, &info)
			return err == nil
		})
		return err == nil
	})
	if err == nil && !ok {
		err = errSyntax
	}
	if err != nil {
		return out[:n0], info, err
	}
	return out, info, nil
}

func (d Decoder) advancedTrade(frame []byte, obj span, out []ctc.Trade, info *Info) ([]ctc.Trade, error) {
	var tradeID, side, size, price, product, tm span
	scanObject(frame, int(obj.start), func(key []byte, v span) {
		switch string(key) {
		case "trade_id":
			tradeID = v
		case "side":
			side = v
		case "size":
			size = v
		case "price":
			price = v
		case "product_id":
			product = v
		case "time":
			tm = v
		}
	})
	if product.kind != '"' || !validProduct(product.of(frame)) {
		return out, errProduct
	}
	sym := intern(product.of(frame))
	info.Product = sym
	var s ctc.Side
	switch string(plain(frame, side)) {
	case "BUY", "buy":
		s = ctc.Buy
	case "SELL", "sell":
		s = ctc.Sell
	default:
		return out, errSide
	}
	if d.AdvancedSide == SideIsMaker {
		s = ctc.Buy + ctc.Sell - s
	}
	if tradeID.kind != '"' && tradeID.kind != 'n' || tradeID.end == tradeID.start {
		return out, errTradeID
	}
	if tm.kind != '"' {
		return out, errTime
	}
	ts, ok := rfc3339.Parse(tm.of(frame))
	if !ok {
		return out, errTime
	}
	p, ok := parseDecimal(frame, price)
	if !ok {
		return out, errPrice
	}
	q, ok := parseDecimal(frame, size)
	if !ok {
		return out, errSize
	}
	// A numeric id gets the same event id the Exchange feed gives the same trade, so dedup works
	// across the two feeds.
	var eid [16]byte
	raw := tradeID.of(frame)
	id, numeric := digits(raw)
	if numeric {
		eid = ctc.NewEventIDInt(ctc.Coinbase, sym, id)
		info.TradeID = id
	} else if tradeID.kind == '"' {
		eid = ctc.NewEventID(ctc.Coinbase, sym, string(raw))
		id = -1
	} else {
		return out, errTradeID
	}
	if d.ids != nil {
		*d.ids = append(*d.ids, id)
	}
	return append(out, ctc.Trade{EventID: eid, Exchange: ctc.Coinbase, Symbol: sym, Price: p,
		Quantity: q, QuoteVolume: p * q, Side: s, Timestamp: ts}), nil
}

// --- scanning (internal/jsonscan) ---

// maxNested is how deep containers may nest inside the frame's object.
const maxNested = 65

// scanValue scans any JSON value at b[i] and returns its span (strings without quotes).
func scanValue(b []byte, i int) (span, int, bool) {
	if i < len(b) && b[i] == '"' {
		j, fl, c := jsonscan.String(b, i)
		s := span{start: int32(i + 1), end: int32(j - 1), kind: '"'}
		if fl&jsonscan.Escaped != 0 {
			s.kind = '\\'
		}
		return s, j, c == jsonscan.OK
	}
	j, c := jsonscan.Skip(b, i, maxNested)
	if c != jsonscan.OK {
		return span{}, j, false
	}
	s := span{start: int32(i), end: int32(j), kind: 'o'}
	if c := b[i]; c == '-' || c-'0' <= 9 {
		s.kind = 'n'
	}
	return s, j, true
}

// scanObject scans the object at b[i] == '{', calling f with each unescaped key and its value.
func scanObject(b []byte, i int, f func(key []byte, v span)) (int, bool) {
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		j, kfl, c := jsonscan.String(b, i)
		if c != jsonscan.OK {
			return j, false
		}
		key := b[i+1 : j-1]
		i = jsonscan.SkipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		i = jsonscan.SkipWS(b, i+1)
		v, j, ok := scanValue(b, i)
		if !ok {
			return j, false
		}
		if kfl&jsonscan.Escaped == 0 {
			f(key, v)
		}
		i = jsonscan.SkipWS(b, j)
		if i >= len(b) {
			return i, false
		}
		if b[i] == '}' {
			return i + 1, true
		}
		if b[i] != ',' {
			return i, false
		}
		i = jsonscan.SkipWS(b, i+1)
	}
}

// scanArray scans the array at b[i] == '[', calling f with each element until it returns false.
func scanArray(b []byte, i int, f func(v span) bool) (int, bool) {
	i = jsonscan.SkipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		v, j, ok := scanValue(b, i)
		if !ok {
			return j, false
		}
		if !f(v) {
			return j, false
		}
		i = jsonscan.SkipWS(b, j)
		if i >= len(b) {
			return i, false
		}
		if b[i] == ']' {
			return i + 1, true
		}
		if b[i] != ',' {
			return i, false
		}
		i = jsonscan.SkipWS(b, i+1)
	}
}

// plain returns an unescaped string value's bytes, nil otherwise.
func plain(b []byte, s span) []byte {
	if s.kind != '"' {
		return nil
	}
	return s.of(b)
}

// unescaped returns a string value decoded (error frames only: they may allocate).
func unescaped(b []byte, s span) []byte {
	switch s.kind {
	case '"':
		return s.of(b)
	case '\\':
		q, err := strconv.Unquote(`"` + string(s.of(b)) + `"`)
		if err != nil {
			return s.of(b)
		}
		return []byte(q)
	}
	return nil
}

// parseUint parses a JSON integer (or a string of digits) that fits an int64.
func parseUint(b []byte, s span) (int64, bool) {
	if s.kind != 'n' && s.kind != '"' {
		return 0, false
	}
	return digits(s.of(b))
}

func digits(d []byte) (int64, bool) {
	if len(d) == 0 || len(d) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range d {
		if c-'0' > 9 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseDecimal parses a price or size string exactly as strconv.ParseFloat would: positive,
// finite, plain decimal notation (the JSON number grammar without a sign).
func parseDecimal(b []byte, s span) (float64, bool) {
	if s.kind != '"' {
		return 0, false
	}
	d := s.of(b)
	f, j, ok := jsonscan.Number(d, 0)
	if !ok || j != len(d) || d[0] == '-' {
		return 0, false
	}
	return f, f > 0 && f <= math.MaxFloat64
}

// validProduct accepts BASE-QUOTE of letters and digits.
func validProduct(p []byte) bool {
	dash := -1
	for i, c := range p {
		switch {
		case c == '-':
			if dash >= 0 {
				return false
			}
			dash = i
		case c-'A' < 26 || c-'a' < 26 || c-'0' < 10:
		default:
			return false
		}
	}
	return dash > 0 && dash < len(p)-1 && len(p) <= 32
}

// --- interning ---

// Product ids are few and repeat on every frame; interning them makes Symbol free. The table is
// copy-on-write so lookups take no lock; it is bounded so that a hostile peer cannot grow it.
var (
	internTab atomic.Pointer[map[string]string]
	internMu  sync.Mutex
)

const internMax = 4096

func intern(b []byte) string {
	if m := internTab.Load(); m != nil {
		if s, ok := (*m)[string(b)]; ok {
			return s
		}
	}
	internMu.Lock()
	defer internMu.Unlock()
	old := internTab.Load()
	if old != nil {
		if s, ok := (*old)[string(b)]; ok {
			return s
		}
		if len(*old) >= internMax {
			return string(b)
		}
	}
	m := make(map[string]string, 1+lenMap(old))
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	s := string(b)
	m[s] = s
	internTab.Store(&m)
	return s
}

func lenMap(m *map[string]string) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// takerSide is the aggressor's side of an Exchange match, whose side is the maker's: the maker
// bought ("buy"), so the aggressor sold. The feed's matches, the REST history and the gap repair
// all decode sides with it, so that a trade seen by two of them is the same trade.
func takerSide(maker []byte) (ctc.Side, bool) {
	switch string(maker) {
	case "buy":
		return ctc.Sell, true
	case "sell":
		return ctc.Buy, true
	}
	return 0, false
}
