package quality

import (
	"math"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/jsonscan"
	"github.com/google/uuid"
)

// Error is why Decode rejected a record.
type Error struct {
	// Reason is ctc.Malformed, ctc.Incomplete or ctc.Invalid.
	Reason ctc.Reason
	// Field is the JSON field at fault (the first one, in the chain's order), "" for malformed input.
	Field string
	// Detail says what is wrong and what was expected.
	Detail string
}

// Error returns the reason and the detail.
func (e *Error) Error() string { return string(e.Reason) + ": " + e.Detail }

// Decode parses one unified trade JSON object (DESIGN §3.1, the format ctc.Trade.AppendJSON
// writes) into t and checks every rule of the chain that does not depend on a Config (see the
// package documentation): the record is a JSON object (else Malformed), the required fields are
// present (else Incomplete), and every value is valid (else Invalid). The exchange and symbol only
// have to be non-empty strings here; the Chain checks them against its Config. A missing or null
// quote_volume is set to price × quantity. Timestamps are in UTC.
//
// It returns nil or an *Error. After an error t holds whatever was decoded and must not be used.
// Decode is safe for concurrent use. It does not allocate for a valid record whose strings have no
// escapes, whose timestamps end in Z or ±hh:mm, and whose exchange and symbol it has seen before.
func Decode(data []byte, t *ctc.Trade) error {
	var d decoder
	if r := d.decode(data, t); r.failed() {
		return d.err(data, r)
	}
	return nil
}

// The fields of the unified trade, in the order of the slots.
const (
	fEventID = iota
	fExchange
	fSymbol
	fPrice
	fQuantity
	fQuoteVolume
	fSide
	fTimestamp
	fIngestion
	numFields
)

var fieldNames = [numFields]string{"event_id", "exchange", "symbol", "price", "quantity",
	"quote_volume", "side", "timestamp", "ingestion_timestamp"}

// requiredFields are checked for completeness in this order; validityOrder is the order in which
// values are checked, so that the detail of a record with several faults is deterministic.
var (
	requiredFields = [...]int{fEventID, fExchange, fSymbol, fPrice, fQuantity, fTimestamp}
	validityOrder  = [...]int{fPrice, fQuantity, fEventID, fTimestamp, fSide, fExchange, fSymbol,
		fQuoteVolume, fIngestion}
)

// fieldOf maps a key to its field, or -1.
func fieldOf(k []byte) int {
	switch len(k) {
	case 4:
		if string(k) == "side" {
			return fSide
		}
	case 5:
		if string(k) == "price" {
			return fPrice
		}
	case 6:
		if string(k) == "symbol" {
			return fSymbol
		}
	case 8:
		switch string(k) {
		case "event_id":
			return fEventID
		case "exchange":
			return fExchange
		case "quantity":
			return fQuantity
		}
	case 9:
		if string(k) == "timestamp" {
			return fTimestamp
		}
	case 12:
		if string(k) == "quote_volume" {
			return fQuoteVolume
		}
	case 19:
		if string(k) == "ingestion_timestamp" {
			return fIngestion
		}
	}
	return -1
}

// matchKey recognises a plain (unescaped) field name at the quote data[i] without scanning it byte
// by byte. It returns the field and the index after the closing quote, or -1 and i.
func matchKey(data []byte, i int) (int, int) {
	k := data[i+1:]
	if len(k) < 5 {
		return -1, i
	}
	switch k[0] {
	case 'e':
		if len(k) >= 9 && k[8] == '"' {
			switch string(k[:8]) {
			case "event_id":
				return fEventID, i + 10
			case "exchange":
				return fExchange, i + 10
			}
		}
	case 's':
		if string(k[:5]) == `side"` {
			return fSide, i + 6
		}
		if len(k) >= 7 && string(k[:7]) == `symbol"` {
			return fSymbol, i + 8
		}
	case 'p':
		if len(k) >= 6 && string(k[:6]) == `price"` {
			return fPrice, i + 7
		}
	case 'q':
		if len(k) >= 9 && string(k[:9]) == `quantity"` {
			return fQuantity, i + 10
		}
		if len(k) >= 13 && string(k[:13]) == `quote_volume"` {
			return fQuoteVolume, i + 14
		}
	case 't':
		if len(k) >= 10 && string(k[:10]) == `timestamp"` {
			return fTimestamp, i + 11
		}
	case 'i':
		if len(k) >= 20 && string(k[:20]) == `ingestion_timestamp"` {
			return fIngestion, i + 21
		}
	}
	return -1, i
}

