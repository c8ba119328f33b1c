package coinbase

import (
	"bufio"
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

// dataDir holds the shared exchange samples (PROVENANCE.md there); they are read in place, never
// copied into the repository.
const dataDir = "../../../shared/data/exchanges"

func sample(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(dataDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared exchange sample %s not available (%v): this test needs the workspace's ../shared/data/exchanges", p, err)
	}
	return p
}

const matchDoc = `{"type":"match","trade_id":10,"sequence":50,"maker_order_id":"ac928c66-ca53-498f-9c13-a110027a60e8","taker_order_id":"132fb6ae-456b-4654-b4e0-d681ac05cea1","time":"2014-11-07T08:19:27.028459Z","product_id":"BTC-USD","size":"5.23512","price":"400.23","side":"sell"}`

func TestDecodeMatchDoc(t *testing.T) {
	tr, info, err := DecodeFrame([]byte(matchDoc), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr) != 1 || info.Kind != KindMatch || info.Product != "BTC-USD" || info.Sequence != 50 || info.TradeID != 10 {
		t.Fatalf("got %+v %+v", tr, info)
	}
	want := ctc.Trade{
		EventID: ctc.NewEventIDInt("coinbase", "BTC-USD", 10), Exchange: "coinbase", Symbol: "BTC-USD",
		Price: 400.23, Quantity: 5.23512, QuoteVolume: 400.23 * 5.23512, Side: ctc.Buy,
		Timestamp: time.Date(2014, 11, 7, 8, 19, 27, 28459000, time.UTC),
	}
	if tr[0] != want {
		t.Fatalf("got  %+v\nwant %+v", tr[0], want)
	}
}

func TestMessagesDir(t *testing.T) {
	dir := sample(t, "messages")
	files, _ := filepath.Glob(filepath.Join(dir, "coinbase_*.json"))
	if len(files) == 0 {
		t.Skip("no coinbase_*.json in " + dir)
	}
	wantKind := map[string]Kind{
		"coinbase_advanced_heartbeats_doc.json":                KindAdvancedOther,
		"coinbase_advanced_market_trades_doc.json":             KindMarketTrades,
		"coinbase_advanced_subscribe_market_trades_doc.json":   KindOther,
		"coinbase_exchange_error_thirdparty.json":              KindError,
		"coinbase_exchange_heartbeat_doc.json":                 KindHeartbeat,
		"coinbase_exchange_last_match_real_2021-04-17.json":    KindLastMatch,
		"coinbase_exchange_match_doc.json":                     KindMatch,
		"coinbase_exchange_match_real_2021-04-17.json":         KindMatch,
		"coinbase_exchange_subscribe_matches_heartbeat.json":   KindOther,
		"coinbase_exchange_subscriptions_doc.json":             KindSubscriptions,
		"coinbase_exchange_subscriptions_real_2021-04-17.json": KindSubscriptions,
		"coinbase_exchange_ticker_doc.json":                    KindTicker,
		"coinbase_exchange_ticker_real_2021-04-17.json":        KindTicker,
	}
	d := Decoder{AdvancedSide: DefaultAdvancedSide}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(f)
		tr, info, err := d.Decode(b, nil)
		if err != nil {
			t.Errorf("%s: %v", base, err)
			continue
		}
		if k, ok := wantKind[base]; ok && k != info.Kind {
			t.Errorf("%s: kind %v, want %v", base, info.Kind, k)
		}
		switch info.Kind {
		case KindMatch, KindLastMatch, KindMarketTrades:
			if len(tr) != 1 {
				t.Errorf("%s: %d trades", base, len(tr))
			}
		default:
			if len(tr) != 0 {
				t.Errorf("%s: %d trades", base, len(tr))
			}
		}
		if base == "coinbase_exchange_error_thirdparty.json" && (info.Message != "Failed to subscribe" || info.Reason != "FOO-BAR is not a valid product") {
			t.Errorf("error frame: %+v", info)
		}
		if base == "coinbase_exchange_heartbeat_doc.json" && (info.Product != "BTC-USD" || info.Sequence != 90 || info.TradeID != 20) {
			t.Errorf("heartbeat: %+v", info)
		}
		if base == "coinbase_advanced_market_trades_doc.json" {
			want := ctc.Trade{EventID: ctc.NewEventIDInt("coinbase", "ETH-USD", 0), Exchange: "coinbase", Symbol: "ETH-USD",
				Price: 1260.01, Quantity: 0.3, QuoteVolume: 1260.01 * 0.3, Side: ctc.Buy,
				Timestamp: time.Date(2019, 8, 14, 20, 42, 27, 265000000, time.UTC)}
			if tr[0] != want {
				t.Errorf("market_trades: %+v", tr[0])
			}
			tm, _, _ := Decoder{AdvancedSide: SideIsMaker}.Decode(b, nil)
			if tm[0].Side != ctc.Sell {
				t.Errorf("SideIsMaker: %v", tm[0].Side)
			}
			if _, _, err := DecodeFrame(b, nil); !errors.Is(err, ErrSideNotSet) {
				t.Errorf("unset side meaning: %v", err)
			}
		}
	}
}

