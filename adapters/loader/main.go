// Command loader downloads Binance aggregate trades for symbols and a time range from the REST API
// (GET /api/v3/aggTrades, 1000 a request, paged by id) and writes them as unified NDJSON, one
// ctc.Trade a line.
//
//	go run ./adapters/loader -symbols BTCUSDT,ETHUSDT -from 2024-01-15T10:00:00Z -to 2024-01-15T11:00:00Z -out trades.ndjson -state trades.state
//
// With -warehouse it also appends the trades to raw_trades in a local Iceberg warehouse, one commit
// every -commit-every pages, each carrying a checkpoint sequence so that a resumed download never
// commits the same trades twice.
//
// With -state it is resumable: the state file holds the next id per symbol after every page, and a
// rerun with the same file appends to -out from there. A crash between a page and its state save
// can repeat that page's lines; their event ids are the same, so the pipeline's dedup drops them.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/fsx"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/feed"
	"github.com/coattailcapital/ctc/source/replay"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, isTerminal(os.Stderr)))
}

// state is what -state saves: enough to continue the same download.
type state struct {
	From time.Time        `json:"from"`
	To   time.Time        `json:"to"`
	Next map[string]int64 `json:"next"` // next aggregate id to fetch
	Done map[string]bool  `json:"done"`
	// Seq counts the warehouse commits, the checkpoint sequence of the next one being Seq+1: a
	// commit that landed before a crash could save this state is recognised and not repeated.
	Seq int64 `json:"seq,omitempty"`
	// ID names the download in the warehouse's snapshot summaries.
	ID string `json:"id,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, tty bool) int {
	fs := flag.NewFlagSet("loader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var symbols, from, to, out, statePath, endpoint, warehouse, csvPath string
	var commitEvery int
	var weight int
	var timeout time.Duration
	fs.StringVar(&symbols, "symbols", "", "comma-separated Binance `symbols`, e.g. BTCUSDT,ETHUSDT")
	fs.StringVar(&from, "from", "", "start of the range, RFC 3339 `time` (inclusive)")
	fs.StringVar(&to, "to", "", "end of the range, RFC 3339 `time` (inclusive)")
	fs.StringVar(&out, "out", "", "NDJSON output `file`")
	fs.StringVar(&statePath, "state", "", "resume state `file` (created if absent)")
	fs.StringVar(&csvPath, "csv", "", "convert Binance's public daily aggTrades CSV `file` (data.binance.vision) instead of calling the REST API; -symbols names its one symbol")
	fs.StringVar(&warehouse, "warehouse", "", "also append the trades to raw_trades in the local Iceberg warehouse in `DIR`")
	fs.IntVar(&commitEvery, "commit-every", 100, "with -warehouse: commit (and save -state) every `N` pages of 1,000 trades")
	fs.StringVar(&endpoint, "endpoint", "https://api.binance.com", "REST base `URL`")
	fs.IntVar(&weight, "weight-limit", 6000, "request weight allowed per minute")
	fs.DurationVar(&timeout, "timeout", 15*time.Second, "timeout of one HTTP request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "loader: "+format+"\n", a...)
		return 1
	}
	if csvPath != "" {
		if symbols == "" || out == "" || strings.Contains(symbols, ",") {
			fmt.Fprintln(stderr, "loader: -csv needs -out and one symbol in -symbols")
			return 2
		}
		return convertCSV(ctx, csvPath, symbols, out, warehouse, stdout, stderr)
	}
	if symbols == "" || from == "" || to == "" || out == "" {
		fmt.Fprintln(stderr, "loader: -symbols, -from, -to and -out are required")
		fs.Usage()
		return 2
	}
	fromT, err := time.Parse(time.RFC3339, from)
	if err != nil {
		return fail("-from: %v", err)
	}
	toT, err := time.Parse(time.RFC3339, to)
	if err != nil {
		return fail("-to: %v", err)
	}
	if toT.Before(fromT) {
		return fail("-to is before -from")
	}
	if commitEvery < 1 {
		return fail("-commit-every must be >= 1, got %d", commitEvery)
	}
	st := state{From: fromT, To: toT, Next: map[string]int64{}, Done: map[string]bool{},
		ID: fmt.Sprintf("loader-%d", time.Now().UnixNano())}
	resuming := false
	if statePath != "" {
		if b, err := os.ReadFile(statePath); err == nil {
			var old state
			if err := json.Unmarshal(b, &old); err != nil {
				return fail("state %s: %v", statePath, err)
			}
			if !old.From.Equal(fromT) || !old.To.Equal(toT) {
				return fail("state %s is for %s..%s, not this range: remove it or use another", statePath, old.From, old.To)
			}
			st, resuming = old, true
			if st.Next == nil {
				st.Next = map[string]int64{}
			}
			if st.Done == nil {
				st.Done = map[string]bool{}
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return fail("%v", err)
		}
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if resuming {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(out, flags, 0o644)
	if err != nil {
		return fail("%v", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	h := &binance.History{Endpoint: endpoint, WeightLimit: weight, MaxRetries: 3,
		Client:  &http.Client{Timeout: timeout},
		Backoff: feed.Backoff{Initial: 500 * time.Millisecond, Max: 10 * time.Second}}
	var lake *iceberg.Sink
	if warehouse != "" {
		if lake, err = iceberg.Open(ctx, iceberg.Config{Dir: warehouse}); err != nil {
			return fail("%v", err)
		}
		defer lake.Close(context.WithoutCancel(ctx))
	}
	pages := 0
	// save makes the download's progress durable: the NDJSON lines, then the warehouse commit,
	// then the state, so a crash at any point repeats at most what the state does not cover.
	save := func(sym string, next int64, force bool) error {
		pages++
		if lake != nil && !force && pages%commitEvery != 0 {
			return nil
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if lake != nil {
			cp := ctc.Checkpoint{PipelineID: st.ID, Seq: st.Seq + 1, Position: ctc.Position{Partition: sym, Offset: next}}
			if err := lake.Commit(ctx, cp); err != nil {
				return err
			}
			st.Seq++
		}
		if statePath == "" {
			return nil
		}
		b, _ := json.Marshal(st)
		return fsx.WriteFileAtomic(statePath, b)
	}
	span := toT.Sub(fromT)
	var line []byte
	var batch ctc.Batch
	total := 0
	for _, sym := range strings.Split(symbols, ",") {
		sym = strings.ToUpper(strings.TrimSpace(strings.ReplaceAll(sym, "-", "")))
		if sym == "" || st.Done[sym] {
			continue
		}
		p := progress{w: stderr, tty: tty, symbol: sym}
		resume := int64(-1)
		if n, ok := st.Next[sym]; ok {
			resume = n
		}
		count := 0
		err := h.Load(ctx, sym, fromT, toT, resume, func(page []binance.AggTrade, next int64) error {
			batch.Trades = batch.Trades[:0]
			for i := range page {
				line = append(page[i].Trade.AppendJSON(line[:0]), '\n')
				if _, err := w.Write(line); err != nil {
					return err
				}
				batch.Trades = append(batch.Trades, page[i].Trade)
			}
			if lake != nil {
				if err := lake.Write(ctx, &batch); err != nil {
					return err
				}
			}
			st.Next[sym] = next
			if err := save(sym, next, false); err != nil {
				return err
			}
			count += len(page)
			frac := 1.0
			if span > 0 {
				frac = float64(page[len(page)-1].Trade.Timestamp.Sub(fromT)) / float64(span)
			}
			p.update(frac, count)
			return nil
		})
		if err == nil {
			p.update(1, count) // the range is done even when its last trades came before its end
		}
		p.done(count)
		total += count
		if err != nil {
			if ctx.Err() != nil {
				return fail("interrupted; rerun with the same -state to continue")
			}
			var ne net.Error
			var oe *net.OpError
			if errors.As(err, &oe) || errors.As(err, &ne) {
				return fail("cannot reach %s: %v", endpoint, err)
			}
			return fail("%s: %v", sym, err)
		}
		st.Done[sym] = true
		if err := save(sym, st.Next[sym], true); err != nil {
			return fail("%v", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail("%v", err)
	}
	if err := f.Close(); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "loader: wrote %d trades to %s\n", total, out)
	return 0
}

// progress draws a bar on a terminal and prints a plain line now and then otherwise, so that logs
// stay readable.
type progress struct {
	w        io.Writer
	tty      bool
	symbol   string
	lastLine time.Time
}

func (p *progress) update(frac float64, n int) {
	frac = min(max(frac, 0), 1)
	if p.tty {
		const width = 30
		fill := int(frac * width)
		fmt.Fprintf(p.w, "\r%-10s [%s%s] %5.1f%% %d trades", p.symbol, strings.Repeat("=", fill),
			strings.Repeat(" ", width-fill), frac*100, n)
		return
	}
	if time.Since(p.lastLine) >= 5*time.Second {
		fmt.Fprintf(p.w, "loader: %s %.1f%% %d trades\n", p.symbol, frac*100, n)
		p.lastLine = time.Now()
	}
}

func (p *progress) done(n int) {
	if p.tty {
		fmt.Fprintln(p.w)
	}
	fmt.Fprintf(p.w, "loader: %s: %d trades\n", p.symbol, n)
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// convertCSV writes a public aggTrades CSV file as unified NDJSON (and to raw_trades with a
// warehouse), decoding it as the replay source does. Lines that do not decode are reported on
// stderr and counted; they stop nothing.
func convertCSV(ctx context.Context, path, symbol, out, warehouse string, stdout, stderr io.Writer) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "loader: "+format+"\n", a...)
		return 1
	}
	sym := symbol
	if !strings.Contains(sym, "-") {
		sym = (*binance.SymbolMap)(nil).Normalize([]byte(sym))
	}
	if !strings.Contains(sym, "-") {
		return fail("cannot tell the quote asset of %q: give it as BASE-QUOTE, e.g. BTC-USDT", symbol)
	}
	src, err := replay.Open(path, replay.WithFormat(replay.BinanceCSV), replay.WithInstrument(ctc.Binance, sym))
	if err != nil {
		return fail("%v", err)
	}
	defer src.Close(ctx)
	f, err := os.Create(out)
	if err != nil {
		return fail("%v", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var lake *iceberg.Sink
	if warehouse != "" {
		if lake, err = iceberg.Open(ctx, iceberg.Config{Dir: warehouse}); err != nil {
			return fail("%v", err)
		}
		defer lake.Close(context.WithoutCancel(ctx))
	}
	var rec ctc.Record
	var batch ctc.Batch
	var line []byte
	n, bad := 0, 0
	for {
		rec.Reset()
		err := src.Next(ctx, &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			return fail("%v", err)
		}
		if rec.Err != nil {
			bad++
			fmt.Fprintln(stderr, "loader:", rec.Err)
			continue
		}
		line = append(rec.Trade.AppendJSON(line[:0]), '\n')
		if _, err := w.Write(line); err != nil {
			return fail("%v", err)
		}
		n++
		if lake != nil {
			batch.Trades = append(batch.Trades, rec.Trade)
			if len(batch.Trades) == 100_000 {
				if err := lake.Write(ctx, &batch); err != nil {
					return fail("%v", err)
				}
				batch.Trades = batch.Trades[:0]
			}
		}
	}
	if lake != nil {
		if err := lake.Write(ctx, &batch); err != nil {
			return fail("%v", err)
		}
		if err := lake.Flush(ctx); err != nil {
			return fail("%v", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail("%v", err)
	}
	fmt.Fprintf(stdout, "loader: wrote %d trades to %s (%d lines did not decode)\n", n, out, bad)
	return 0
}