// state is what the last occurrence of a field held (duplicate keys: the last one wins).
type state uint8

const (
	stAbsent state = iota
	stNull
	stEmpty // "" (and the nil UUID for event_id): counts as missing for required fields
	stOK
	stBad // present, but not a valid value for the field
)

// kind is the JSON type of a field's value, for the detail.
type kind uint8

const (
	kNone kind = iota
	kString
	kNumber
	kOther // true, false, an object or an array
)

type slot struct {
	st         state
	kind       kind
	start, end int // the raw value, data[start:end]
}

// result is the outcome of decode without allocating: the detail is built from it, and from the
// slots, only when the record fails.
type result struct {
	code  rcode // rOK on success
	msg   msgID // malformed: what is wrong; invalid: a sub-case (mProduct)
	field int8  // the field at fault, -1 for malformed input
	pos   int   // malformed: the byte offset of the fault
}

// rcode is a dead-letter reason, small so that results stay in registers.
type rcode uint8

const (
	rOK rcode = iota
	rcMalformed
	rcIncomplete
	rcInvalid
)

func (c rcode) reason() ctc.Reason {
	switch c {
	case rcMalformed:
		return ctc.Malformed
	case rcIncomplete:
		return ctc.Incomplete
	case rcInvalid:
		return ctc.Invalid
	}
	return ""
}

func (r result) failed() bool { return r.code != rOK }

// msgID names what is wrong with malformed input (and one sub-case of invalid).
type msgID uint8

const (
	msgNone msgID = iota
	msgEmpty
	msgNotObject
	msgEOF
	msgWantKey
	msgWantColon
	msgWantComma
	msgWantElem
	msgBadValue
	msgBadLiteral
	msgBadNumber
	msgControl
	msgBadEscape
	msgTrailing
	msgTooDeep
	msgProduct // invalid: price × quantity is not a finite number > 0
)

var messages = [...]string{
	msgEmpty:      "the record is empty",
	msgNotObject:  "the record must be a JSON object",
	msgEOF:        "unexpected end of input",
	msgWantKey:    "expected a string key",
	msgWantColon:  "expected ':' after the key",
	msgWantComma:  "expected ',' or '}' after the value",
	msgWantElem:   "expected ',' or ']' after the element",
	msgBadValue:   "expected a JSON value",
	msgBadLiteral: "invalid literal (true, false or null)",
	msgBadNumber:  "invalid number",
	msgControl:    "control character in a string",
	msgBadEscape:  "invalid escape in a string",
	msgTrailing:   "data after the end of the object",
	msgTooDeep:    "nesting deeper than 10000",
	msgProduct:    "price × quantity is not a finite number > 0",
}

// maxDepth is encoding/json's nesting limit; beyond it input is malformed, as there.
const maxDepth = 10000

func malformed(pos int, msg msgID) result {
	return result{code: rcMalformed, field: -1, pos: pos, msg: msg}
}

// decoder holds the per-record slots and what a Chain adds: its own intern table and its policy.
type decoder struct {
	slots   [numFields]slot
	present uint16       // fields seen, by bit
	ok      uint16       // fields whose last value is valid (stOK), by bit
	scratch []byte       // unescaped strings; reused by a Chain's decoder
	local   *localIntern // the Chain's intern table; nil: the shared one
	pol     *policy      // nil: no exchange or symbol policy (Decode)
}