// reference decodes a match with encoding/json and strconv, the slow obvious way.
type refMatch struct {
	Type      string `json:"type"`
	TradeID   int64  `json:"trade_id"`
	Side      string `json:"side"`
	Size      string `json:"size"`
	Price     string `json:"price"`
	ProductID string `json:"product_id"`
	Sequence  int64  `json:"sequence"`
	Time      string `json:"time"`
}

func checkAgainstRef(t *testing.T, frame []byte, got []ctc.Trade, info Info) {
	t.Helper()
	var r refMatch
	if err := json.Unmarshal(frame, &r); err != nil {
		t.Fatal(err)
	}
	if r.Type != "match" && r.Type != "last_match" {
		if len(got) != 0 {
			t.Fatalf("%s: trades from a %s", frame, r.Type)
		}
		return
	}
	p, _ := strconv.ParseFloat(r.Price, 64)
	q, _ := strconv.ParseFloat(r.Size, 64)
	ts, _ := time.Parse(time.RFC3339Nano, r.Time)
	side := ctc.Buy
	if r.Side == "buy" {
		side = ctc.Sell
	}
	want := ctc.Trade{EventID: ctc.NewEventIDInt("coinbase", r.ProductID, r.TradeID), Exchange: "coinbase",
		Symbol: r.ProductID, Price: p, Quantity: q, QuoteVolume: p * q, Side: side, Timestamp: ts.UTC()}
	if len(got) != 1 || got[0] != want || info.Sequence != r.Sequence || info.TradeID != r.TradeID {
		t.Fatalf("%s:\n got %+v %+v\nwant %+v", frame, got, info, want)
	}
}

