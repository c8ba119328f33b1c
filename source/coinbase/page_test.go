package coinbase

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
)

const pageDoc = `[{"time":"2024-03-05T10:00:01.123456Z","trade_id":74,"price":"10.00000000","size":"0.01000000","side":"sell"},
 {"time":"2024-03-05T10:00:00.5Z","trade_id":73,"price":"62000.01","size":"0.5","side":"buy"}]`

func TestDecodeTradesPage(t *testing.T) {
	got, err := DecodeTradesPage("BTC-USD", []byte(pageDoc), nil)
	if err != nil || len(got) != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	want := ctc.Trade{EventID: ctc.NewEventIDInt(ctc.Coinbase, "BTC-USD", 73), Exchange: ctc.Coinbase, Symbol: "BTC-USD",
		Price: 62000.01, Quantity: 0.5, QuoteVolume: 62000.01 * 0.5, Side: ctc.Sell,
		Timestamp: time.Date(2024, 3, 5, 10, 0, 0, 500_000_000, time.UTC)}
	if got[1].ID != 73 || got[1].Err != nil || got[1].Trade != want || got[0].Trade.Side != ctc.Buy {
		t.Fatalf("got %+v\nwant %+v", got[1], want)
	}
	for _, c := range []struct{ body, err string }{
		{`{"message":"NotFound"}`, "not a JSON array"},
		{`[1]`, "not a JSON array of objects"},
		{`[{"trade_id":"x","price":"1"}]`, "trade_id"},
		{`[{"trade_id":0}]`, "trade_id"},
		{`[{"trade_id":5,"price":"1"}`, "invalid JSON"},
		{`[] x`, "invalid JSON"},
	} {
		if out, err := DecodeTradesPage("BTC-USD", []byte(c.body), nil); err == nil || !strings.Contains(err.Error(), c.err) || len(out) != 0 {
			t.Errorf("%s: %v %v, want an error saying %q", c.body, out, err, c.err)
		}
	}
	bad, err := DecodeTradesPage("BTC-USD", []byte(`[{"trade_id":9,"price":"1","size":"1","side":"buy"}]`), nil)
	if err != nil || len(bad) != 1 || !errors.Is(bad[0].Err, ErrMalformed) || bad[0].ID != 9 || string(bad[0].Raw) != `{"trade_id":9,"price":"1","size":"1","side":"buy"}` {
		t.Fatalf("an element without a time: %+v %v", bad, err)
	}
}

// The real 2021-04-17 matches, written as the REST history lists them, decode to the trades the
// feed decoder makes of the matches themselves: the same event ids, sides and times.
func TestTradesPageAgreesWithFeed(t *testing.T) {
	f, err := os.Open(sample(t, "coinbase_matches_2021-04-17.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type line struct {
		Msg json.RawMessage `json:"msg"`
	}
	byProduct := map[string][]ctc.Trade{}
	pages := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l line
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue
		}
		trs, info, err := DecodeFrame(l.Msg, nil)
		if err != nil || info.Kind != KindMatch {
			continue
		}
		var m struct {
			Time, Price, Size, Side string
			TradeID                 int64 `json:"trade_id"`
		}
		if err := json.Unmarshal(l.Msg, &m); err != nil {
			t.Fatal(err)
		}
		byProduct[info.Product] = append(byProduct[info.Product], trs[0])
		pages[info.Product] = append(pages[info.Product],
			fmt.Sprintf(`{"time":%q,"trade_id":%d,"price":%q,"size":%q,"side":%q}`, m.Time, m.TradeID, m.Price, m.Size, m.Side))
	}
	if len(byProduct) == 0 {
		t.Skip("no matches in the sample")
	}
	n := 0
	for prod, els := range pages {
		got, err := DecodeTradesPage(prod, []byte("["+strings.Join(els, ",")+"]"), nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			if g.Err != nil || g.Trade != byProduct[prod][i] {
				t.Fatalf("%s %d: page %+v, feed %+v", prod, i, g, byProduct[prod][i])
			}
			n++
		}
	}
	t.Logf("%d real trades of %d products agree", n, len(pages))
}