// decode is Decode without the error value. It scans data once, front to back.
func (d *decoder) decode(data []byte, t *ctc.Trade) result {
	*t = ctc.Trade{}
	d.present, d.ok = 0, 0 // the slots of fields not present are stale: read them through st
	n := len(data)
	i := jsonscan.SkipWS(data, 0)
	if i >= n {
		return malformed(i, msgEmpty)
	}
	if data[i] != '{' {
		return malformed(i, msgNotObject)
	}
	i = jsonscan.SkipWS(data, i+1)
	if i < n && data[i] == '}' {
		i++
	} else {
		for {
			if i >= n {
				return malformed(i, msgEOF)
			}
			if data[i] != '"' {
				return malformed(i, msgWantKey)
			}
			f, j := matchKey(data, i)
			if f < 0 {
				var fl jsonscan.Flags
				var c jsonscan.Code
				if j, fl, c = jsonscan.String(data, i); c != jsonscan.OK {
					return scanErr(j, c)
				}
				if fl == 0 {
					f = fieldOf(data[i+1 : j-1])
				} else {
					f = d.escapedField(data[i+1 : j-1])
				}
			}
			if i = j; i < n && data[i] <= ' ' {
				i = jsonscan.SkipWS(data, i)
			}
			if i >= n {
				return malformed(i, msgEOF)
			}
			if data[i] != ':' {
				return malformed(i, msgWantColon)
			}
			if i++; i < n && data[i] <= ' ' {
				i = jsonscan.SkipWS(data, i)
			}
			var r result
			if f < 0 {
				i, r = skipValue(data, i)
			} else {
				i, r = d.value(f, data, i, t)
				if d.slots[f].st == stOK {
					d.ok |= 1 << f
				}
			}
			if r.failed() {
				return r
			}
			if i < n && data[i] <= ' ' {
				i = jsonscan.SkipWS(data, i)
			}
			if i >= n {
				return malformed(i, msgEOF)
			}
			if data[i] == ',' {
				if i++; i < n && data[i] <= ' ' {
					i = jsonscan.SkipWS(data, i)
				}
				continue
			}
			if data[i] == '}' {
				i++
				break
			}
			return malformed(i, msgWantComma)
		}
	}
	if i = jsonscan.SkipWS(data, i); i != n {
		return malformed(i, msgTrailing)
	}
	return d.finish(t)
}

// st is the state of field f.
func (d *decoder) st(f int) state {
	if d.present&(1<<f) == 0 {
		return stAbsent
	}
	return d.slots[f].st
}

// escapedField looks up a key that has escapes or non-ASCII bytes.
func (d *decoder) escapedField(raw []byte) int {
	if len(raw) > 6*len("ingestion_timestamp") {
		return -1 // longer than any field name fully escaped
	}
	d.scratch = unquote(d.scratch[:0], raw)
	return fieldOf(d.scratch)
}

// value decodes the value of a known field at data[i:].
func (d *decoder) value(f int, data []byte, i int, t *ctc.Trade) (int, result) {
	s := &d.slots[f]
	*s = slot{start: i}
	if bit := uint16(1) << f; d.present&bit == 0 {
		d.present |= bit
	} else { // a repeated key: the last one wins
		clearField(f, t)
		d.ok &^= bit
	}
	if i >= len(data) {
		return i, malformed(i, msgEOF)
	}
	switch c := data[i]; {
	case c == '"':
		// The usual event_id and timestamps hold no byte that needs escaping, so they are parsed
		// straight from the input and the string ends where the parse does.
		switch f {
		case fEventID:
			if i+37 < len(data) && data[i+37] == '"' {
				if u, ok := parseUUID(data[i+1 : i+37]); ok && u != (uuid.UUID{}) {
					t.EventID = u
					s.st, s.kind, s.end = stOK, kString, i+38
					return i + 38, result{}
				}
			}
		case fTimestamp, fIngestion:
			if ts, m, ok := parseTimeFast(data[i+1:]); ok && i+1+m < len(data) && data[i+1+m] == '"' {
				j := i + 2 + m
				s.kind, s.end = kString, j
				setTime(f, ts, s, t)
				return j, result{}
			}
		}
		j, fl, c := jsonscan.String(data, i)
		if c != jsonscan.OK {
			return j, scanErr(j, c)
		}
		s.kind, s.end = kString, j
		raw := data[i+1 : j-1]
		if fl != 0 { // escapes or non-ASCII: decoded as encoding/json does
			d.scratch = unquote(d.scratch[:0], raw)
			raw = d.scratch
		}
		d.str(f, raw, s, t)
		return j, result{}
	case c == '-' || c-'0' <= 9:
		s.kind = kNumber
		if f == fPrice || f == fQuantity || f == fQuoteVolume {
			v, j, ok := jsonscan.Number(data, i)
			if !ok {
				return j, malformed(j, msgBadNumber)
			}
			s.end = j
			if v > 0 && v <= math.MaxFloat64 {
				s.st = stOK
				setNumber(f, v, t)
			} else {
				s.st = stBad
			}
			return j, result{}
		}
		j, r := skipValue(data, i)
		if r.failed() {
			return j, r
		}
		s.st, s.end = stBad, j
		return j, result{}
	case c == 'n':
		j, r := skipValue(data, i)
		if r.failed() {
			return j, r
		}
		s.st, s.end = stNull, j
		return j, result{}
	default:
		j, r := skipValue(data, i)
		if r.failed() {
			return j, r
		}
		s.st, s.kind, s.end = stBad, kOther, j
		return j, result{}
	}
}

