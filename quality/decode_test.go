package quality

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"pgregory.net/rapid"
)

const typical = `{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":43250.12,"quantity":0.015,"quote_volume":648.7518,"side":"buy","timestamp":"2024-01-15T10:30:00.123Z","ingestion_timestamp":"2024-01-15T10:30:00.200Z"}`

func TestDecodeTypical(t *testing.T) {
	t.Parallel()
	var got ctc.Trade
	if err := Decode([]byte(typical), &got); err != nil {
		t.Fatal(err)
	}
	want := ctc.Trade{
		EventID:            uuid.MustParse("6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11"),
		Exchange:           "binance",
		Symbol:             "BTC-USDT",
		Price:              43250.12,
		Quantity:           0.015,
		QuoteVolume:        648.7518,
		Side:               ctc.Buy,
		Timestamp:          time.Date(2024, 1, 15, 10, 30, 0, 123e6, time.UTC),
		IngestionTimestamp: time.Date(2024, 1, 15, 10, 30, 0, 200e6, time.UTC),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
	if got != want { // == also compares locations: both must be UTC
		t.Errorf("Decode = %+v, want exactly %+v", got, want)
	}
}

// rec builds a record from the typical one: set replaces (or adds) fields with raw JSON values,
// and the fields named in drop are removed.
func rec(set map[string]string, drop ...string) string {
	fields := []struct{ k, v string }{
		{"event_id", `"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11"`}, {"exchange", `"binance"`},
		{"symbol", `"BTC-USDT"`}, {"price", `43250.12`}, {"quantity", `0.015`},
		{"quote_volume", `648.7518`}, {"side", `"buy"`}, {"timestamp", `"2024-01-15T10:30:00.123Z"`},
		{"ingestion_timestamp", `"2024-01-15T10:30:00.200Z"`},
	}
	var parts []string
	done := map[string]bool{}
	for _, f := range fields {
		v := f.v
		if s, ok := set[f.k]; ok {
			v = s
			done[f.k] = true
		}
		if !contains(drop, f.k) {
			parts = append(parts, strconv.Quote(f.k)+":"+v)
		}
	}
	for k, v := range set {
		if !done[k] {
			parts = append(parts, strconv.Quote(k)+":"+v)
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		reason ctc.Reason
		field  string
		detail string // the exact detail, or a part of it after "~"
	}{
		// malformed
		{"empty", ``, ctc.Malformed, "", "the record is empty; expected a JSON object"},
		{"blank", " \n", ctc.Malformed, "", "the record is empty; expected a JSON object"},
		{"array", `[1,2]`, ctc.Malformed, "", "the record must be a JSON object, got [1,2]"},
		{"string", `"{}"`, ctc.Malformed, "", `the record must be a JSON object, got "{}"`},
		{"null", `null`, ctc.Malformed, "", "the record must be a JSON object, got null"},
		{"truncated", typical[:100], ctc.Malformed, "", "malformed JSON at byte 100: unexpected end of input"},
		{"trailing garbage", typical + "x", ctc.Malformed, "", "~data after the end of the object, near x"},
		{"two objects", typical + typical, ctc.Malformed, "", "~data after the end of the object"},
		{"trailing comma", `{"a":1,}`, ctc.Malformed, "", "malformed JSON at byte 7: expected a string key, near }"},
		{"missing colon", `{"a" 1}`, ctc.Malformed, "", "~expected ':' after the key"},
		{"leading zero", `{"a":01}`, ctc.Malformed, "", "~expected ',' or '}' after the value"},
		{"bare minus", `{"price":-}`, ctc.Malformed, "", "~invalid number"},
		{"dot without digits", `{"price":1.}`, ctc.Malformed, "", "~invalid number"},
		{"NaN", `{"price":NaN}`, ctc.Malformed, "", "~expected a JSON value"},
		{"bad literal", `{"price":nul}`, ctc.Malformed, "", "~invalid literal"},
		{"plus", `{"price":+1}`, ctc.Malformed, "", "~expected a JSON value"},
		{"bad escape", `{"a":"\x"}`, ctc.Malformed, "", "~invalid escape in a string"},
		{"short unicode escape", `{"symbol":"\u12"}`, ctc.Malformed, "", "~invalid escape in a string"},
		{"control character", "{\"a\":\"\x01\"}", ctc.Malformed, "", "~control character in a string"},
		{"unclosed nested", `{"a":[1,{"b":2]}`, ctc.Malformed, "", "~expected ',' or '}'"},
		{"array comma", `{"a":[1,]}`, ctc.Malformed, "", "~expected a JSON value"},
		{"too deep", `{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, ctc.Malformed, "", "~nesting deeper than 10000"},
		// incomplete
		{"missing quantity", rec(nil, "quantity"), ctc.Incomplete, "quantity", "missing field quantity"},
		{"null price", rec(map[string]string{"price": "null"}), ctc.Incomplete, "price", "missing field price (null)"},
		{"empty exchange", rec(map[string]string{"exchange": `""`}), ctc.Incomplete, "exchange", "missing field exchange (empty string)"},
		{"nil uuid", rec(map[string]string{"event_id": `"00000000-0000-0000-0000-000000000000"`}), ctc.Incomplete, "event_id", "missing field event_id (the nil UUID)"},
		{"zero time", rec(map[string]string{"timestamp": `"0001-01-01T01:00:00+01:00"`}), ctc.Incomplete, "timestamp", "missing field timestamp (the zero time)"},
		{"several missing", rec(map[string]string{"timestamp": "null"}, "price", "quantity"), ctc.Incomplete, "price", "missing fields price, quantity, timestamp (null)"},
		{"empty object", `{}`, ctc.Incomplete, "event_id", "missing fields event_id, exchange, symbol, price, quantity, timestamp"},
		{"incomplete before invalid", rec(map[string]string{"price": `"abc"`}, "symbol"), ctc.Incomplete, "symbol", "missing field symbol"},
		// invalid
		{"price string", rec(map[string]string{"price": `"abc"`}), ctc.Invalid, "price", `price must be a finite number > 0, got "abc" (a string)`},
		{"price numeric string", rec(map[string]string{"price": `"43250.12"`}), ctc.Invalid, "price", `price must be a finite number > 0, got "43250.12" (a string)`},
		{"price zero", rec(map[string]string{"price": `0`}), ctc.Invalid, "price", `price must be a finite number > 0, got 0`},
		{"price negative", rec(map[string]string{"price": `-1.5`}), ctc.Invalid, "price", `price must be a finite number > 0, got -1.5`},
		{"price overflow", rec(map[string]string{"price": `1e400`}), ctc.Invalid, "price", `price must be a finite number > 0, got 1e400 (out of range)`},
		{"price bool", rec(map[string]string{"price": `true`}), ctc.Invalid, "price", `price must be a finite number > 0, got true`},
		{"quantity object", rec(map[string]string{"quantity": `{"v":1}`}), ctc.Invalid, "quantity", `quantity must be a finite number > 0, got {"v":1}`},
		{"quantity underflow", rec(map[string]string{"quantity": `1e-400`}), ctc.Invalid, "quantity", `quantity must be a finite number > 0, got 1e-400`},
		{"event_id not a uuid", rec(map[string]string{"event_id": `"abc"`}), ctc.Invalid, "event_id", `~got "abc"`},
		{"event_id braces", rec(map[string]string{"event_id": `"{6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11}"`}), ctc.Invalid, "event_id", `~event_id must be a UUID`},
		{"event_id number", rec(map[string]string{"event_id": `12`}), ctc.Invalid, "event_id", `~got 12`},
		{"timestamp no zone", rec(map[string]string{"timestamp": `"2024-01-01 00:00:00"`}), ctc.Invalid, "timestamp", `timestamp must be RFC 3339 with a zone, got "2024-01-01 00:00:00"`},
		{"timestamp no offset", rec(map[string]string{"timestamp": `"2024-01-01T00:00:00"`}), ctc.Invalid, "timestamp", `~got "2024-01-01T00:00:00"`},
		{"timestamp Feb 30", rec(map[string]string{"timestamp": `"2024-02-30T00:00:00Z"`}), ctc.Invalid, "timestamp", `~got "2024-02-30T00:00:00Z"`},
		{"timestamp year 0", rec(map[string]string{"timestamp": `"0000-06-01T00:00:00Z"`}), ctc.Invalid, "timestamp", `timestamp must be RFC 3339 with a zone, got "0000-06-01T00:00:00Z" (outside years 0001 to 9999 in UTC)`},
		{"timestamp year 10000 in UTC", rec(map[string]string{"timestamp": `"9999-12-31T23:00:00-05:00"`}), ctc.Invalid, "timestamp", `~(outside years 0001 to 9999 in UTC)`},
		{"ingestion before year 1", rec(map[string]string{"ingestion_timestamp": `"0001-01-01T00:00:00+00:01"`}), ctc.Invalid, "ingestion_timestamp", `~(outside years 0001 to 9999 in UTC)`},
		{"timestamp hour 24", rec(map[string]string{"timestamp": `"2024-01-15T24:00:00Z"`}), ctc.Invalid, "timestamp", `~RFC 3339`},
		{"timestamp epoch number", rec(map[string]string{"timestamp": `1705314600`}), ctc.Invalid, "timestamp", `~got 1705314600`},
		{"side upper", rec(map[string]string{"side": `"BUY"`}), ctc.Invalid, "side", `side must be buy or sell, got "BUY"`},
		{"side missing", rec(nil, "side"), ctc.Invalid, "side", `side must be buy or sell, but the field is missing`},
		{"side null", rec(map[string]string{"side": `null`}), ctc.Invalid, "side", `side must be buy or sell, got null`},
		{"side empty", rec(map[string]string{"side": `""`}), ctc.Invalid, "side", `side must be buy or sell, got ""`},
		{"exchange number", rec(map[string]string{"exchange": `7`}), ctc.Invalid, "exchange", `exchange must be a string, got 7`},
		{"symbol array", rec(map[string]string{"symbol": `["BTC"]`}), ctc.Invalid, "symbol", `symbol must be a string, got ["BTC"]`},
		{"quote_volume string", rec(map[string]string{"quote_volume": `"1"`}), ctc.Invalid, "quote_volume", `quote_volume must be a finite number > 0, got "1" (a string)`},
		{"quote_volume empty", rec(map[string]string{"quote_volume": `""`}), ctc.Invalid, "quote_volume", `quote_volume must be a finite number > 0, got "" (a string)`},
		{"quote_volume negative", rec(map[string]string{"quote_volume": `-3`}), ctc.Invalid, "quote_volume", `quote_volume must be a finite number > 0, got -3`},
		{"ingestion bad", rec(map[string]string{"ingestion_timestamp": `"yesterday"`}), ctc.Invalid, "ingestion_timestamp", `ingestion_timestamp must be RFC 3339 with a zone (or null), got "yesterday"`},
		{"ingestion empty", rec(map[string]string{"ingestion_timestamp": `""`}), ctc.Invalid, "ingestion_timestamp", `~got ""`},
		{"product overflow", rec(map[string]string{"price": `1e200`, "quantity": `1e200`}), ctc.Invalid, "price", `price × quantity must be a finite number > 0, got 1e200 × 1e200`},
		{"product underflow", rec(map[string]string{"price": `1e-200`, "quantity": `1e-200`}, "quote_volume"), ctc.Invalid, "price", `price × quantity must be a finite number > 0, got 1e-200 × 1e-200`},
		{"order: price before side", rec(map[string]string{"price": `-1`, "side": `"x"`}), ctc.Invalid, "price", "~price must be"},
		{"order: side before exchange", rec(map[string]string{"exchange": `1`, "side": `"x"`}), ctc.Invalid, "side", "~side must be"},
		{"duplicate key, last bad", rec(map[string]string{"side": `"sell","side":"no"`}), ctc.Invalid, "side", `side must be buy or sell, got "no"`},
		{"long value cut", rec(map[string]string{"timestamp": `"` + strings.Repeat("x", 100) + `"`}), ctc.Invalid, "timestamp", `timestamp must be RFC 3339 with a zone, got "` + strings.Repeat("x", 63) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var tr ctc.Trade
			err := Decode([]byte(tt.in), &tr)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Decode(%s) = %v, want a *Error", tt.in, err)
			}
			if e.Reason != tt.reason || e.Field != tt.field {
				t.Errorf("Decode(%.80s): reason %q field %q, want %q %q (%s)", tt.in, e.Reason, e.Field, tt.reason, tt.field, e.Detail)
			}
			if want, ok := strings.CutPrefix(tt.detail, "~"); ok {
				if !strings.Contains(e.Detail, want) {
					t.Errorf("detail %q does not contain %q", e.Detail, want)
				}
			} else if e.Detail != tt.detail {
				t.Errorf("detail %q, want %q", e.Detail, tt.detail)
			}
			if e.Error() != string(tt.reason)+": "+e.Detail {
				t.Errorf("Error() = %q", e.Error())
			}
			if _, reason, field := refDecode([]byte(tt.in)); reason != tt.reason || field != tt.field {
				t.Errorf("the reference decoder says %q %q: the test or the reference is wrong", reason, field)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	t.Parallel()
	base := func() ctc.Trade {
		var tr ctc.Trade
		if err := Decode([]byte(typical), &tr); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tests := []struct {
		name string
		in   string
		edit func(*ctc.Trade)
	}{
		{"key order and whitespace", " \n{ \"side\" : \"buy\" ,\t\"timestamp\":\"2024-01-15T10:30:00.123Z\",\"symbol\":\"BTC-USDT\",\"quantity\":0.015,\"price\":43250.12,\"exchange\":\"binance\",\"event_id\":\"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11\",\"quote_volume\":648.7518,\"ingestion_timestamp\":\"2024-01-15T10:30:00.200Z\"}\r\n", nil},
		{"unknown fields of every type", rec(map[string]string{"trade_id": `12345`, "m": `true`, "extra": `{"a":[1,2,{"b":"c\"}"}],"d":null}`, "s": `"\u00e9\ud83d\ude00\\\""`, "arr": `[[],{},""]`}), nil},
		{"escaped key", strings.Replace(typical, `"price"`, `"\u0070rice"`, 1), nil},
		{"escaped values", rec(map[string]string{"exchange": `"bin\u0061nce"`, "symbol": `"BTC\u002dUSDT"`, "side": `"b\u0075y"`, "timestamp": `"2024-01-15T10:30:00.123\u005a"`}), nil},
		{"uppercase uuid", rec(map[string]string{"event_id": `"6F1C7C52-0F5E-5D2C-9A57-0D8E5B7E1A11"`}), nil},
		{"duplicate key, last wins", rec(map[string]string{"price": `1, "price": 43250.12`}), nil},
		{"duplicate key, null then value", rec(map[string]string{"quantity": `null, "quantity": 0.015`}), nil},
		{"ingestion null", rec(map[string]string{"ingestion_timestamp": `null`}), func(tr *ctc.Trade) { tr.IngestionTimestamp = time.Time{} }},
		{"ingestion missing", rec(nil, "ingestion_timestamp"), func(tr *ctc.Trade) { tr.IngestionTimestamp = time.Time{} }},
		{"quote_volume missing", rec(nil, "quote_volume"), func(tr *ctc.Trade) { tr.QuoteVolume = 43250.12 * 0.015 }},
		{"quote_volume null after a value", rec(map[string]string{"quote_volume": `5, "quote_volume": null`}), func(tr *ctc.Trade) { tr.QuoteVolume = 43250.12 * 0.015 }},
		{"ingestion zero time", rec(map[string]string{"ingestion_timestamp": `"0001-01-01T00:00:00Z"`}), func(tr *ctc.Trade) { tr.IngestionTimestamp = time.Time{} }},
		{"first instant after the zero time", rec(map[string]string{"timestamp": `"0001-01-01T00:00:00.000000001Z"`}), func(tr *ctc.Trade) { tr.Timestamp = time.Time{}.Add(1) }},
		{"last instant of 9999", rec(map[string]string{"timestamp": `"9999-12-31T23:59:59.999999999Z"`}), func(tr *ctc.Trade) {
			tr.Timestamp = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
		}},
		{"offset", rec(map[string]string{"timestamp": `"2024-01-15T16:00:00.123+05:30"`}), nil},
		{"negative offset", rec(map[string]string{"timestamp": `"2024-01-15T05:30:00.123-05:00"`}), nil},
		{"long fraction", rec(map[string]string{"timestamp": `"2024-01-15T10:30:00.123000000999Z"`}), nil},
		{"no fraction", rec(map[string]string{"timestamp": `"2024-01-15T10:30:00Z"`}), func(tr *ctc.Trade) { tr.Timestamp = tr.Timestamp.Truncate(time.Second) }},
		{"exponent", rec(map[string]string{"price": `4.325012E4`, "quantity": `15e-3`}), nil},
		{"other exchange", rec(map[string]string{"exchange": `"kraken"`}), func(tr *ctc.Trade) { tr.Exchange = "kraken" }},
		{"any symbol", rec(map[string]string{"symbol": `"btc/usdt"`}), func(tr *ctc.Trade) { tr.Symbol = "btc/usdt" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := base()
			if tt.edit != nil {
				tt.edit(&want)
			}
			var got ctc.Trade
			if err := Decode([]byte(tt.in), &got); err != nil {
				t.Fatalf("Decode(%s): %v", tt.in, err)
			}
			if got != want {
				t.Errorf("Decode(%s):\n%s", tt.in, cmp.Diff(want, got))
			}
		})
	}
}

// TestDecodeRoundTrip: what AppendJSON writes, Decode reads back exactly.
func TestDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		want := genTrade().Draw(t, "trade")
		b := want.AppendJSON(nil)
		var got ctc.Trade
		if err := Decode(b, &got); err != nil {
			t.Fatalf("Decode(%s): %v", b, err)
		}
		if got != want {
			t.Fatalf("Decode(%s):\n%s", b, cmp.Diff(want, got))
		}
	})
}

// TestDecodeDifferential: on trade-shaped JSON of every kind, Decode agrees with the slow
// reference decoder built on encoding/json: the same reason, the same field, the same values.
func TestDecodeDifferential(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		data := genRecord().Draw(t, "record")
		checkAgainstReference(t, data)
	})
}

