package binance

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/feed"
)

// shared is where the exchange samples live, outside the repository (they are never copied in).
const shared = "../../../shared/data/exchanges"

func sharedFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(shared, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("exchange sample %s not present (it lives in ../shared outside the repository)", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeOne(t *testing.T, frame []byte) (ctc.Trade, Info) {
	t.Helper()
	out, info, err := DecodeFrame(frame, nil, nil)
	if err != nil {
		t.Fatalf("DecodeFrame(%s): %v", frame, err)
	}
	if len(out) != 1 {
		t.Fatalf("DecodeFrame(%s): %d trades, want 1", frame, len(out))
	}
	return out[0], info
}

func TestDecodeRealAggTrades(t *testing.T) {
	data := sharedFile(t, "binance_aggtrade_2021-10-12.jsonl")
	want := []struct {
		symbol     string
		id         int64
		price, qty float64
		side       ctc.Side
		ms         int64
	}{
		{"NKN-USDT", 15683430, 0.3528, 58, ctc.Buy, 1633998523963},
		{"LRC-BTC", 9213679, 0.00000638, 177, ctc.Buy, 1633998534486},
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, line := range lines {
		var l struct{ Msg json.RawMessage }
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		tr, info := decodeOne(t, l.Msg)
		w := want[i]
		if tr.Symbol != w.symbol || info.ID != w.id || info.Kind != KindAggTrade || tr.Price != w.price ||
			tr.Quantity != w.qty || tr.Side != w.side || !tr.Timestamp.Equal(time.UnixMilli(w.ms)) ||
			tr.QuoteVolume != w.price*w.qty || tr.Exchange != "binance" ||
			tr.EventID != ctc.NewEventIDInt("binance", w.symbol, w.id) || tr.Timestamp.Location() != time.UTC {
			t.Errorf("line %d: got %+v %+v, want %+v", i, tr, info, w)
		}
	}
}

func TestDecodeDocMessages(t *testing.T) {
	for _, tc := range []struct {
		file   string
		kind   Kind
		trades int
		side   ctc.Side
		id     int64
	}{
		{"binance_aggtrade_combined_real_2021-10-12.json", KindAggTrade, 1, ctc.Buy, 15683430},
		{"binance_aggtrade_doc.json", KindAggTrade, 1, ctc.Sell, 12345},
		{"binance_trade_doc.json", KindTrade, 1, ctc.Sell, 12345},
		{"binance_server_shutdown_combined_doc.json", KindShutdown, 0, 0, -1},
		{"binance_subscribe_response_doc.json", KindAck, 0, 0, 1},
		{"binance_rest_error_doc.json", KindError, 0, 0, -1},
		{"binance_subscribe_request_doc.json", KindUnknown, 0, 0, -1},
	} {
		frame := sharedFile(t, filepath.Join("messages", tc.file))
		out, info, err := DecodeFrame(frame, nil, nil)
		if err != nil || info.Kind != tc.kind || len(out) != tc.trades || info.ID != tc.id {
			t.Errorf("%s: %d trades, %+v, %v; want %d trades kind %v id %d", tc.file, len(out), info, err, tc.trades, tc.kind, tc.id)
			continue
		}
		if tc.trades == 1 && (out[0].Side != tc.side || out[0].Symbol != "BNB-BTC" && out[0].Symbol != "NKN-USDT") {
			t.Errorf("%s: %+v", tc.file, out[0])
		}
		if tc.kind == KindError && (info.Code != -1121 || info.Msg != "Invalid symbol.") {
			t.Errorf("%s: %+v", tc.file, info)
		}
	}
}

// TestDecodeCapture replays the cryptofeed capture through the decoder: every frame must decode,
// and exactly the two aggTrades must yield trades.
func TestDecodeCapture(t *testing.T) {
	r := feed.NewCaptureReader(bytes.NewReader(sharedFile(t, "cryptofeed_BINANCE.ws.1.0.raw")))
	var trades []ctc.Trade
	kinds := map[Kind]int{}
	for {
		_, frame, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var info Info
		n := len(trades)
		trades, info, err = DecodeFrame(frame, nil, trades)
		if err != nil {
			t.Fatalf("%s: %v", frame, err)
		}
		kinds[info.Kind]++
		if info.Kind == KindAggTrade && len(trades) != n+1 {
			t.Fatalf("aggTrade without a trade: %s", frame)
		}
	}
	if len(trades) != 2 || trades[0].Symbol != "NKN-USDT" || trades[1].Symbol != "LRC-BTC" ||
		trades[0].Side != ctc.Buy || trades[1].Side != ctc.Buy {
		t.Fatalf("trades %+v", trades)
	}
	if kinds[KindOther] != 263 || kinds[KindUnknown] != 0 {
		t.Errorf("kinds %v", kinds)
	}
}

func TestSymbolMap(t *testing.T) {
	m := &SymbolMap{Explicit: map[string]string{"WEIRD": "WE-IRD"}}
	for raw, want := range map[string]string{
		"BTCUSDT": "BTC-USDT", "btcusdt": "BTC-USDT", "ETHBTC": "ETH-BTC", "BTCFDUSD": "BTC-FDUSD",
		"WEIRD": "WE-IRD", "USDT": "USDT", "BNBETH": "BNB-ETH", "XYZ": "XYZ", "BTCTRY": "BTC-TRY",
	} {
		if got := m.Normalize([]byte(raw)); got != want {
			t.Errorf("%s → %s, want %s", raw, got, want)
		}
	}
	q := &SymbolMap{Quotes: []string{"USD"}}
	if got := q.Normalize([]byte("BTCUSD")); got != "BTC-USD" {
		t.Errorf("got %s", got)
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, f := range []string{
		``, `{`, `[]`, `{"e":"aggTrade"}`, `{"stream":"x","data":[1}`,
		`{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"NaN","q":"1","T":1,"m":true}`,
		`{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"1","q":"-1","T":1,"m":true}`,
		`{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"1","q":"1","T":1,"m":1}`,
		`{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"1","q":"1","T":1}`,
		`{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"1","q":"1","T":1,"m":true} x`,
		`{"e":"trade","s":"BTCUSDT","a":1,"p":"1","q":"1","T":1,"m":true}`,
		`{"e":"aggTrade","s":"BTCUSDT","a":1,"p":"Inf","q":"1","T":1,"m":true}`,
	} {
		out, _, err := DecodeFrame([]byte(f), nil, nil)
		if err == nil || len(out) != 0 {
			t.Errorf("%q: %d trades, err %v; want an error", f, len(out), err)
		}
	}
}

func TestDecodeArrayStreamIsOther(t *testing.T) {
	out, info, err := DecodeFrame([]byte(`{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker","s":"BTCUSDT"}]}`), nil, nil)
	if err != nil || info.Kind != KindOther || len(out) != 0 {
		t.Fatalf("%v %+v %v", out, info, err)
	}
}

func TestDecodeNestedErrorFrame(t *testing.T) {
	_, info, err := DecodeFrame([]byte(`{"id":7,"error":{"code":2,"msg":"Invalid request"}}`), nil, nil)
	if err != nil || info.Kind != KindError || info.ID != 7 || info.Code != 2 || info.Msg != "Invalid request" {
		t.Fatalf("%+v %v", info, err)
	}
}

var aggFrame = []byte(`{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":26129,"p":"16500.01000000","q":"0.01230000","f":100,"l":105,"T":1672515782136,"m":true,"M":true}}`)

func TestFastPathTaken(t *testing.T) {
	for _, f := range [][]byte{aggFrame, []byte(`{"e":"aggTrade","E":1,"s":"BNBBTC","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1,"m":true,"M":true}`)} {
		if _, ok := fastAggTrade(f); !ok {
			t.Errorf("fast path not taken for %s", f)
		}
	}
}

func TestDecodeZeroAlloc(t *testing.T) {
	out := make([]ctc.Trade, 0, 1)
	DecodeFrame(aggFrame, nil, out)
	if n := testing.AllocsPerRun(100, func() { DecodeFrame(aggFrame, nil, out[:0]) }); n != 0 {
		t.Fatalf("%v allocations per frame, want 0", n)
	}
}

func BenchmarkDecodeAggTrade(b *testing.B) {
	out := make([]ctc.Trade, 0, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(aggFrame)))
	start, cpu := time.Now(), cpuTime()
	for b.Loop() {
		var err error
		if out, _, err = DecodeFrame(aggFrame, nil, out[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	if c := cpuTime() - cpu; c > 0 {
		b.ReportMetric(float64(b.N)/c.Seconds(), "frames/cpu-s")
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add(aggFrame)
	f.Add([]byte(`{"e":"trade","E":1,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1,"m":false,"M":true}`))
	f.Add([]byte(`{"result":null,"id":1}`))
	f.Add([]byte(`{"code":-1121,"msg":"Invalid symbol."}`))
	f.Add([]byte(`{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1}}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		out, info, err := DecodeFrame(frame, nil, nil)
		if _, fast := fastAggTrade(frame); fast {
			gout, ginfo, gerr := decodeGeneral(frame, nil, nil, Info{ID: -1})
			if (err == nil) != (gerr == nil) || ginfo != info || len(gout) != len(out) || len(out) == 1 && gout[0] != out[0] {
				t.Fatalf("fast path %v %+v %v, general %v %+v %v for %q", out, info, err, gout, ginfo, gerr, frame)
			}
		}
		if err != nil && len(out) != 0 {
			t.Fatal("trades with an error")
		}
		for _, tr := range out {
			if !(tr.Price > 0) || !(tr.Quantity > 0) || math.IsInf(tr.Price, 0) || math.IsInf(tr.Quantity, 0) ||
				tr.Side == ctc.SideUnknown || strings.TrimSpace(tr.Symbol) == "" || info.ID < 0 {
				t.Fatalf("bad trade %+v from %q", tr, frame)
			}
		}
	})
}

func TestFastDecimalMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0.35280000", "58.00000000", "0.00000638", "16500.01000000", "1", "100",
		"0.001", "123456789.12345678", "0.1", "9007199254740993", "1.", ".5", "00012.5000"} {
		want, _ := strconv.ParseFloat(s, 64)
		got, ok := decimal([]byte(`"`+s+`"`), span{0, len(s) + 2})
		if !ok || got != want {
			t.Errorf("%s: %v %v, want %v", s, got, ok, want)
		}
	}
}
