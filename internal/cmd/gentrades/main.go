// Command gentrades writes a simulated market as unified NDJSON trades (DESIGN §3.1), for the
// whole-process performance runs in scripts/perf.sh:
//
//	go run ./internal/cmd/gentrades -n 2000000 -instruments 20 -rate 50 > trades.ndjson
//
// -rate is trades per second of each (instrument, exchange), so 20 instruments on two exchanges at
// 50 give 2,000 trades per second of event time. The same flags give the same bytes.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/sim"
)

func main() {
	n := flag.Int64("n", 2_000_000, "number of trades")
	k := flag.Int("instruments", 20, "number of instruments, each on Binance and Coinbase")
	rate := flag.Float64("rate", 50, "trades per second of each (instrument, exchange)")
	seed := flag.Int64("seed", 1, "simulator seed")
	flag.Parse()
	if err := run(os.Stdout, *n, *k, *rate, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gentrades:", err)
		os.Exit(1)
	}
}

func run(w *os.File, n int64, k int, rate float64, seed int64) error {
	src, err := sim.New(sim.Config{
		Seed:        seed,
		Start:       time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC),
		Instruments: sim.ManyInstruments(k),
		Rate:        rate,
		Jitter:      2 * time.Second,
	})
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var rec ctc.Record
	var buf []byte
	for i := int64(0); i < n; i++ {
		rec.Reset()
		if err := src.Next(context.Background(), &rec); err != nil {
			if errors.Is(err, ctc.ErrEndOfInput) {
				break
			}
			return err
		}
		buf = append(rec.Trade.AppendJSON(buf[:0]), '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
