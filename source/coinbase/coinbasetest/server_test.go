package coinbasetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestSubscribeAndMatches(t *testing.T) {
	s := New("BTC-USD")
	defer s.Close()
	c, _, err := websocket.DefaultDialer.Dial(s.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","product_ids":["BTC-USD"],"channels":["matches","heartbeat"]}`))
	if !s.WaitSubscribed(1, 5*time.Second) {
		t.Fatal("not subscribed")
	}
	s.Match("BTC-USD")
	s.Heartbeat("BTC-USD")
	want := []string{`"type":"subscriptions"`, `"type":"last_match","trade_id":1000`, `"type":"match","trade_id":1001`, `"last_trade_id":1001`}
	for _, w := range want {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, m, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(m), w) {
			t.Fatalf("got %s, want %s", m, w)
		}
	}
}

func TestRESTPaging(t *testing.T) {
	s := New("ETH-USD")
	defer s.Close()
	s.Skip("ETH-USD", 5)
	s.Lose("ETH-USD", 1)
	s.Skip("ETH-USD", 1) // ids 1000..1005 visible, 1006 hidden, 1007 visible
	var got []int64
	after := ""
	for {
		resp, err := http.Get(s.RESTURL + "/products/ETH-USD/trades?limit=3" + after)
		if err != nil {
			t.Fatal(err)
		}
		var page []struct {
			TradeID int64 `json:"trade_id"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if len(page) == 0 {
			break
		}
		for _, p := range page {
			got = append(got, p.TradeID)
		}
		after = "&after=" + resp.Header.Get("CB-AFTER")
	}
	want := []int64{1007, 1005, 1004, 1003, 1002, 1001, 1000}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v", got)
		}
	}
}

// before=N pages to the trades right after N, listed newest first; hidden trades are skipped;
// the cursors are exclusive; the rate limit answers 429 once its bucket is empty.
func TestRESTBeforeAndLimits(t *testing.T) {
	s := New()
	defer s.Close()
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ts []Trade
	for i := range 10 {
		ts = append(ts, Trade{ID: int64(10 + 2*i), Price: "1", Size: "1", Side: "buy", Time: at.Add(time.Duration(i) * time.Second), Hidden: i == 3})
	}
	if err := s.Load("BTC-USD", ts...); err != nil {
		t.Fatal(err)
	}
	if err := s.Load("BTC-USD", Trade{ID: 28}); err == nil {
		t.Fatal("a trade id that does not rise was accepted")
	}
	get := func(q string) (int, []int64, http.Header) {
		resp, err := http.Get(s.RESTURL + "/products/BTC-USD/trades?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page []struct {
			TradeID int64 `json:"trade_id"`
		}
		json.NewDecoder(resp.Body).Decode(&page)
		var ids []int64
		for _, p := range page {
			ids = append(ids, p.TradeID)
		}
		return resp.StatusCode, ids, resp.Header
	}
	if _, ids, h := get("before=11&limit=3"); fmt.Sprint(ids) != "[18 14 12]" || h.Get("CB-BEFORE") != "18" || h.Get("CB-AFTER") != "12" {
		t.Fatalf("before=11: %v %v", ids, h)
	}
	if _, ids, _ := get("after=18&limit=2"); fmt.Sprint(ids) != "[14 12]" {
		t.Fatalf("after=18: %v", ids)
	}
	if _, ids, _ := get("limit=2"); fmt.Sprint(ids) != "[28 26]" {
		t.Fatalf("newest: %v", ids)
	}
	for _, q := range []string{"before=1&after=20", "limit=1001", "after=x"} {
		if code, _, _ := get(q); code != http.StatusBadRequest {
			t.Fatalf("%s: %d", q, code)
		}
	}
	now := at
	s.Clock = func() time.Time { return now }
	s.RateLimit(10, 2, "1")
	codes := ""
	for range 3 {
		c, _, _ := get("limit=1")
		codes += fmt.Sprint(c, " ")
	}
	now = now.Add(100 * time.Millisecond)
	c, _, _ := get("limit=1")
	if codes+fmt.Sprint(c) != "200 200 429 200" || s.Limited() != 1 {
		t.Fatalf("statuses %s%d", codes, c)
	}
}
