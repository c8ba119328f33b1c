package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/binance/binancetest"
)

func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestLoaderRetryAfterThenResume(t *testing.T) {
	srv := binancetest.New(t)
	btc := srv.Skip("BTCUSDT", 1500)
	srv.Skip("ETHUSDT", 10)
	dir := t.TempDir()
	out, state := filepath.Join(dir, "t.ndjson"), filepath.Join(dir, "t.state")
	// The range must be whole seconds for RFC 3339; widen it to cover every scripted trade.
	from := time.UnixMilli(btc[0].Time).Truncate(time.Second).Format(time.RFC3339)
	to := time.UnixMilli(btc[len(btc)-1].Time + 60000).Truncate(time.Second).Format(time.RFC3339)
	args := []string{"-symbols", "BTCUSDT,ETHUSDT", "-from", from, "-to", to, "-out", out, "-state", state, "-endpoint", srv.URL, "-exchange", "binance"}

	// First run: a 429 (waited out), one page, then a refusal that stops the run.
	srv.Answer(binancetest.Answer{Status: 429, RetryAfter: 1}, binancetest.Answer{Status: 400, After: 1})
	var stdout, stderr bytes.Buffer
	start := time.Now()
	if code := run(context.Background(), args, &stdout, &stderr, false); code != 1 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("Retry-After not honoured: took %v", d)
	}
	if n := len(lines(t, out)); n != 1000 {
		t.Fatalf("%d lines after the first run, want 1000", n)
	}
	// Second run resumes from the state and appends.
	stderr.Reset()
	if code := run(context.Background(), args, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	got := lines(t, out)
	if len(got) != 1510 {
		t.Fatalf("%d lines, want 1510", len(got))
	}
	seen := map[string]bool{}
	for i, m := range got {
		id := m["event_id"].(string)
		if seen[id] {
			t.Fatalf("line %d repeats %s", i, id)
		}
		seen[id] = true
		want := "BTC-USDT"
		if i >= 1500 {
			want = "ETH-USDT"
		}
		if m["symbol"] != want || m["exchange"] != "binance" {
			t.Fatalf("line %d: %v", i, m)
		}
	}
	// A third run has nothing left to do.
	if code := run(context.Background(), args, &stdout, &stderr, false); code != 0 || len(lines(t, out)) != 1510 {
		t.Fatalf("exit %d, %d lines", code, len(lines(t, out)))
	}
}

func TestLoaderFailsFastWithoutNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"-symbols", "BTCUSDT", "-from", "2024-01-01T00:00:00Z",
		"-to", "2024-01-01T01:00:00Z", "-out", filepath.Join(t.TempDir(), "o"), "-endpoint", "http://" + addr}, &stdout, &stderr, false)
	if code != 1 || !strings.Contains(stderr.String(), "cannot reach") {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestLoaderUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), nil, &stdout, &stderr, false); code != 2 {
		t.Fatalf("exit %d", code)
	}
}

func TestLoaderProgressBarOnTerminal(t *testing.T) {
	srv := binancetest.New(t)
	ts := srv.Skip("BTCUSDT", 10)
	from := time.UnixMilli(ts[0].Time).Truncate(time.Second).Format(time.RFC3339)
	to := time.UnixMilli(ts[9].Time + 1000).Truncate(time.Second).Format(time.RFC3339)
	out := filepath.Join(t.TempDir(), "o.ndjson")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-symbols", "BTC-USDT", "-from", from, "-to", to, "-out", out,
		"-endpoint", srv.URL, "-exchange", "binance"}, &stdout, &stderr, true); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "\r\x1b[KBTCUSDT") || !strings.Contains(stderr.String(), "100.0%") ||
		!strings.Contains(stdout.String(), "wrote 10 trades") || len(lines(t, out)) != 10 {
		t.Fatalf("stderr %q stdout %q", stderr.String(), stdout.String())
	}
}

// With -warehouse the trades land in raw_trades too, and a download interrupted after a commit
// resumes without committing any trade twice.
func TestLoaderWarehouseResumesExactlyOnce(t *testing.T) {
	srv := binancetest.New(t)
	btc := srv.Skip("BTCUSDT", 2500)
	dir := t.TempDir()
	out, state, lake := filepath.Join(dir, "t.ndjson"), filepath.Join(dir, "t.state"), filepath.Join(dir, "lake")
	from := time.UnixMilli(btc[0].Time).Truncate(time.Second).Format(time.RFC3339)
	to := time.UnixMilli(btc[len(btc)-1].Time + 60000).Truncate(time.Second).Format(time.RFC3339)
	args := []string{"-symbols", "BTCUSDT", "-from", from, "-to", to, "-out", out, "-state", state,
		"-endpoint", srv.URL, "-warehouse", lake, "-commit-every", "1", "-exchange", "binance"}

	// The third request is refused: two pages (2,000 trades) are committed, then the run stops.
	srv.Answer(binancetest.Answer{Status: 400, After: 2})
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr, false); code != 1 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), args, &stdout, &stderr, false); code != 0 {
		t.Fatalf("resume: exit %d, stderr %s", code, stderr.String())
	}
	sink, err := iceberg.Open(context.Background(), iceberg.Config{Dir: lake})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close(context.Background())
	seen := map[[16]byte]int{}
	n := 0
	for batch, err := range sink.ScanTrades(context.Background(), iceberg.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range batch {
			seen[tr.EventID]++
			n++
		}
	}
	if n != len(btc) || len(seen) != len(btc) {
		t.Fatalf("raw_trades holds %d rows, %d distinct trades; want %d once each", n, len(seen), len(btc))
	}
}

func TestLoaderConvertsPublicCSV(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "BTCUSDT-aggTrades-2025-01-02.csv")
	// µs timestamps (2025 on), buyer-maker true means the aggressor sold; one broken line.
	os.WriteFile(csv, []byte("1,96000.5,0.5,1,1,1735776000000000,true,true\nbroken\n2,96001,0.25,2,3,1735776000500000,false,true\n"), 0o644)
	out := filepath.Join(dir, "t.ndjson")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-csv", csv, "-symbols", "BTCUSDT", "-out", out, "-warehouse", filepath.Join(dir, "lake")}, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	got := lines(t, out)
	if len(got) != 2 || got[0]["symbol"] != "BTC-USDT" || got[0]["side"] != "sell" || got[1]["side"] != "buy" ||
		got[0]["timestamp"] != "2025-01-02T00:00:00.000Z" || !strings.Contains(stderr.String(), "line 2") {
		t.Fatalf("lines %v, stderr %q", got, stderr.String())
	}
}
