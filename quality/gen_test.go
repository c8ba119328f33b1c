package quality

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// Generators of trades and of trade-shaped JSON for the property tests.

// genTrade draws a trade that passes Decode: timestamps with millisecond precision (what
// AppendJSON writes), a finite positive price × quantity, and any non-empty exchange and symbol.
func genTrade() *rapid.Generator[ctc.Trade] {
	return rapid.Custom(func(t *rapid.T) ctc.Trade {
		var tr ctc.Trade
		for tr.EventID == (uuid.UUID{}) {
			copy(tr.EventID[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id"))
		}
		tr.Exchange = rapid.OneOf(rapid.SampledFrom([]string{"binance", "coinbase"}),
			rapid.StringMatching(`.+`)).Draw(t, "exchange")
		tr.Symbol = rapid.OneOf(rapid.StringMatching(`[A-Z0-9]{1,6}-[A-Z0-9]{1,6}`),
			rapid.StringMatching(`.+`)).Draw(t, "symbol")
		for {
			tr.Price = genPositive().Draw(t, "price")
			tr.Quantity = genPositive().Draw(t, "quantity")
			if pq := tr.Price * tr.Quantity; pq > 0 && !math.IsInf(pq, 0) {
				break
			}
		}
		tr.QuoteVolume = tr.Price * tr.Quantity
		if rapid.Bool().Draw(t, "otherVolume") {
			tr.QuoteVolume = genPositive().Draw(t, "quoteVolume")
		}
		tr.Side = rapid.SampledFrom([]ctc.Side{ctc.Buy, ctc.Sell}).Draw(t, "side")
		tr.Timestamp = genTime().Draw(t, "timestamp")
		if rapid.Bool().Draw(t, "ingested") {
			tr.IngestionTimestamp = genTime().Draw(t, "ingestion")
		}
		return tr
	})
}

// genPositive draws finite floats > 0 of every magnitude, subnormals included.
func genPositive() *rapid.Generator[float64] {
	return rapid.OneOf(
		rapid.Float64Range(1e-9, 1e9),
		rapid.Custom(func(t *rapid.T) float64 {
			v := math.Float64frombits(rapid.Uint64Range(1, math.Float64bits(math.MaxFloat64)).Draw(t, "bits"))
			return v
		}),
		rapid.Custom(func(t *rapid.T) float64 { // short decimals, the usual market data
			m := rapid.Int64Range(1, 1e12).Draw(t, "mant")
			e := rapid.IntRange(-10, 4).Draw(t, "exp")
			v, _ := strconv.ParseFloat(fmt.Sprintf("%de%d", m, e), 64)
			return v
		}),
	)
}

// genTime draws a UTC time with millisecond precision between years 1 and 9999, mostly recent.
func genTime() *rapid.Generator[time.Time] {
	lo := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() + 1 // not the zero time, which means missing
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	recentLo := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	recentHi := time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	return rapid.Custom(func(t *rapid.T) time.Time {
		var ms int64
		if rapid.IntRange(0, 3).Draw(t, "range") == 0 {
			ms = rapid.Int64Range(lo, hi).Draw(t, "ms")
		} else {
			ms = rapid.Int64Range(recentLo, recentHi).Draw(t, "ms")
		}
		return time.UnixMilli(ms).UTC()
	})
}

// ---- trade-shaped JSON ----

type member struct{ key, val string } // raw JSON text

var ws = rapid.SampledFrom([]string{"", "", "", "", " ", "\n", "\t", " \r\n "})

// jsonString writes s as a JSON string, escaping at random: any rune may be written as \uXXXX
// (a surrogate pair beyond the BMP) or with its short escape, and some junk may be slipped in
// (lone surrogates, invalid UTF-8), which decoders must turn into U+FFFD like encoding/json.
func jsonString(t *rapid.T, label, s string) string { return jsonStr(t, label, s, true) }

func jsonStr(t *rapid.T, label, s string, junk bool) string {
	var b strings.Builder
	b.WriteByte('"')
	escapeAll := rapid.IntRange(0, 9).Draw(t, label+"EscapeMode")
	for _, r := range s {
		must := r == '"' || r == '\\' || r < 0x20
		esc := must || escapeAll == 0 && rapid.IntRange(0, 2).Draw(t, label+"Esc") == 0
		switch {
		case !esc:
			b.WriteRune(r)
		case r == '"' || r == '\\' || r == '/' && rapid.Bool().Draw(t, label+"Slash"):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r > 0xffff:
			r1, r2 := utf16Pair(r)
			fmt.Fprintf(&b, `\u%04x\u%04X`, r1, r2)
		default:
			if rapid.Bool().Draw(t, label+"Upper") {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		}
	}
	if escapeAll == 1 && junk {
		switch rapid.IntRange(0, 3).Draw(t, label+"Junk") {
		case 0:
			b.WriteString(`\ud800`) // a lone high surrogate
		case 1:
			b.WriteString(`\udc00x`)
		case 2:
			b.WriteString("\xff")
		case 3:
			b.WriteString(`\ud83d\u0041`) // a high surrogate then not a low one
		}
	}
	b.WriteByte('"')
	return b.String()
}

func utf16Pair(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}

// jsonKey writes a known key, escaped at random and only rarely with junk that makes it unknown.
func jsonKey(t *rapid.T, k string) string {
	return jsonStr(t, "key", k, rapid.IntRange(0, 50).Draw(t, "keyJunk") == 0)
}

// jsonNumber draws the text of a JSON number of any shape.
func jsonNumber(t *rapid.T, label string) string {
	switch rapid.IntRange(0, 6).Draw(t, label+"Shape") {
	case 6: // 15 to 17 significant digits and exponents where exact shortcuts stop being exact
		return rapid.StringMatching(`[1-9][0-9]{14,16}`).Draw(t, label+"Long") +
			rapid.SampledFrom([]string{"e", "E", "e+", "e-"}).Draw(t, label+"E") +
			strconv.Itoa(rapid.IntRange(0, 40).Draw(t, label+"Exp"))
	case 0:
		return strconv.FormatFloat(genPositive().Draw(t, label+"F"), 'g', -1, 64)
	case 1:
		return strconv.FormatFloat(genPositive().Draw(t, label+"F"), 'f', -1, 64)
	case 2:
		return rapid.SampledFrom([]string{"0", "-0", "0.0", "-1", "1e400", "-1e400", "1e-400",
			"4.9e-324", "5e-324", "2.4703282292062327e-324", "1.7976931348623157e308",
			"1.7976931348623158e308", "1.7976931348623159e308", "9007199254740993",
			"0.1", "1E2", "1e+2", "1.5e-3", "43250.12", "123456789012345678901234567890",
			"0.000000000000000000000000000001", "1.00000000000000000000000000001"}).Draw(t, label+"Edge")
	default:
		var b strings.Builder
		if rapid.IntRange(0, 4).Draw(t, label+"Neg") == 0 {
			b.WriteByte('-')
		}
		b.WriteString(rapid.StringMatching(`0|[1-9][0-9]{0,24}`).Draw(t, label+"Int"))
		if rapid.Bool().Draw(t, label+"HasFrac") {
			b.WriteString("." + rapid.StringMatching(`[0-9]{1,25}`).Draw(t, label+"Frac"))
		}
		if rapid.IntRange(0, 3).Draw(t, label+"HasExp") == 0 {
			b.WriteString(rapid.StringMatching(`[eE][+-]?[0-9]{1,4}`).Draw(t, label+"Exp"))
		}
		return b.String()
	}
}

// timeText draws RFC 3339-ish text: mostly valid, often subtly not.
func timeText(t *rapid.T, label string) string {
	if rapid.IntRange(0, 6).Draw(t, label+"Odd") == 0 {
		return rapid.SampledFrom([]string{"2024-01-01 00:00:00", "2024-01-01T00:00:00",
			"2024-01-15T10:30:00.123z", "2024-01-15t10:30:00Z", "2024-01-15T10:30:00,5Z",
			"2024-01-15T10:30:00.Z", "2024-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
			"2024-02-29T00:00:00Z", "2024-01-15T24:00:00Z", "2024-01-15T10:60:00Z",
			"2024-01-15T10:30:60Z", "2024-01-15T10:30:00+24:00", "2024-01-15T10:30:00+05:60",
			"2024-01-15T10:30:00-00:00", "2024-01-15T10:30:00+0530", "2024-1-15T10:30:00Z",
			"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2024-01-15T10:30:00.1234567891234Z",
			"+2024-01-15T10:30:00Z", "2024-01-15T10:30:00Z ", "", "1705314600"}).Draw(t, label+"Text")
	}
	year := rapid.OneOf(rapid.IntRange(1990, 2040), rapid.IntRange(0, 9999)).Draw(t, label+"Y")
	month := rapid.IntRange(0, 13).Draw(t, label+"M")
	day := rapid.IntRange(0, 32).Draw(t, label+"D")
	if rapid.IntRange(0, 3).Draw(t, label+"Sane") > 0 {
		month = rapid.IntRange(1, 12).Draw(t, label+"M1")
		day = rapid.IntRange(1, 28).Draw(t, label+"D1")
	}
	s := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d", year, month, day,
		rapid.IntRange(0, 24).Draw(t, label+"h"), rapid.IntRange(0, 60).Draw(t, label+"m"),
		rapid.IntRange(0, 60).Draw(t, label+"s"))
	if n := rapid.IntRange(0, 12).Draw(t, label+"Frac"); n > 0 {
		s += "." + rapid.StringMatching(fmt.Sprintf(`[0-9]{%d}`, n)).Draw(t, label+"FracDigits")
	}
	switch rapid.IntRange(0, 3).Draw(t, label+"Zone") {
	case 0, 1:
		s += "Z"
	default:
		sign := rapid.SampledFrom([]string{"+", "-"}).Draw(t, label+"Sign")
		s += fmt.Sprintf("%s%02d:%02d", sign, rapid.IntRange(0, 24).Draw(t, label+"zh"),
			rapid.IntRange(0, 60).Draw(t, label+"zm"))
	}
	return s
}

// anyValue draws any JSON value, nested up to depth levels.
func anyValue(t *rapid.T, label string, depth int) string {
	k := rapid.IntRange(0, 6).Draw(t, label+"Kind")
	if depth <= 0 && k >= 5 {
		k = 0
	}
	switch k {
	case 0:
		return jsonString(t, label+"S", rapid.String().Draw(t, label+"Str"))
	case 1:
		return jsonNumber(t, label+"N")
	case 2:
		return rapid.SampledFrom([]string{"true", "false", "null"}).Draw(t, label+"Lit")
	case 3:
		return `"` + rapid.SampledFrom([]string{"price", "}", "{", "\\\"", "[", "]", ","}).Draw(t, label+"Tricky") + `"`
	case 4:
		return jsonNumber(t, label+"N2")
	case 5:
		n := rapid.IntRange(0, 3).Draw(t, label+"Len")
		parts := make([]string, n)
		for i := range parts {
			parts[i] = ws.Draw(t, "ws") + anyValue(t, label+"E", depth-1) + ws.Draw(t, "ws")
		}
		return "[" + strings.Join(parts, ",") + "]"
	default:
		n := rapid.IntRange(0, 3).Draw(t, label+"Len")
		parts := make([]string, n)
		for i := range parts {
			key := jsonString(t, label+"K", rapid.SampledFrom([]string{"price", "a", "event_id", "x y"}).Draw(t, label+"Key"))
			parts[i] = ws.Draw(t, "ws") + key + ws.Draw(t, "ws") + ":" + ws.Draw(t, "ws") + anyValue(t, label+"V", depth-1)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
}

// fieldValue draws a value for a known field: mostly valid, often of the wrong type or shape.
func fieldValue(t *rapid.T, field string) string {
	switch rapid.IntRange(0, 9).Draw(t, field+"Class") {
	case 0:
		return "null"
	case 1:
		return `""`
	case 2:
		return anyValue(t, field+"Any", 2)
	}
	switch field {
	case "event_id":
		switch rapid.IntRange(0, 5).Draw(t, "idShape") {
		case 0:
			return jsonString(t, "id", uuid.Nil.String())
		case 1:
			u := uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "idBytes"))
			return jsonString(t, "id", rapid.SampledFrom([]string{strings.ToUpper(u.String()),
				"{" + u.String() + "}", "urn:uuid:" + u.String(), strings.ReplaceAll(u.String(), "-", ""),
				u.String()[:35] + "g", u.String()[:35]}).Draw(t, "idForm"))
		default:
			u := uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "idBytes"))
			return jsonString(t, "id", u.String())
		}
	case "exchange":
		return jsonString(t, "ex", rapid.OneOf(rapid.SampledFrom([]string{"binance", "coinbase", "kraken"}),
			rapid.String()).Draw(t, "exText"))
	case "symbol":
		return jsonString(t, "sym", rapid.OneOf(rapid.SampledFrom([]string{"BTC-USDT", "ETH-USD", "btcusdt"}),
			rapid.String()).Draw(t, "symText"))
	case "price", "quantity", "quote_volume":
		if rapid.IntRange(0, 5).Draw(t, field+"AsString") == 0 {
			return jsonString(t, field+"Str", jsonNumber(t, field+"S"))
		}
		return jsonNumber(t, field)
	case "side":
		return jsonString(t, "side", rapid.SampledFrom([]string{"buy", "sell", "buy", "sell", "BUY", "Sell", "hold", "buy "}).Draw(t, "sideText"))
	default: // timestamps
		return jsonString(t, field+"T", timeText(t, field))
	}
}

