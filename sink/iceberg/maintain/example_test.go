package maintain_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
)

// exampleLake opens a local warehouse in dir and commits n checkpoints of pipeline to it.
func exampleLake(ctx context.Context, dir, pipeline string, n int) *iceberg.Sink {
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		log.Fatal(err)
	}
	exampleCommits(ctx, lake, pipeline, n)
	return lake
}

// exampleCommits commits n checkpoints of pipeline, each with a trade of two symbols: one small
// file per symbol per commit.
func exampleCommits(ctx context.Context, lake *iceberg.Sink, pipeline string, n int) {
	day := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	for seq := 1; seq <= n; seq++ {
		var b ctc.Batch
		for i, sym := range []string{"BTC-USDT", "ETH-USDT"} {
			b.Trades = append(b.Trades, ctc.Trade{EventID: uuid.New(), Exchange: ctc.Binance, Symbol: sym,
				Price: 100, Quantity: 1, QuoteVolume: 100, Side: ctc.Buy, Timestamp: day.Add(time.Duration(seq*2+i) * time.Second)})
		}
		if err := lake.Write(ctx, &b); err != nil {
			log.Fatal(err)
		}
		if err := lake.Commit(ctx, ctc.Checkpoint{PipelineID: pipeline, Seq: int64(seq)}); err != nil {
			log.Fatal(err)
		}
	}
}

func ExampleCompact() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)
	lake := exampleLake(ctx, dir, "live", 6)
	defer lake.Close(ctx)

	res, err := maintain.Compact(ctx, lake, iceberg.RawTrades, maintain.CompactOptions{MinInputFiles: 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d data files → %d, %d partitions rewritten\n", res.FilesBefore, res.FilesAfter, res.Partitions)
	tbl, _ := lake.Table(ctx, iceberg.RawTrades)
	cp, _ := iceberg.LastCheckpoint(tbl, "live")
	fmt.Println("checkpoint of live:", cp.Seq)
	// Output:
	// 12 data files → 2, 2 partitions rewritten
	// checkpoint of live: 6
}

func ExampleExpire() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)
	lake := exampleLake(ctx, dir, "historical_load/2024-01-15/BTCUSDT", 3)
	defer lake.Close(ctx)
	exampleCommits(ctx, lake, "live", 2)

	// Keep one snapshot: the load's checkpoint, in an older one, is carried forward.
	res, err := maintain.Expire(ctx, lake, iceberg.RawTrades, maintain.ExpireOptions{Retention: time.Nanosecond, MinSnapshots: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d snapshots → %d\n", res.SnapshotsBefore, res.SnapshotsAfter)
	for _, c := range res.Carried {
		fmt.Printf("carried %s checkpoint %d\n", c.PipelineID, c.Seq)
	}
	// Output:
	// 5 snapshots → 2
	// carried historical_load/2024-01-15/BTCUSDT checkpoint 3
}

func ExampleRemoveOrphans() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)
	lake := exampleLake(ctx, dir, "live", 1)
	defer lake.Close(ctx)
	// A file no commit references, written two days ago.
	stray := filepath.Join(dir, "warehouse", "coattail.db", "raw_trades", "data", "lost.parquet")
	os.WriteFile(stray, []byte("PAR1"), 0o644)
	old := time.Now().Add(-48 * time.Hour)
	os.Chtimes(stray, old, old)

	res, err := maintain.RemoveOrphans(ctx, lake, iceberg.RawTrades, maintain.OrphanOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d orphan removed: %s\n", res.Removed, filepath.Base(res.Files[0]))
	// Output:
	// 1 orphan removed: lost.parquet
}

func ExampleRelocate() {
	ctx := context.Background()
	base, _ := os.MkdirTemp("", "lakes")
	defer os.RemoveAll(base)
	from, to := filepath.Join(base, "old"), filepath.Join(base, "new")
	exampleLake(ctx, from, "live", 2).Close(ctx)
	os.Rename(from, to)

	if _, err := maintain.Relocate(ctx, to, from); err != nil {
		log.Fatal(err)
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: to})
	if err != nil {
		log.Fatal(err)
	}
	defer lake.Close(ctx)
	n := 0
	for trades, err := range lake.ScanTrades(ctx, iceberg.ScanOptions{}) {
		if err != nil {
			log.Fatal(err)
		}
		n += len(trades)
	}
	fmt.Println(n, "trades read from the moved warehouse")
	// Output:
	// 4 trades read from the moved warehouse
}

func ExampleRun() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "lake")
	defer os.RemoveAll(dir)
	lake := exampleLake(ctx, dir, "live", 6)
	defer lake.Close(ctx)

	p := maintain.DefaultPolicy()
	p.Tables = []string{iceberg.RawTrades}
	p.Compact.MinInputFiles = 2
	rep, err := maintain.Run(ctx, lake, p)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d data files → %d, %d snapshots expired, %d orphans removed\n",
		rep.FilesBefore, rep.FilesAfter, rep.SnapshotsExpired, rep.OrphansRemoved)
	// Output:
	// 12 data files → 2, 0 snapshots expired, 0 orphans removed
}
