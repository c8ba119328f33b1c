package binancetest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestCombinedStreamSubscribeAndScript(t *testing.T) {
	s := New(t)
	ws, _, err := websocket.DefaultDialer.Dial(s.WSURL+"/stream?streams=ethusdt@aggTrade", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":9}`)); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.ReadMessage(); err != nil || string(msg) != `{"result":null,"id":9}` {
		t.Fatalf("ack %s %v", msg, err)
	}
	s.Publish("BTCUSDT", 1)
	s.Skip("BTCUSDT", 1)
	s.Publish("ETHUSDT", 1)
	s.Publish("BTCUSDT", 1)
	var got []string
	for range 3 {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Stream string
			Data   struct{ A int64 }
		}
		json.Unmarshal(msg, &f)
		got = append(got, f.Stream+":"+string(rune('0'+f.Data.A%10)))
	}
	if strings.Join(got, " ") != "btcusdt@aggTrade:0 ethusdt@aggTrade:0 btcusdt@aggTrade:2" {
		t.Fatalf("frames %v", got)
	}
}

func TestRESTScriptedAnswersAndWeight(t *testing.T) {
	s := New(t)
	s.Skip("BTCUSDT", 3)
	s.Answer(Answer{Status: 429, RetryAfter: 3})
	resp, err := http.Get(s.URL + "/api/v3/aggTrades?symbol=BTCUSDT&fromId=1001&limit=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || resp.Header.Get("X-MBX-USED-WEIGHT-1M") != "4" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Get(s.URL + "/api/v3/aggTrades?symbol=BTCUSDT&fromId=1001&limit=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rows []map[string]any
	json.NewDecoder(resp.Body).Decode(&rows)
	if len(rows) != 1 || rows[0]["a"].(float64) != 1001 || resp.Header.Get("X-MBX-USED-WEIGHT-1M") != "8" {
		t.Fatalf("%v %v", rows, resp.Header)
	}
}

func TestStallStopsPongs(t *testing.T) {
	s := New(t)
	ws, _, err := websocket.DefaultDialer.Dial(s.WSURL+"/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	pongs := make(chan string, 2)
	ws.SetPongHandler(func(p string) error { pongs <- p; return nil })
	go func() {
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	ws.WriteControl(websocket.PingMessage, []byte("a"), time.Now().Add(time.Second))
	select {
	case p := <-pongs:
		if p != "a" {
			t.Fatalf("pong %q", p)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no pong")
	}
	s.Stall(true)
	ws.WriteControl(websocket.PingMessage, []byte("b"), time.Now().Add(time.Second))
	select {
	case p := <-pongs:
		t.Fatalf("pong %q while stalled", p)
	case <-time.After(100 * time.Millisecond):
	}
}
