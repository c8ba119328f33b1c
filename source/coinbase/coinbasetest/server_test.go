package coinbasetest

import (
	"encoding/json"
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