func checkAgainstReference(t interface{ Fatalf(string, ...any) }, data []byte) {
	want, wantReason, wantField := refDecode(data)
	var got ctc.Trade
	err := Decode(data, &got)
	if wantReason == "" {
		if err != nil {
			t.Fatalf("Decode(%q) = %v, the reference accepts it", data, err)
		}
		if got != want {
			t.Fatalf("Decode(%q):\n%s", data, cmp.Diff(want, got))
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode(%q) = %v, the reference says %s %q", data, err, wantReason, wantField)
	}
	if e.Reason != wantReason || e.Field != wantField {
		t.Fatalf("Decode(%q) = %s %q (%s), the reference says %s %q", data, e.Reason, e.Field, e.Detail, wantReason, wantField)
	}
	if e.Detail == "" {
		t.Fatalf("Decode(%q): empty detail", data)
	}
}

// TestParseNumberExact: the number fast path equals strconv.ParseFloat bit for bit.
func TestParseNumberExact(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := jsonNumber(t, "n")
		want, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			t.Fatalf("bad generator: %q: %v", s, err)
		}
		got, end, ok := parseNumber([]byte(s+","), 0)
		if !ok || end != len(s) {
			t.Fatalf("parseNumber(%q) = ok %v end %d", s, ok, end)
		}
		if math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("parseNumber(%q) = %v (%#x), strconv says %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	})
}

// TestParseTime: the timestamp fast path agrees with time.Parse(time.RFC3339) on what it accepts.
func TestParseTime(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := timeText(t, "ts")
		if len(s) > 0 && rapid.Bool().Draw(t, "mutate") { // any byte anywhere, digits' places included
			b := []byte(s)
			b[rapid.IntRange(0, len(b)-1).Draw(t, "at")] = rapid.Byte().Draw(t, "byte")
			s = string(b)
		}
		want, werr := time.Parse(time.RFC3339, s)
		got, ok := parseTime([]byte(s))
		if ok != (werr == nil) {
			t.Fatalf("parseTime(%q) ok = %v, time.Parse: %v", s, ok, werr)
		}
		if ok && got != want.UTC() {
			t.Fatalf("parseTime(%q) = %v, time.Parse: %v", s, got, want.UTC())
		}
		if fast, n, ok := parseTimeFast([]byte(s)); ok && n == len(s) && fast != want.UTC() {
			t.Fatalf("parseTimeFast(%q) = %v, time.Parse: %v", s, fast, want.UTC())
		}
	})
}