// str decodes a string value (unescaped) of field f.
func (d *decoder) str(f int, v []byte, s *slot, t *ctc.Trade) {
	if len(v) == 0 {
		s.st = stEmpty
		if f == fSide || f == fQuoteVolume || f == fIngestion {
			s.st = stBad // present but not a valid value: these fields are not "required"
		}
		return
	}
	s.st = stBad
	switch f {
	case fEventID:
		if u, ok := parseUUID(v); ok {
			t.EventID = u
			s.st = stOK
			if u == (uuid.UUID{}) {
				s.st = stEmpty
			}
		}
	case fExchange:
		t.Exchange = d.intern(v)
		s.st = stOK
	case fSymbol:
		t.Symbol = d.intern(v)
		s.st = stOK
	case fSide:
		switch string(v) {
		case "buy":
			t.Side, s.st = ctc.Buy, stOK
		case "sell":
			t.Side, s.st = ctc.Sell, stOK
		}
	case fTimestamp, fIngestion:
		if ts, ok := parseTime(v); ok {
			setTime(f, ts, s, t)
		}
	}
	// Numbers given as strings stay stBad: "43250.12" is not a number.
}

func (d *decoder) intern(b []byte) string {
	if d.local != nil {
		return d.local.intern(b)
	}
	return internShared(b)
}

// setTime stores a parsed timestamp. The zero time is what a zero ctc.Trade field means, so it
// counts as missing (an ingestion_timestamp that is absent); outside years 0001 to 9999 in UTC a
// time cannot be written in RFC 3339 once normalised, so it is invalid.
func setTime(f int, ts time.Time, s *slot, t *ctc.Trade) {
	switch timeRange(ts) {
	case 0:
		s.st = stOK
		if f == fTimestamp {
			t.Timestamp = ts
		} else {
			t.IngestionTimestamp = ts
		}
	case -1: // the zero time
		s.st = stEmpty
		if f == fIngestion {
			s.st = stNull
		}
	default:
		s.st = stBad
	}
}

// The range of timestamps: after the zero time (0001-01-01T00:00:00Z), up to the end of 9999.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// timeRange is 0 for a time in range, -1 for the zero time, 1 for a time out of range.
func timeRange(ts time.Time) int {
	switch sec := ts.Unix(); {
	case sec > minUnix && sec <= maxUnix:
		return 0
	case sec == minUnix:
		if ts.Nanosecond() == 0 {
			return -1
		}
		return 0
	}
	return 1
}

func clearField(f int, t *ctc.Trade) {
	switch f {
	case fEventID:
		t.EventID = uuid.UUID{}
	case fExchange:
		t.Exchange = ""
	case fSymbol:
		t.Symbol = ""
	case fPrice:
		t.Price = 0
	case fQuantity:
		t.Quantity = 0
	case fQuoteVolume:
		t.QuoteVolume = 0
	case fSide:
		t.Side = ctc.SideUnknown
	case fTimestamp:
		t.Timestamp = time.Time{}
	case fIngestion:
		t.IngestionTimestamp = time.Time{}
	}
}

func setNumber(f int, v float64, t *ctc.Trade) {
	switch f {
	case fPrice:
		t.Price = v
	case fQuantity:
		t.Quantity = v
	case fQuoteVolume:
		t.QuoteVolume = v
	}
}

// allOK are the fields that must hold a valid value: the required ones and side.
const allOK = 1<<fEventID | 1<<fExchange | 1<<fSymbol | 1<<fPrice | 1<<fQuantity | 1<<fTimestamp | 1<<fSide

// finish applies the completeness and validity rules to the decoded slots.
func (d *decoder) finish(t *ctc.Trade) result {
	// The usual record: every field valid. Anything else takes the ordered checks of finishSlow.
	if d.ok&allOK == allOK && optionalOK(d.st(fQuoteVolume)) && optionalOK(d.st(fIngestion)) &&
		(d.pol == nil || d.pol.exchangeOK(t.Exchange) && d.pol.symbolOK(t.Symbol)) {
		pq := t.Price * t.Quantity
		if pq > 0 && pq <= math.MaxFloat64 {
			if d.st(fQuoteVolume) != stOK {
				t.QuoteVolume = pq
			}
			return result{}
		}
	}
	return d.finishSlow(t)
}