// benchPage is a full page of 1000 trades as the exchange lists them.
func benchPage() []byte {
	var b strings.Builder
	b.WriteByte('[')
	at := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	for i := range 1000 {
		if i > 0 {
			b.WriteByte(',')
		}
		side := "buy"
		if i%3 == 0 {
			side = "sell"
		}
		fmt.Fprintf(&b, `{"time":%q,"trade_id":%d,"price":"%d.%02d","size":"0.%08d","side":%q}`,
			at.Add(-time.Duration(i)*time.Millisecond).Format("2006-01-02T15:04:05.000000Z"), 600_000_000-i, 62000+i%70, i%100, 1+i*7919%99999999, side)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func BenchmarkDecodeTradesPage(b *testing.B) {
	page := benchPage()
	out := make([]PageTrade, 0, 1000)
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		out, err = DecodeTradesPage("BTC-USD", page, out[:0])
		if err != nil || len(out) != 1000 {
			b.Fatal(err, len(out))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/trade")
}

// BenchmarkDecodeTradesPageJSON is the same page through encoding/json and restToTrade, the
// reference decoder (and the live gap repair's path before it moved to DecodeTradesPage).
func BenchmarkDecodeTradesPageJSON(b *testing.B) {
	page := benchPage()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		var rows []restTrade
		if err := json.Unmarshal(page, &rows); err != nil {
			b.Fatal(err)
		}
		for _, r := range rows {
			if _, err := restToTrade("BTC-USD", r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/trade")
}

// Whatever a page holds, DecodeTradesPage returns trades or an error, never panics; every element
// it decodes is decoded as encoding/json and the feed's rules read it.
func FuzzDecodeTradesPage(f *testing.F) {
	for _, s := range []string{pageDoc, `[]`, `[{"trade_id":1}]`, `[{"trade_id":"7","time":"2024-01-01T00:00:00Z","price":"1e3","size":"2","side":"buy"}]`,
		`[{"trade_id":9,"time":"2024-01-01T00:00:00Z","price":"-1","size":"2","side":"sell"}]`, `{"message":"x"}`, `[{"side":"b\u0075y"}]`, `[` + "\n" + `]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeTradesPage("BTC-USD", b, nil)
		if err != nil {
			if len(got) != 0 {
				t.Fatalf("an error with %d trades", len(got))
			}
			return
		}
		var refs []json.RawMessage
		if json.Unmarshal(b, &refs) != nil {
			return // encoding/json is stricter about some inputs (invalid UTF-8 in strings): not compared
		}
		if len(refs) != len(got) {
			t.Fatalf("%d elements, encoding/json sees %d", len(got), len(refs))
		}
		for i, g := range got {
			if g.ID <= 0 || len(g.Raw) == 0 {
				t.Fatalf("element %d: %+v", i, g)
			}
			if g.Err != nil {
				continue
			}
			// Exact keys, the last of duplicates: encoding/json's struct matching ignores case.
			var m map[string]json.RawMessage
			var rt restTrade
			if json.Unmarshal(refs[i], &m) != nil || json.Unmarshal(m["trade_id"], &rt.TradeID) != nil ||
				json.Unmarshal(m["time"], &rt.Time) != nil || json.Unmarshal(m["side"], &rt.Side) != nil {
				continue // a string id: the reference reads it otherwise
			}
			rt.Price, rt.Size = m["price"], m["size"]
			if rt.TradeID != g.ID {
				t.Fatalf("element %d %s: id %d, reference %d", i, refs[i], g.ID, rt.TradeID)
			}
			want, err := restToTrade("BTC-USD", rt)
			if err != nil || want != g.Trade {
				t.Fatalf("element %d %s: decoded %+v, reference %+v (%v)", i, refs[i], g.Trade, want, err)
			}
		}
	})
}