func TestParseTimeFastCoversUsualShapes(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"2024-01-15T10:30:00.123Z", "2024-01-15T10:30:00Z", "2024-02-29T23:59:59.999999999+05:30",
		"1970-01-01T00:00:00-12:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} {
		if _, n, ok := parseTimeFast([]byte(s)); !ok || n != len(s) {
			t.Errorf("parseTimeFast(%q) does not take the fast path", s)
		}
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters change allocation counts")
	}
	for _, in := range []string{typical, rec(map[string]string{"timestamp": `"2024-01-15T16:00:00.123+05:30"`}, "ingestion_timestamp", "quote_volume"),
		rec(map[string]string{"trade_id": `12345`, "nested": `{"a":[1,"x"]}`})} {
		data := []byte(in)
		var tr ctc.Trade
		if err := Decode(data, &tr); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(1000, func() { _ = Decode(data, &tr) }); n != 0 {
			t.Errorf("Decode(%s): %v allocations per record, want 0", in, n)
		}
	}
}

// TestDecodeCollidingSymbols: symbols that share a slot of the intern cache, alternating, still
// decode without allocating.
func TestDecodeCollidingSymbols(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters change allocation counts")
	}
	var a, b string
	seen := map[int]string{}
	for i := 0; b == ""; i++ {
		s := fmt.Sprintf("S%d-USDT", i)
		if other, ok := seen[cacheSlot([]byte(s))]; ok {
			a, b = other, s
		}
		seen[cacheSlot([]byte(s))] = s
	}
	ra := []byte(rec(map[string]string{"symbol": strconv.Quote(a)}))
	rb := []byte(rec(map[string]string{"symbol": strconv.Quote(b)}))
	var tr ctc.Trade
	n := testing.AllocsPerRun(1000, func() {
		if Decode(ra, &tr) != nil || tr.Symbol != a || Decode(rb, &tr) != nil || tr.Symbol != b {
			t.Fatal("decode failed")
		}
	})
	if n != 0 {
		t.Errorf("%v allocations for two records with symbols %s and %s, want 0", n, a, b)
	}
	// The same through a chain, whose intern table is its own. After the first two, the records are
	// duplicates, which are decoded in full before they are dropped.
	c := mustNew(t, Config{})
	n = testing.AllocsPerRun(1000, func() {
		if c.Check(&ctc.Record{Data: ra}, &tr).Status == ctc.Fail || tr.Symbol != a ||
			c.Check(&ctc.Record{Data: rb}, &tr).Status == ctc.Fail || tr.Symbol != b {
			t.Fatal("check failed")
		}
	})
	if n != 0 {
		t.Errorf("%v allocations in a chain for two records with symbols %s and %s, want 0", n, a, b)
	}
}