func optionalOK(st state) bool { return st == stOK || st == stAbsent || st == stNull }

func (d *decoder) finishSlow(t *ctc.Trade) result {
	for _, f := range requiredFields {
		if st := d.st(f); st == stAbsent || st == stNull || st == stEmpty {
			return result{code: rcIncomplete, field: int8(f)}
		}
	}
	for _, f := range validityOrder {
		st := d.st(f)
		bad := st == stBad
		switch f {
		case fSide:
			bad = st != stOK
		case fExchange:
			bad = bad || d.pol != nil && !d.pol.exchangeOK(t.Exchange)
		case fSymbol:
			bad = bad || d.pol != nil && !d.pol.symbolOK(t.Symbol)
		}
		if bad {
			return result{code: rcInvalid, field: int8(f)}
		}
	}
	pq := t.Price * t.Quantity
	if !(pq > 0 && pq <= math.MaxFloat64) {
		return result{code: rcInvalid, field: fPrice, msg: msgProduct}
	}
	if d.st(fQuoteVolume) != stOK {
		t.QuoteVolume = pq
	}
	return result{}
}

// ---- the scanner (internal/jsonscan) ----

// scanMsg words the shared scanner's codes.
var scanMsg = [...]msgID{
	jsonscan.EOF:        msgEOF,
	jsonscan.WantKey:    msgWantKey,
	jsonscan.WantColon:  msgWantColon,
	jsonscan.WantComma:  msgWantComma,
	jsonscan.WantElem:   msgWantElem,
	jsonscan.BadValue:   msgBadValue,
	jsonscan.BadLiteral: msgBadLiteral,
	jsonscan.BadNumber:  msgBadNumber,
	jsonscan.Control:    msgControl,
	jsonscan.BadEscape:  msgBadEscape,
	jsonscan.TooDeep:    msgTooDeep,
}

func scanErr(pos int, c jsonscan.Code) result { return malformed(pos, scanMsg[c]) }

// skipValue skips the JSON value of a field, at data[i:], checking its syntax. The record's
// object is the first of encoding/json's maxDepth levels.
func skipValue(data []byte, i int) (int, result) {
	j, c := jsonscan.Skip(data, i, maxDepth-1)
	if c != jsonscan.OK {
		return j, scanErr(j, c)
	}
	return j, result{}
}

// unquote appends the value of the string whose raw bytes (between the quotes, already checked
// by jsonscan.String) are s, exactly as encoding/json decodes it: invalid UTF-8 and unpaired surrogates
// become U+FFFD.
func unquote(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			e := s[r+1]
			r += 2
			switch e {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := jsonscan.Hex4(s[r:])
				r += 4
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, jsonscan.Hex4(s[r+2:])); dec != utf8.RuneError {
							r += 6
							dst = utf8.AppendRune(dst, dec)
							break
						}
					}
					rr = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, rr)
			default: // '"', '\\', '/'
				dst = append(dst, e)
			}
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			r += size
			dst = utf8.AppendRune(dst, rr)
		}
	}
	return dst
}

// parseNumber scans the JSON number at data[i:] and returns its value, as strconv.ParseFloat
// would, bit for bit (the detail and the tests call it by this name).
func parseNumber(data []byte, i int) (float64, int, bool) { return jsonscan.Number(data, i) }

// uuidHex are the offsets of the 16 hex pairs in the 36-character form of a UUID.
var uuidHex = [16]uint8{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// parseUUID parses the 36-character form, in either case.
func parseUUID(b []byte) (uuid.UUID, bool) {
	var u uuid.UUID
	if len(b) != 36 || b[8] != '-' || b[13] != '-' || b[18] != '-' || b[23] != '-' {
		return u, false
	}
	var bad int8 // the OR of every digit's value: negative iff one is not hex
	for i, x := range uuidHex {
		hi, lo := jsonscan.Unhex(b[x]), jsonscan.Unhex(b[x+1])
		bad |= hi | lo
		u[i] = byte(hi)<<4 | byte(lo)
	}
	return u, bad >= 0
}
