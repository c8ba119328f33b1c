package maintain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"

	"github.com/coattailcapital/ctc"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
)

// The checks read the warehouse with iceberg-go alone — a SQL catalog of its own on catalog.db,
// opened afresh for every look, and iceberg-go's scan — never through the sink or this package.

func openSink(t testing.TB, dir string) *icesink.Sink {
	t.Helper()
	s, err := icesink.Open(t.Context(), icesink.Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(t.Context()); err != nil && !errors.Is(err, icesink.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// freshCatalog opens the warehouse's catalog through iceberg-go's registry, as the iceberg CLI
// does.
func freshCatalog(t testing.TB, dir string) catalog.Catalog {
	t.Helper()
	cat, err := catalog.Load(t.Context(), "default", iceberg.Properties{
		"type":                string(catalog.SQL),
		"uri":                 "file:" + filepath.Join(dir, "catalog.db"),
		sqlcat.DriverKey:      "sqlite",
		sqlcat.DialectKey:     string(sqlcat.SQLite),
		"init_catalog_tables": "false",
	})
	if err != nil {
		t.Fatalf("load SQL catalog: %v", err)
	}
	t.Cleanup(func() {
		if c, ok := cat.(catalog.Closer); ok {
			_ = c.Close()
		}
	})
	return cat
}

func loadTable(t testing.TB, dir, name string) *table.Table {
	t.Helper()
	tbl, err := freshCatalog(t, dir).LoadTable(t.Context(), catalog.ToIdentifier(icesink.DefaultNamespace, name))
	if err != nil {
		t.Fatalf("LoadTable %s: %v", name, err)
	}
	return tbl
}

// contents is what a scan of a table returns, order aside: the row count and a digest of the
// sorted rows (every column as text).
type contents struct {
	Rows   int64
	Digest string
}

func scanContents(t testing.TB, tbl *table.Table, opts ...table.ScanOption) contents {
	t.Helper()
	at, err := tbl.Scan(opts...).ToArrowTable(t.Context())
	if err != nil {
		t.Fatalf("scan %s: %v", tbl.Identifier(), err)
	}
	defer at.Release()
	var lines []string
	tr := array.NewTableReader(at, 0)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := range int(rec.NumRows()) {
			var b strings.Builder
			for j, f := range rec.Schema().Fields() {
				fmt.Fprintf(&b, "%s=%s\x1f", f.Name, rec.Column(j).ValueStr(i))
			}
			lines = append(lines, b.String())
		}
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return contents{Rows: int64(len(lines)), Digest: hex.EncodeToString(h.Sum(nil))[:16]}
}

// tableState is what maintenance must keep (Contents, Checkpoints) or shrink (Files, Snapshots).
type tableState struct {
	Contents    contents
	Checkpoints map[string]ctc.Checkpoint
	Files       int
	Snapshots   int
}

// lakeState reads the state of tables afresh; pipelines are the pipeline ids to look up.
func lakeState(t testing.TB, dir string, tables []string, pipelines ...string) map[string]tableState {
	t.Helper()
	m := map[string]tableState{}
	for _, name := range tables {
		tbl := loadTable(t, dir, name)
		st := tableState{Contents: scanContents(t, tbl), Checkpoints: map[string]ctc.Checkpoint{},
			Snapshots: len(tbl.Metadata().Snapshots())}
		for _, id := range pipelines {
			if cp, ok := icesink.LastCheckpoint(tbl, id); ok {
				st.Checkpoints[id] = cp
			}
		}
		if tbl.CurrentSnapshot() != nil {
			tasks, err := tbl.Scan().PlanFiles(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			st.Files = len(tasks)
		}
		m[name] = st
	}
	return m
}

// unreferenced lists the Parquet files on disk under a table's directory that no snapshot of the
// table references.
func unreferenced(t testing.TB, dir, name string) []string {
	t.Helper()
	tbl := loadTable(t, dir, name)
	ref := map[string]bool{}
	for _, snap := range tbl.Metadata().Snapshots() {
		tasks, err := tbl.Scan(table.WithSnapshotID(snap.SnapshotID)).PlanFiles(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			ref[strings.TrimPrefix(task.File.FilePath(), "file://")] = true
		}
	}
	var out []string
	root := filepath.Join(dir, "warehouse", icesink.DefaultNamespace+".db", name)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") && !ref[filepath.ToSlash(p)] {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parquetFiles counts the Parquet files on disk under a table's directory.
func parquetFiles(t testing.TB, dir, name string) int {
	t.Helper()
	n := 0
	root := filepath.Join(dir, "warehouse", icesink.DefaultNamespace+".db", name)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// rawOnly lists raw_trades alone: the tests that need one table write and read only that one.
var rawOnly = []string{icesink.RawTrades}

// commits writes n batches of per trades to s, batch i committed as checkpoint seq first+i of
// pipeline.
func commits(t testing.TB, s *icesink.Sink, pipeline string, first, n, per int) {
	t.Helper()
	commitBatches(t, s, pipeline, first, n, per, func(first, n int) *ctc.Batch {
		return &ctc.Batch{Trades: genTrades(first, n), Position: ctc.Position{Partition: "p", Offset: int64(first + n - 1)}}
	})
}

// commitsAll is commits with records for every table: the trades and what genBatch derives.
func commitsAll(t testing.TB, s *icesink.Sink, pipeline string, first, n, per int) {
	t.Helper()
	commitBatches(t, s, pipeline, first, n, per, genBatch)
}

func commitBatches(t testing.TB, s *icesink.Sink, pipeline string, first, n, per int, gen func(first, n int) *ctc.Batch) {
	t.Helper()
	for i := range n {
		seq := first + i
		b := gen(offset(pipeline)+seq*per, per)
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(t.Context(), ctc.Checkpoint{PipelineID: pipeline, Seq: int64(seq), Position: b.Position}); err != nil {
			t.Fatal(err)
		}
	}
}

// offset gives each pipeline its own range of trade numbers, so that their trades differ.
func offset(pipeline string) int {
	h := fnv.New32a()
	h.Write([]byte(pipeline))
	return int(h.Sum32()%1000) * 1_000_000
}

// A small deterministic market: four instruments on two exchanges, starting two minutes before
// midnight so that every table gets rows in two day partitions.

var epoch = time.Date(2024, 3, 12, 23, 58, 0, 0, time.UTC)

var instruments = []struct {
	exchange, symbol string
	price            float64
}{
	{ctc.Binance, "BTC-USDT", 67_250}, {ctc.Coinbase, "BTC-USD", 67_262.5},
	{ctc.Binance, "ETH-USDT", 3_480.25}, {ctc.Coinbase, "ETH-USD", 3_480.5},
}

// genTrades returns n trades numbered from first, at millisecond times around epoch.
func genTrades(first, n int) []ctc.Trade {
	r := rand.New(rand.NewPCG(uint64(first), 7))
	trades := make([]ctc.Trade, n)
	for i := range trades {
		k := first + i
		in := instruments[r.IntN(len(instruments))]
		price := float64(int64(in.price*(1+r.NormFloat64()/1000)*100)) / 100
		qty := float64(1+r.IntN(500_000)) / 100_000
		ts := epoch.Add(time.Duration(k%960) * 250 * time.Millisecond).Add(time.Duration(r.IntN(250)) * time.Millisecond)
		tr := ctc.Trade{
			EventID: ctc.NewEventIDInt(in.exchange, in.symbol, int64(k)), Exchange: in.exchange, Symbol: in.symbol,
			Price: price, Quantity: qty, QuoteVolume: price * qty, Side: ctc.Side(1 + r.IntN(2)), Timestamp: ts,
		}
		if k%3 != 0 {
			tr.IngestionTimestamp = ts.Add(time.Duration(3+r.IntN(400)) * time.Millisecond)
		}
		trades[i] = tr
	}
	return trades
}

// genBatch returns a batch with n trades from first and one record of every other kind per ten
// trades, derived from them.
func genBatch(first, n int) *ctc.Batch {
	b := &ctc.Batch{Trades: genTrades(first, n), Position: ctc.Position{Partition: "replay.ndjson", Offset: int64(first + n - 1)}}
	for i := 0; i < n; i += 10 {
		tr := b.Trades[i]
		start := tr.Timestamp.Truncate(time.Minute)
		end := start.Add(time.Minute)
		b.Output.Alerts = append(b.Output.Alerts, ctc.Alert{
			AlertID:   ctc.NewAlertID(ctc.VolumeSpike, tr.Exchange, tr.Symbol, fmt.Sprint(ctc.WindowKey(start), first+i)),
			AlertType: ctc.VolumeSpike,
			Symbol:    tr.Symbol, Exchange: tr.Exchange, Severity: ctc.Severity(1 + i/10%4), ZScore: 2.5 + float64(i)/100,
			ThresholdValue: 2.5, ActualValue: tr.QuoteVolume * 40, WindowStart: start, DetectedAt: end,
			Message: fmt.Sprintf("volume %.1fσ above the 1 h mean", 2.5+float64(i)/100), TTLEpoch: end.Add(ctc.AlertTTL).Unix(),
		})
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{
			Symbol: tr.Symbol, Exchange: tr.Exchange, WindowStart: start, WindowEnd: end, TradeCount: int64(10 + i),
			TotalVolume: tr.QuoteVolume * 10, AvgPrice: tr.Price, MaxPrice: tr.Price * 1.001, MinPrice: tr.Price * 0.999,
			BuyVolume: tr.QuoteVolume * 4, SellVolume: tr.QuoteVolume * 6,
		})
		wt := tr
		wt.Quantity *= 100
		wt.QuoteVolume = wt.Price * wt.Quantity
		b.Output.Whales = append(b.Output.Whales, ctc.WhaleTrade{
			AlertID:  ctc.NewAlertID(ctc.Whale, wt.Exchange, wt.Symbol, wt.EventID.String()),
			Severity: ctc.Medium, ThresholdValue: 100_000, DetectedAt: wt.Timestamp, Trade: wt,
		})
		sstart := tr.Timestamp.Truncate(30 * time.Second)
		bin, cb := tr.Price, tr.Price*(1+float64(i%7)/1000)
		b.Output.Spreads = append(b.Output.Spreads, ctc.SpreadWindow{
			Symbol: tr.Symbol[:3], WindowStart: sstart, WindowEnd: sstart.Add(30 * time.Second),
			BinanceVWAP: bin, CoinbaseVWAP: cb, SpreadPct: (bin - cb) / cb * 100,
		})
	}
	return b
}

// backdate sets the modification time of every file under root to age ago.
func backdate(t testing.TB, root string, age time.Duration) {
	t.Helper()
	when := time.Now().Add(-age)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, when, when)
	})
	if err != nil {
		t.Fatal(err)
	}
}
