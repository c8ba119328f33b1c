package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/sim"
)

// writeInput writes half an hour of the seeded simulator as NDJSON, with bad records mixed in:
// one of each dead-letter reason and a duplicate.
func writeInput(t *testing.T) string {
	t.Helper()
	src, err := sim.New(sim.Config{Seed: 3, Start: time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC), Duration: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	var rec ctc.Record
	for i := 0; ; i++ {
		rec.Reset()
		if err := src.Next(context.Background(), &rec); err != nil {
			break
		}
		b = rec.Trade.AppendJSON(b)
		b = append(b, '\n')
		switch i {
		case 100:
			b = append(b, "{not json\n"...)
		case 200:
			b = append(b, `{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":1}`+"\n"...)
		case 300:
			b = append(b, `{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":-1,"quantity":1,"side":"buy","timestamp":"2024-01-15T10:00:00Z"}`+"\n"...)
		case 400:
			b = rec.Trade.AppendJSON(b) // the same trade again
			b = append(b, '\n')
		}
	}
	path := filepath.Join(t.TempDir(), "trades.ndjson")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runConsumer(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

var outputs = []string{"alerts.ndjson", "volume_aggregates.ndjson", "exchange_spreads.ndjson",
	"whale_trades.ndjson", "late.ndjson", "dlq.ndjson", "quality.json"}

func TestReplayIsDeterministic(t *testing.T) {
	in := writeInput(t)
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		if code, _, stderr := runConsumer(t, "-replay", in, "-out", d, "-quiet"); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	for _, name := range outputs {
		a, err := os.ReadFile(filepath.Join(dirs[0], name))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dirs[1], name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two replays of the same file", name)
		}
	}

	var q struct {
		Processed, Passed, Failed, Duplicate, Late, Warnings int64
		QualityScore                                         float64            `json:"quality_score"`
		FailedByReason                                       map[string]int64   `json:"failed_by_reason"`
		Extra                                                map[string]float64 `json:"-"`
	}
	raw, _ := os.ReadFile(filepath.Join(dirs[0], "quality.json"))
	if err := json.Unmarshal(raw, &q); err != nil {
		t.Fatal(err)
	}
	if q.Failed != 3 || q.Duplicate != 1 || q.Passed != q.Processed-4 ||
		q.FailedByReason["malformed"] != 1 || q.FailedByReason["incomplete"] != 1 || q.FailedByReason["invalid"] != 1 {
		t.Errorf("quality.json: %s", raw)
	}
	for _, key := range []string{`"processed"`, `"passed"`, `"failed"`, `"duplicate"`, `"late"`, `"warnings"`, `"quality_score"`, `"failed_by_reason"`} {
		if !bytes.Contains(raw, []byte(key)) {
			t.Errorf("quality.json has no %s", key)
		}
	}

	alerts := readLines(t, filepath.Join(dirs[0], "alerts.ndjson"))
	types := map[ctc.AlertType]int{}
	stamp := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	for _, line := range alerts {
		var a ctc.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		types[a.AlertType]++
		if !a.EmittedAt.Equal(a.DetectedAt) {
			t.Errorf("a replay's emitted_at must equal detected_at: %s", line)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		for _, f := range []string{"window_start", "detected_at", "emitted_at"} {
			if s, _ := m[f].(string); !stamp.MatchString(s) {
				t.Errorf("%s %q is not RFC 3339 UTC with milliseconds", f, s)
			}
		}
	}
	if types[ctc.Whale] == 0 || types[ctc.Spread] == 0 || types[ctc.VolumeSpike] == 0 {
		t.Errorf("want alerts of every type from half an hour of simulated market, got %v", types)
	}
	if dlq := readLines(t, filepath.Join(dirs[0], "dlq.ndjson")); len(dlq) != 3 || !strings.Contains(dlq[0], `"data":"{not json"`) {
		t.Errorf("dlq.ndjson: %q", dlq)
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestCommandLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"help", []string{"-h"}, 0, "-replay FILE"},
		{"unknown flag", []string{"-nope"}, 2, "flag provided but not defined: -nope"},
		{"argument", []string{"extra"}, 2, `unexpected argument "extra"`},
		{"missing file", []string{"-replay", "/does/not/exist.ndjson", "-out", t.TempDir()}, 2, "/does/not/exist.ndjson"},
		{"bad speed", []string{"-speed", "-1"}, 2, "-speed must be >= 0"},
		{"bad threshold", []string{"-z", "4", "-z-high", "3"}, 2, "thresholds"},
		{"bad start", []string{"-start", "yesterday"}, 2, "-start must be RFC 3339"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runConsumer(t, c.args...)
			if code != c.code || !strings.Contains(stderr, c.err) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, c.code, c.err)
			}
		})
	}
	// -h documents every flag.
	_, _, help := runConsumer(t, "-h")
	for _, f := range []string{"-replay", "-out", "-seed", "-speed", "-warmup", "-duration", "-start", "-quiet", "-whale", "-z", "-z-high", "-spread", "-min-history", "-exchange", "-symbol"} {
		if !strings.Contains(help, "  "+f+" ") && !strings.Contains(help, "  "+f+"\n") {
			t.Errorf("-h does not explain %s", f)
		}
	}
}