func TestMatchesJSONL(t *testing.T) {
	f, err := os.Open(sample(t, "coinbase_matches_2021-04-17.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	counts := map[Kind]int{}
	for sc.Scan() {
		var line struct{ Msg json.RawMessage }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		tr, info, err := DecodeFrame(line.Msg, nil)
		if err != nil {
			t.Fatalf("%s: %v", line.Msg, err)
		}
		counts[info.Kind]++
		checkAgainstRef(t, line.Msg, tr, info)
	}
	if counts[KindMatch] != 97 || counts[KindLastMatch] != 10 || counts[KindSubscriptions] != 3 {
		t.Fatalf("counts %v", counts)
	}
}

func TestCryptofeedCapture(t *testing.T) {
	f, err := os.Open(sample(t, "cryptofeed_COINBASE.ws.28.0.raw"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := feed.NewCaptureReader(f)
	counts := map[Kind]int{}
	var out []ctc.Trade
	var firstMatch *ctc.Trade
	for {
		_, frame, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var info Info
		out, info, err = DecodeFrame(frame, out[:0])
		if err != nil {
			t.Fatalf("%.200s: %v", frame, err)
		}
		counts[info.Kind]++
		if info.Kind == KindMatch || info.Kind == KindLastMatch {
			checkAgainstRef(t, frame, out, info)
			if info.Kind == KindMatch && firstMatch == nil {
				firstMatch = &out[0]
				tr := out[0]
				firstMatch = &tr
			}
		}
		if info.Kind == KindL2Update || info.Kind == KindSnapshot || info.Kind == KindTicker {
			if info.Product == "" {
				t.Fatalf("%.200s: no product", frame)
			}
		}
	}
	want := map[Kind]int{KindMatch: 97, KindLastMatch: 10, KindSubscriptions: 3, KindSnapshot: 10, KindTicker: 107, KindL2Update: 9719}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%v: %d frames, want %d", k, counts[k], n)
		}
	}
	// The first real match: SKL-BTC 280232, maker sold, so the aggressor bought.
	if firstMatch == nil || firstMatch.Symbol != "SKL-BTC" || firstMatch.Side != ctc.Buy || firstMatch.Price != 0.00001305 ||
		firstMatch.Quantity != 985 || firstMatch.EventID != ctc.NewEventIDInt("coinbase", "SKL-BTC", 280232) ||
		!firstMatch.Timestamp.Equal(time.Date(2021, 4, 17, 16, 43, 37, 89723000, time.UTC)) {
		t.Fatalf("first match %+v", firstMatch)
	}
}

func TestRealSides(t *testing.T) {
	// Exact checks of real frames: "side" is the maker's, the trade's side is the opposite.
	cases := []struct {
		file string
		side ctc.Side
		id   int64
	}{
		{"messages/coinbase_exchange_match_real_2021-04-17.json", ctc.Buy, 280232},
		{"messages/coinbase_exchange_last_match_real_2021-04-17.json", ctc.Buy, 881613},
	}
	for _, c := range cases {
		b, err := os.ReadFile(sample(t, c.file))
		if err != nil {
			t.Fatal(err)
		}
		tr, _, err := DecodeFrame(b, nil)
		if err != nil || len(tr) != 1 || tr[0].Side != c.side {
			t.Fatalf("%s: %+v %v", c.file, tr, err)
		}
	}
	b := []byte(strings.Replace(matchDoc, `"side":"sell"`, `"side":"buy"`, 1))
	tr, _, _ := DecodeFrame(b, nil)
	if tr[0].Side != ctc.Sell {
		t.Fatal("maker buy must be an aggressor sell")
	}
}

func TestMalformed(t *testing.T) {
	bad := []string{
		``, `[]`, `{`, `{"type":"match"}`, `nul`, `{"type":"match","trade_id":1}x`,
		strings.Replace(matchDoc, `"side":"sell"`, `"side":"up"`, 1),
		strings.Replace(matchDoc, `"price":"400.23"`, `"price":"4e"`, 1),
		strings.Replace(matchDoc, `"price":"400.23"`, `"price":400.23`, 1),
		strings.Replace(matchDoc, `"size":"5.23512"`, `"size":"-5"`, 1),
		strings.Replace(matchDoc, `"trade_id":10`, `"trade_id":"x"`, 1),
		strings.Replace(matchDoc, `2014-11-07T08:19:27.028459Z`, `2014-13-07T08:19:27Z`, 1),
		strings.Replace(matchDoc, `"BTC-USD"`, `"BTCUSD"`, 1),
	}
	for _, s := range bad {
		tr, _, err := DecodeFrame([]byte(s), nil)
		if err == nil || len(tr) != 0 {
			t.Errorf("%q: no error", s)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v is not ErrMalformed", s, err)
		}
	}
}

func TestDecimalExact(t *testing.T) {
	for _, s := range []string{"0.00001305", "400.23", "5.23512", "123456789.123456789", "0.1", "1e5", "1E-3", "0.000000000000000000000000001", "99999999999999999999999", "3"} {
		want, _ := strconv.ParseFloat(s, 64)
		b := []byte(`"` + s + `"`)
		got, ok := parseDecimal(b, span{start: 1, end: int32(len(b) - 1), kind: '"'})
		if !ok || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%s: got %v want %v", s, got, want)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	frame := []byte(matchDoc)
	out := make([]ctc.Trade, 0, 4)
	DecodeFrame(frame, out)
	n := testing.AllocsPerRun(1000, func() {
		out, _, _ = DecodeFrame(frame, out[:0])
	})
	if n != 0 {
		t.Fatalf("%v allocs per frame", n)
	}
	hb := []byte(`{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}`)
	if n := testing.AllocsPerRun(1000, func() { out, _, _ = DecodeFrame(hb, out[:0]) }); n != 0 {
		t.Fatalf("heartbeat: %v allocs", n)
	}
}

func BenchmarkDecodeMatch(b *testing.B) {
	frame := []byte(matchDoc)
	out := make([]ctc.Trade, 0, 4)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var err error
		out, _, err = DecodeFrame(frame, out[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte(matchDoc))
	f.Add([]byte(`{"type":"heartbeat","sequence":90,"last_trade_id":20,"product_id":"BTC-USD","time":"2014-11-07T08:19:28.464459Z"}`))
	f.Add([]byte(`{"type":"error","message":"Failed to subscribe","reason":"FOO-BAR is not a valid product"}`))
	f.Add([]byte(`{"channel":"market_trades","events":[{"type":"update","trades":[{"trade_id":"12","product_id":"BTC-USD","price":"1.5","size":"2","side":"BUY","time":"2019-08-14T20:42:27.265Z"}]}]}`))
	d := Decoder{AdvancedSide: SideIsTaker}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, info, err := d.Decode(b, nil)
		if err != nil {
			if len(tr) != 0 {
				t.Fatal("trades with an error")
			}
			return
		}
		if len(tr) > 0 && !json.Valid(b) {
			t.Fatalf("trades from invalid JSON %q", b)
		}
		for _, x := range tr {
			if x.Side != ctc.Buy && x.Side != ctc.Sell || !(x.Price > 0) || !(x.Quantity > 0) || x.Symbol == "" || x.Timestamp.IsZero() {
				t.Fatalf("bad trade %+v from %q", x, b)
			}
		}
		_ = info
	})
}

// BenchmarkDecodeCapture decodes every frame of the real capture (mostly level2 updates, which
// the source only recognises): the cost of a busy connection's mix.
func BenchmarkDecodeCapture(b *testing.B) {
	f, err := os.Open(sample(b, "cryptofeed_COINBASE.ws.28.0.raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var frames [][]byte
	var size int64
	r := feed.NewCaptureReader(f)
	for {
		_, fr, err := r.Next()
		if err != nil {
			break
		}
		frames = append(frames, append([]byte(nil), fr...))
		size += int64(len(fr))
	}
	out := make([]ctc.Trade, 0, 4)
	b.SetBytes(size / int64(len(frames)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		out, _, _ = DecodeFrame(frames[n%len(frames)], out[:0])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "frames/s")
}