var schemaFields = []string{"event_id", "exchange", "symbol", "price", "quantity", "quote_volume",
	"side", "timestamp", "ingestion_timestamp"}

// genRecord draws a trade-shaped JSON object: the schema fields, each present (valid or not),
// repeated or missing, unknown fields with any value, in random order with random whitespace,
// and now and then corrupted.
func genRecord() *rapid.Generator[[]byte] {
	return rapid.Custom(func(t *rapid.T) []byte {
		// Most records have no fault or one; some have several.
		faulty := map[string]bool{}
		for range rapid.SampledFrom([]int{0, 0, 1, 1, 1, 2, 3, 9}).Draw(t, "faults") {
			faulty[rapid.SampledFrom(schemaFields).Draw(t, "faulty")] = true
		}
		var ms []member
		for _, f := range schemaFields {
			key := func() string { return jsonKey(t, f) }
			switch {
			case !faulty[f]:
				if (f == "quote_volume" || f == "ingestion_timestamp") && rapid.IntRange(0, 3).Draw(t, f+"Omit") == 0 {
					if rapid.Bool().Draw(t, f+"Null") {
						ms = append(ms, member{key(), "null"})
					}
					continue
				}
				ms = append(ms, member{key(), validValue(t, f)})
			default:
				switch rapid.IntRange(0, 5).Draw(t, f+"Fault") {
				case 0: // missing
				case 1: // repeated: a bad value, then a good one (last wins)
					ms = append(ms, member{key(), fieldValue(t, f)}, member{key(), validValue(t, f)})
				case 2: // repeated: a good value, then a bad one
					ms = append(ms, member{key(), validValue(t, f)}, member{key(), fieldValue(t, f)})
				default:
					ms = append(ms, member{key(), fieldValue(t, f)})
				}
			}
		}
		for range rapid.IntRange(0, 3).Draw(t, "unknown") {
			key := rapid.OneOf(rapid.SampledFrom([]string{"Price", "trade_id", "e", "price ", "", "event_id\x00"}),
				rapid.String()).Draw(t, "unknownKey")
			ms = append(ms, member{jsonString(t, "uk", key), anyValue(t, "uv", 3)})
		}
		perm := rapid.Permutation(ms).Draw(t, "order")
		var b strings.Builder
		b.WriteString(ws.Draw(t, "ws") + "{")
		for i, m := range perm {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(ws.Draw(t, "ws") + m.key + ws.Draw(t, "ws") + ":" + ws.Draw(t, "ws") + m.val + ws.Draw(t, "ws"))
		}
		b.WriteString("}" + ws.Draw(t, "ws"))
		out := []byte(b.String())
		switch rapid.IntRange(0, 30).Draw(t, "corrupt") {
		case 0:
			out = out[:rapid.IntRange(0, len(out)).Draw(t, "cut")]
		case 1:
			i := rapid.IntRange(0, len(out)).Draw(t, "at")
			junk := rapid.SampledFrom([]string{"x", ",", "}", "{", "\"", "\\", "\x00", "\x1f", "\x7f", "]", " 1", "\xff"}).Draw(t, "junk")
			out = append(out[:i:i], append([]byte(junk), out[i:]...)...)
		case 2:
			out = []byte(rapid.SampledFrom([]string{"[]", "null", "1", `"{}"`, "{}", "{} {}", "", "  ", "{,}",
				`{"a":1,}`, `{"a" 1}`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`, `{"a":NaN}`,
				`{"a":tru}`, `{"a":[1,]}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}"}).Draw(t, "junkDoc"))
		}
		return out
	})
}

// validValue draws a valid value of a field, in many spellings.
func validValue(t *rapid.T, field string) string {
	switch field {
	case "event_id":
		var u uuid.UUID
		for u == (uuid.UUID{}) {
			u = uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "idBytes"))
		}
		s := u.String()
		if rapid.Bool().Draw(t, "idUpper") {
			s = strings.ToUpper(s)
		}
		return jsonString(t, "id", s)
	case "exchange":
		return jsonString(t, "ex", rapid.SampledFrom([]string{"binance", "coinbase"}).Draw(t, "exName"))
	case "symbol":
		return jsonString(t, "sym", rapid.StringMatching(`[A-Z0-9]{1,5}-[A-Z0-9]{1,5}`).Draw(t, "symName"))
	case "price", "quantity", "quote_volume":
		return strconv.FormatFloat(genPositive().Draw(t, field+"V"), rapid.SampledFrom([]byte{'g', 'f', 'e', 'E'}).Draw(t, field+"Fmt"), -1, 64)
	case "side":
		return rapid.SampledFrom([]string{`"buy"`, `"sell"`, `"b\u0075y"`}).Draw(t, "sideV")
	default:
		ts := genTime().Draw(t, field+"V").Add(time.Duration(rapid.Int64Range(0, 999999).Draw(t, field+"Ns")))
		layout := rapid.SampledFrom([]string{time.RFC3339, time.RFC3339Nano, ctc.TimeLayout}).Draw(t, field+"Layout")
		if off := rapid.IntRange(-14*60, 14*60).Draw(t, field+"Off"); rapid.Bool().Draw(t, field+"Zoned") {
			ts = ts.In(time.FixedZone("", off*60))
		}
		return jsonString(t, field+"T", ts.Format(layout))
	}
}
