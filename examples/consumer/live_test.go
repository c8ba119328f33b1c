package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc/source/binance/binancetest"
	"github.com/coattailcapital/ctc/source/coinbase/coinbasetest"
)

// TestLiveAgainstLocalExchanges runs the consumer's -live mode against the local Binance and
// Coinbase protocol servers: trades from both reach the pipeline, a gap on each exchange is
// repaired from its REST history, and Ctrl-C (here a cancelled context) ends the run cleanly.
func TestLiveAgainstLocalExchanges(t *testing.T) {
	bn := binancetest.New(t)
	cb := coinbasetest.New("BTC-USD")
	defer cb.Close()
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-live", "-symbols", "BTC", "-addr", "off", "-data", t.TempDir(), "-out", out,
			"-binance-ws", bn.WSURL, "-binance-rest", bn.URL, "-coinbase-ws", cb.URL, "-coinbase-rest", cb.RESTURL}, &stdout, &stderr)
	}()
	if !bn.WaitConnects(1, "btcusdt@aggTrade", 10*time.Second) || !cb.WaitSubscribed(1, 10*time.Second) {
		cancel()
		<-done
		t.Fatalf("the live sources did not subscribe; stderr:\n%s", stderr.String())
	}
	bn.Publish("BTCUSDT", 5)
	bn.Skip("BTCUSDT", 3) // only REST has these: repaired
	bn.Publish("BTCUSDT", 2)
	for range 5 {
		cb.Match("BTC-USD")
	}
	cb.Skip("BTC-USD", 2) // only REST has these: repaired
	cb.Match("BTC-USD")

	// Both gaps are reported as repaired once the trades that reveal them have arrived.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "binance BTC-USDT gap ids 1005..1007 repaired") ||
		!strings.Contains(stderr.String(), "coinbase BTC-USD gap ids") {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("no repaired gaps reported; stderr:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the last trades behind the repairs
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after Ctrl-C; stderr:\n%s", code, stderr.String())
	}
	// The shutdown checkpoint flushed the files. 10 Binance trades; Coinbase: the last_match sent
	// on subscribing (the server's first trade), then 8.
	b, err := os.ReadFile(filepath.Join(out, "raw_trades.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range map[string]int{`"exchange":"binance"`: 10, `"exchange":"coinbase"`: 9} {
		if got := strings.Count(string(b), k); got != n {
			t.Errorf("%s: %d trades, want %d; stderr:\n%s", k, got, n, stderr.String())
		}
	}
}

// lockedBuffer is a bytes.Buffer safe to read while the consumer writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