// TestDecodeConcurrent: Decode shares its intern table between goroutines.
func TestDecodeConcurrent(t *testing.T) {
	t.Parallel()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				sym := fmt.Sprintf("C%d-X%d", g, i%300)
				var tr ctc.Trade
				if err := Decode([]byte(rec(map[string]string{"symbol": strconv.Quote(sym)})), &tr); err != nil || tr.Symbol != sym {
					t.Errorf("Decode: %v, symbol %q, want %q", err, tr.Symbol, sym)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestInternBounded(t *testing.T) {
	m := make(map[string]string)
	for i := range maxLocalIntern + 100 {
		internLocal(m, []byte(strconv.Itoa(i)))
	}
	internLocal(m, []byte(strings.Repeat("x", maxInternLen+1)))
	if len(m) != maxLocalIntern {
		t.Errorf("local intern table holds %d strings, want the bound %d", len(m), maxLocalIntern)
	}
	long := strings.Repeat("y", maxInternLen+1)
	if s := internShared([]byte(long)); s != long {
		t.Errorf("internShared = %q", s)
	}
	for i := range maxSharedIntern + 100 {
		if s := internShared([]byte("s" + strconv.Itoa(i))); s != "s"+strconv.Itoa(i) {
			t.Fatalf("internShared = %q", s)
		}
	}
	if n := len(*shared.m.Load()); n > maxSharedIntern {
		t.Errorf("shared intern table holds %d strings, more than the bound %d", n, maxSharedIntern)
	}
}