// The default run must show a newcomer alerts of all three types within 30 seconds. synctest's
// fake clock runs those 30 seconds of pacing without waiting for them.
func TestDefaultRunShowsEveryAlertTypeWithin30s(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var out, errb bytes.Buffer
		args := []string{"-addr", "off", "-data", t.TempDir()}
		if code := run(ctx, args, &out, &errb); code != 0 {
			t.Fatalf("exit %d after Ctrl-C-like cancellation: %s", code, errb.String())
		}
		for _, typ := range []string{" whale ", " spread ", " volume_spike "} {
			if !strings.Contains(out.String(), typ) {
				t.Errorf("no %s alert in the first 30 s; output:\n%s", strings.TrimSpace(typ), out.String())
			}
		}
		if !strings.Contains(errb.String(), "quality score 100.00%") {
			t.Errorf("no closing summary: %s", errb.String())
		}
	})
}

// Without the internet, -live says so at once and exits 1; it does not hang retrying.
func TestLiveFailsFastWithoutNetwork(t *testing.T) {
	start := time.Now()
	code, _, stderr := runConsumer(t, "-live", "-addr", "off", "-data", t.TempDir(),
		"-binance-ws", "ws://127.0.0.1:1", "-binance-rest", "http://127.0.0.1:1", // nothing listens on port 1
		"-coinbase-ws", "ws://127.0.0.1:1", "-coinbase-rest", "http://127.0.0.1:1")
	if code != 1 || !strings.Contains(stderr, "-live needs the internet") || !strings.Contains(stderr, "cannot reach 127.0.0.1:1") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v to fail", d)
	}
}

// The real captures in ../shared replay through the live decoders: every trade passes quality.
func TestReplayRealCaptures(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "exchanges")
	for _, c := range []struct {
		file, exchange string
		trades         int64
	}{
		{"cryptofeed_COINBASE.ws.28.0.raw", "coinbase", 107}, // 97 match + 10 last_match
		{"cryptofeed_BINANCE.ws.1.0.raw", "binance", 2},      // 2 aggTrade
	} {
		path := filepath.Join(dir, c.file)
		if _, err := os.Stat(path); err != nil {
			t.Skipf("%s is not here (../shared is absent outside the project's workspace): %v", c.file, err)
		}
		out := t.TempDir()
		if code, _, stderr := runConsumer(t, "-replay", path, "-capture", c.exchange, "-out", out, "-quiet"); code != 0 {
			t.Fatalf("%s: exit %d: %s", c.file, code, stderr)
		}
		raw, _ := os.ReadFile(filepath.Join(out, "quality.json"))
		var q struct{ Processed, Passed, Failed int64 }
		if err := json.Unmarshal(raw, &q); err != nil {
			t.Fatal(err)
		}
		if q.Processed != c.trades || q.Passed != c.trades || q.Failed != 0 {
			t.Errorf("%s: %s", c.file, raw)
		}
	}
}
