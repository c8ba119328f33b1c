package ctc_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/jsonl"
	"github.com/coattailcapital/ctc/source/replay"
	"github.com/coattailcapital/ctc/source/sim"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden.sha256 from this build's outputs")

// goldenStream writes a generated market with what a real feed brings: trades delivered up to
// 40 s out of order (late for the volume and spread windows), duplicates, and bad records of
// every kind.
func goldenStream(t *testing.T, path string) {
	src, err := sim.New(sim.Config{Seed: 7, Start: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
		Duration: 40 * time.Minute, Rate: 8, Jitter: 40 * time.Second, InjectEvery: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	bad := []string{
		`{"event_id":`,
		`not json at all`,
		`{"event_id":"a1b2c3d4-0000-5000-8000-000000000001","exchange":"binance","symbol":"BTC-USDT","price":-5,"quantity":1,"side":"buy","timestamp":"2026-03-01T09:10:00.000Z"}`,
		`{"event_id":"a1b2c3d4-0000-5000-8000-000000000002","exchange":"kraken","symbol":"BTC-USD","price":5,"quantity":1,"side":"buy","timestamp":"2026-03-01T09:10:00.000Z"}`,
		`{"exchange":"coinbase","symbol":"BTC-USD","price":5,"quantity":1,"side":"sell"}`,
		`{"event_id":"a1b2c3d4-0000-5000-8000-000000000003","exchange":"coinbase","symbol":"ETH-USD","price":3000,"quantity":1,"side":"sideways","timestamp":"2026-03-01T09:10:00.000Z"}`,
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	var rec ctc.Record
	var lines [][]byte
	for i := 0; ; i++ {
		rec.Reset()
		if err := src.Next(context.Background(), &rec); err != nil {
			break
		}
		line := rec.Trade.AppendJSON(nil)
		lines = append(lines, line)
		w.Write(line)
		w.WriteByte('\n')
		if i%997 == 500 { // a duplicate of a trade a while back
			w.Write(lines[i-400])
			w.WriteByte('\n')
		}
		if i%1499 == 100 {
			w.WriteString(bad[(i/1499)%len(bad)])
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestGoldenOutputs: the same input gives the same NDJSON outputs, byte for byte, as the release
// before the engine and its state were reshaped (testdata/golden.sha256 was written by that
// release, with checkpoints every 5,000 records) — on one core, and with decoding ahead on two.
// The hashes of the four files that hold event ids (raw_trades, whale_trades, late, alerts) were
// rewritten once since, when the simulator's event ids were scoped to the run (seed and start)
// so that two runs never share an id; the other files' are still that release's.
func TestGoldenOutputs(t *testing.T) {
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			goldenRun(t)
		})
	}
}

func goldenRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "trades.ndjson")
	goldenStream(t, in)
	out := filepath.Join(dir, "out")
	src, err := replay.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	files, err := jsonl.New(out, jsonl.WithTrades(), jsonl.WithAppend())
	if err != nil {
		t.Fatal(err)
	}
	states, err := checkpoint.NewDir(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...),
		ctc.WithSinks(files), ctc.WithCheckpoints(ctc.CheckpointConfig{Store: states, PipelineID: "golden", EveryRecords: 5000}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := files.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := p.Stats()
	if s.DeadLetters == 0 || s.Duplicates == 0 || s.Late == 0 || s.Alerts == 0 {
		t.Fatalf("the stream does not exercise every path: %+v", s)
	}

	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".ndjson") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		got = append(got, fmt.Sprintf("%s  %s", hex.EncodeToString(sum[:]), e.Name()))
	}
	slices.Sort(got)
	golden := filepath.Join("testdata", "golden.sha256")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if g := strings.Join(got, "\n") + "\n"; g != string(want) {
		t.Fatalf("outputs differ from the golden ones:\ngot:\n%s\nwant:\n%s", g, want)
	}
}
