package maintain_test

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/coattailcapital/ctc"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
)

// benchCommits is a day of a live pipeline committing once a minute; CTC_BENCH_QUICK (the test
// command's one pass over every benchmark) makes it a tenth.
func benchCommits() int {
	if os.Getenv("CTC_BENCH_QUICK") != "" {
		return 144
	}
	return 1440
}

// benchLake builds, once per benchmark, a warehouse whose raw_trades has n commits of 120 trades
// of two symbols — 2n small files — from pipeline "live", after 10 commits of an "idle" one.
// Each iteration works on a copy (relocated, outside the timer).
func benchLake(b *testing.B, n int) (template string) {
	b.Helper()
	template = filepath.Join(b.TempDir(), "template")
	s, err := icesink.Open(b.Context(), icesink.Config{Dir: template})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(b.Context())
	// Old metadata files are deleted as commits go (their log keeps 100), so that the template
	// is not a gigabyte of metadata files, each a copy of the growing snapshot list.
	tbl, err := s.Table(b.Context(), icesink.RawTrades)
	if err != nil {
		b.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.SetProperties(iceberg.Properties{table.MetadataDeleteAfterCommitEnabledKey: "true"}); err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Commit(b.Context()); err != nil {
		b.Fatal(err)
	}
	start := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	commit := func(pipeline string, seq, minute int) {
		trades := genTrades(offset(pipeline)+seq*120, 120)
		for i := range trades {
			trades[i].Symbol = []string{"BTC-USDT", "ETH-USDT"}[i%2]
			trades[i].Timestamp = start.Add(time.Duration(minute)*time.Minute + time.Duration(i)*time.Second/2)
		}
		if err := s.Write(b.Context(), &ctc.Batch{Trades: trades}); err != nil {
			b.Fatal(err)
		}
		if err := s.Commit(b.Context(), ctc.Checkpoint{PipelineID: pipeline, Seq: int64(seq)}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 1; i <= 10; i++ {
		commit("idle", i, 0)
	}
	for i := 1; i <= n; i++ {
		commit("live", i, i%1440)
	}
	return template
}

// copyLake copies the template warehouse to a new directory and relocates it there.
func copyLake(b *testing.B, template string) string {
	b.Helper()
	dst := filepath.Join(b.TempDir(), "lake")
	err := filepath.WalkDir(template, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(template, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(to)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		return errorsJoin(err, out.Close())
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := maintain.Relocate(b.Context(), dst, template); err != nil {
		b.Fatal(err)
	}
	return dst
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// BenchmarkCompact1440Commits merges a day of once-a-minute commits of raw_trades (2 partitions,
// 2,880 small files, 1,440 manifests) into a file per partition and one manifest.
func BenchmarkCompact1440Commits(b *testing.B) {
	n := benchCommits()
	template := benchLake(b, n)
	var res *maintain.CompactResult
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := copyLake(b, template)
		s, err := icesink.Open(b.Context(), icesink.Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if res, err = maintain.Compact(b.Context(), s, icesink.RawTrades, maintain.CompactOptions{MinInputFiles: 2}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close(b.Context())
		b.StartTimer()
	}
	b.ReportMetric(float64(res.FilesBefore), "files-before")
	b.ReportMetric(float64(res.FilesAfter), "files-after")
	b.ReportMetric(float64(res.ManifestsBefore), "manifests-before")
	b.ReportMetric(float64(res.ManifestsAfter), "manifests-after")
	b.ReportMetric(float64((n+10)*120*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkExpire1440Snapshots expires all but the newest of a day's snapshots, carrying the idle
// pipeline's checkpoint forward.
func BenchmarkExpire1440Snapshots(b *testing.B) {
	template := benchLake(b, benchCommits())
	var res *maintain.ExpireResult
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := copyLake(b, template)
		s, err := icesink.Open(b.Context(), icesink.Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if res, err = maintain.Expire(b.Context(), s, icesink.RawTrades, maintain.ExpireOptions{Retention: time.Nanosecond, MinSnapshots: 1}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if len(res.Carried) != 1 {
			b.Fatalf("carried %+v", res.Carried)
		}
		s.Close(b.Context())
		b.StartTimer()
	}
	b.ReportMetric(float64(res.Expired), "expired")
}

// BenchmarkRelocate1440Commits rewrites the locations of a day of commits: the metadata file,
// the 1,450 manifest lists and manifests of raw_trades.
func BenchmarkRelocate1440Commits(b *testing.B) {
	template := benchLake(b, benchCommits())
	var rel *maintain.Relocation
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		dir := copyLake(b, template)
		moved := dir + "-moved"
		if err := os.Rename(dir, moved); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var err error
		if rel, err = maintain.Relocate(b.Context(), moved, dir); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rel.Manifests+rel.ManifestLists+rel.MetadataFiles), "files/op")
}
