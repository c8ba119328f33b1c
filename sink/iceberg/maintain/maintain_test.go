package maintain_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
)

var small = maintain.CompactOptions{MinInputFiles: 2}

// keep compares what maintenance must not change: contents and checkpoints.
func keep(st map[string]tableState) map[string]tableState {
	out := map[string]tableState{}
	for k, v := range st {
		out[k] = tableState{Contents: v.Contents, Checkpoints: v.Checkpoints}
	}
	return out
}

// Compaction rewrites every table's small files into a few, and an independent reader sees the
// same rows and the same checkpoints afterwards.
func TestCompactKeepsRowsAndCheckpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	commitsAll(t, s, "live/a", 1, 8, 20)
	commitsAll(t, s, "live/b", 1, 8, 20)
	before := lakeState(t, dir, icesink.Tables, "live/a", "live/b")

	for _, name := range icesink.Tables {
		res, err := maintain.Compact(t.Context(), s, name, small)
		if err != nil {
			t.Fatalf("Compact %s: %v", name, err)
		}
		if name == icesink.AnomaliesReprocessed {
			continue // empty
		}
		if res.Partitions == 0 || res.RemovedFiles <= res.AddedFiles || res.Commits == 0 || res.ManifestsAfter >= res.ManifestsBefore {
			t.Errorf("%s: %+v", name, res)
		}
	}
	after := lakeState(t, dir, icesink.Tables, "live/a", "live/b")
	if d := cmp.Diff(keep(before), keep(after)); d != "" {
		t.Fatalf("compaction changed contents or checkpoints (-before +after):\n%s", d)
	}
	for _, name := range icesink.Tables[:5] {
		b, a := before[name], after[name]
		if len(b.Checkpoints) != 2 {
			t.Errorf("%s: checkpoints %v", name, b.Checkpoints)
		}
		// 16 commits of two day partitions and up to four symbols: at most 8 files remain.
		if a.Files >= b.Files || a.Files > 8 {
			t.Errorf("%s: %d data files before, %d after", name, b.Files, a.Files)
		}
	}
	// A second run finds nothing to do.
	res, err := maintain.Compact(t.Context(), s, icesink.RawTrades, small)
	if err != nil || res.Partitions != 0 || res.FilesAfter != res.FilesBefore {
		t.Fatalf("second compaction: %+v, %v", res, err)
	}
}

// A pipeline appending between the rewrite and its commit keeps its rows: the commit is rebuilt on
// the new head and removes only the files it merged.
func TestCompactKeepsConcurrentAppend(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	commits(t, s, "live", 1, 10, 20)
	before := lakeState(t, dir, rawOnly, "live", "late")

	other := openSink(t, dir) // another process's sink on the same warehouse
	var expected map[string]tableState
	once := sync.Once{}
	ctx := maintain.WithBeforeCommit(t.Context(), func() {
		once.Do(func() {
			commits(t, other, "late", 1, 1, 30)
			expected = lakeState(t, dir, rawOnly, "live", "late")
		})
	})
	res, err := maintain.Compact(ctx, s, icesink.RawTrades, small)
	if err != nil {
		t.Fatal(err)
	}
	if res.Retries == 0 {
		t.Errorf("the append did not make the rewrite commit again: %+v", res)
	}
	after := lakeState(t, dir, rawOnly, "live", "late")
	if d := cmp.Diff(keep(expected)[icesink.RawTrades], keep(after)[icesink.RawTrades]); d != "" {
		t.Fatalf("raw_trades after the compaction differs from the table with the append (-want +got):\n%s", d)
	}
	if got, was := after[icesink.RawTrades].Contents.Rows, before[icesink.RawTrades].Contents.Rows; got != was+30 {
		t.Fatalf("raw_trades has %d rows, want %d + 30 appended", got, was)
	}
	if _, ok := after[icesink.RawTrades].Checkpoints["late"]; !ok {
		t.Fatal("the appending pipeline's checkpoint is gone")
	}
}

// Under a pipeline committing all the time, compaction loses no row and duplicates none.
func TestCompactUnderLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	commits(t, s, "seed", 1, 8, 25)
	w := openSink(t, dir)
	const n, per = 12, 25
	done := make(chan error, 1)
	go func() {
		for seq := 1; seq <= n; seq++ {
			b := &ctc.Batch{Trades: genTrades(offset("load")+seq*per, per)}
			if err := w.Write(context.Background(), b); err != nil {
				done <- err
				return
			}
			// A commit that loses the race to maintenance keeps its rows buffered; the pipeline's
			// retry (here: at once) commits them.
			var err error
			for try := 0; try < 20; try++ {
				if err = w.Commit(context.Background(), ctc.Checkpoint{PipelineID: "load", Seq: int64(seq)}); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 3 {
		if _, err := maintain.Compact(t.Context(), s, icesink.RawTrades, small); err != nil && !errors.Is(err, table.ErrCommitDiverged) {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tbl := loadTable(t, dir, icesink.RawTrades)
	got := scanContents(t, tbl)
	if want := int64(8*25 + n*per); got.Rows != want {
		t.Fatalf("raw_trades has %d rows, want %d", got.Rows, want)
	}
	ids := map[string]bool{}
	at, err := tbl.Scan(table.WithSelectedFields("event_id")).ToArrowTable(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	for _, ch := range at.Column(0).Data().Chunks() {
		for i := range ch.Len() {
			ids[ch.ValueStr(i)] = true
		}
	}
	if int64(len(ids)) != got.Rows {
		t.Fatalf("%d distinct event ids in %d rows: rows were duplicated", len(ids), got.Rows)
	}
	if cp, ok := icesink.LastCheckpoint(tbl, "load"); !ok || cp.Seq != n {
		t.Fatalf("the loading pipeline's checkpoint is %+v, %v", cp, ok)
	}
}

// Two compactions of the same files: the second to commit finds its files gone and commits
// nothing, instead of adding the rows a second time, and removes the files it wrote.
func TestCompetingCompactions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	commits(t, s, "live", 1, 10, 20)
	before := lakeState(t, dir, rawOnly, "live")
	once := sync.Once{}
	ctx := maintain.WithBeforeCommit(t.Context(), func() {
		once.Do(func() {
			if _, err := maintain.Compact(t.Context(), s, icesink.RawTrades, small); err != nil {
				t.Errorf("the first compaction: %v", err)
			}
		})
	})
	_, err := maintain.Compact(ctx, s, icesink.RawTrades, small)
	if err == nil {
		t.Fatal("the second compaction of the same files committed")
	}
	t.Logf("second compaction: %v", err)
	after := lakeState(t, dir, rawOnly, "live")
	if d := cmp.Diff(keep(before), keep(after)); d != "" {
		t.Fatalf("contents changed (-before +after):\n%s", d)
	}
	if lost := unreferenced(t, dir, icesink.RawTrades); len(lost) > 0 {
		t.Fatalf("the second compaction left the files it wrote: %v", lost)
	}
}

// Expiry keeps the time-travel window and every pipeline's checkpoint: the idle pipeline's,
// whose snapshots all expire, is carried forward, and the sink still skips what it has.
func TestExpireKeepsCheckpointsAndWindow(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	commits(t, s, "old", 1, 5, 20)
	commits(t, s, "live", 1, 5, 20)
	oldest := loadTable(t, dir, icesink.RawTrades).Metadata().Snapshots()[0]
	t1 := time.Now()
	const gap = time.Second
	time.Sleep(gap)
	t2 := time.Now()
	commits(t, s, "live", 6, 5, 20)

	raw := loadTable(t, dir, icesink.RawTrades)
	var window []int64 // snapshots committed after t2, with what they read
	view := map[int64]contents{}
	for _, snap := range raw.Metadata().Snapshots() {
		if !time.UnixMilli(snap.TimestampMs).Before(t2) {
			window = append(window, snap.SnapshotID)
			view[snap.SnapshotID] = scanContents(t, raw, table.WithSnapshotID(snap.SnapshotID))
		}
	}
	if len(window) != 5 {
		t.Fatalf("%d snapshots after the pause, want 5", len(window))
	}
	before := lakeState(t, dir, rawOnly, "old", "live")

	retention := time.Since(t2) + gap/2 // the second phase is inside the window, the first is not
	if time.Since(t1) <= retention {
		t.Fatal("the pause is too short for this machine")
	}
	res, err := maintain.Expire(t.Context(), s, icesink.RawTrades, maintain.ExpireOptions{Retention: retention, MinSnapshots: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Carried) != 1 || res.Carried[0].PipelineID != "old" || res.Carried[0].Seq != 5 || res.Pipelines != 2 {
		t.Fatalf("carried %+v of %d pipelines, want old's checkpoint 5", res.Carried, res.Pipelines)
	}
	if res.Expired != 10 || res.SnapshotsAfter != 6 {
		t.Fatalf("%+v: want the 10 snapshots before the pause expired, 5 + 1 carry left", res)
	}

	after := lakeState(t, dir, rawOnly, "old", "live")
	if d := cmp.Diff(keep(before), keep(after)); d != "" {
		t.Fatalf("expiry changed contents or checkpoints (-before +after):\n%s", d)
	}
	raw = loadTable(t, dir, icesink.RawTrades)
	for _, id := range window {
		if got := scanContents(t, raw, table.WithSnapshotID(id)); got != view[id] {
			t.Errorf("time travel to snapshot %d in the window reads %+v, read %+v before", id, got, view[id])
		}
	}
	// Time travel by time, as reprocessing does it, too.
	last := raw.SnapshotByID(window[len(window)-1])
	if s := raw.SnapshotAsOf(last.TimestampMs, true); s == nil || s.SnapshotID != last.SnapshotID {
		t.Errorf("as of the window's last snapshot: %+v, want %d", s, last.SnapshotID)
	}
	n := 0
	for trades, err := range s.ScanTrades(t.Context(), icesink.ScanOptions{AsOf: time.UnixMilli(last.TimestampMs)}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(trades)
	}
	if int64(n) != view[last.SnapshotID].Rows {
		t.Errorf("ScanTrades as of the window's last snapshot read %d trades, want %d", n, view[last.SnapshotID].Rows)
	}
	if raw.SnapshotByID(oldest.SnapshotID) != nil {
		t.Error("a snapshot before the window is still there")
	}
	carry := raw.CurrentSnapshot()
	if carry.Summary.Properties[maintain.SummaryMaintenance] != maintain.MaintenanceCarry {
		t.Errorf("head summary %v", carry.Summary.Properties)
	}

	// Exactly once: the sink skips old's checkpoint 5 (it has it) and commits 6.
	rows := after[icesink.RawTrades].Contents.Rows
	commits(t, s, "old", 5, 1, 20)
	if got := scanContents(t, loadTable(t, dir, icesink.RawTrades), nil...).Rows; got != rows {
		t.Fatalf("re-committing checkpoint 5 after expiry added rows: %d, want %d", got, rows)
	}
	commits(t, s, "old", 6, 1, 20)
	if got := scanContents(t, loadTable(t, dir, icesink.RawTrades)).Rows; got != rows+20 {
		t.Fatalf("committing checkpoint 6 left %d rows, want %d", got, rows+20)
	}

	// Within the window nothing is carried or expired.
	res, err = maintain.Expire(t.Context(), s, icesink.RawTrades, maintain.ExpireOptions{Retention: time.Hour, MinSnapshots: 1})
	if err != nil || len(res.Carried) != 0 || res.Expired != 0 {
		t.Fatalf("second expiry: %+v, %v", res, err)
	}
}

// Retention so short that everything but the head expires still loses no checkpoint, in any table.
func TestExpireEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	ids := []string{"a", "b", "c", "historical_load/2024-01-15/BTCUSDT"}
	for i, id := range ids {
		commitsAll(t, s, id, 1, 2+i, 10)
	}
	before := lakeState(t, dir, icesink.Tables, ids...)
	for _, name := range icesink.Tables[:5] {
		res, err := maintain.Expire(t.Context(), s, name, maintain.ExpireOptions{Retention: time.Nanosecond, MinSnapshots: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Carried) != len(ids)-1 || res.SnapshotsAfter != len(ids) {
			t.Errorf("%s: %+v", name, res)
		}
	}
	after := lakeState(t, dir, icesink.Tables, ids...)
	if d := cmp.Diff(keep(before), keep(after)); d != "" {
		t.Fatalf("(-before +after):\n%s", d)
	}
}

// Orphan files older than the age are removed, younger ones and every referenced file kept.
func TestRemoveOrphans(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	commits(t, s, "live", 1, 4, 20)
	tdir := filepath.Join(dir, "warehouse", icesink.DefaultNamespace+".db", icesink.RawTrades)
	backdate(t, tdir, 48*time.Hour) // the table's own files are old too
	stray := map[string]time.Duration{
		filepath.Join(tdir, "data", "timestamp_day=2024-03-12", "lost-00000.parquet"): 48 * time.Hour,
		filepath.Join(tdir, "metadata", "lost-m0.avro"):                               30 * time.Hour,
		filepath.Join(tdir, "data", "in-flight.parquet"):                              10 * time.Minute,
	}
	for p, age := range stray {
		if err := os.WriteFile(p, []byte("PAR1"), 0o644); err != nil {
			t.Fatal(err)
		}
		when := time.Now().Add(-age)
		if err := os.Chtimes(p, when, when); err != nil {
			t.Fatal(err)
		}
	}
	before := lakeState(t, dir, rawOnly, "live")

	dry, err := maintain.RemoveOrphans(t.Context(), s, icesink.RawTrades, maintain.OrphanOptions{Age: 2 * time.Hour, DryRun: true})
	if err != nil || dry.Orphans != 2 || dry.Removed != 0 {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	res, err := maintain.RemoveOrphans(t.Context(), s, icesink.RawTrades, maintain.OrphanOptions{Age: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Orphans != 2 || res.Removed != 2 {
		t.Fatalf("%+v", res)
	}
	for p, age := range stray {
		_, err := os.Stat(p)
		if gone := errors.Is(err, os.ErrNotExist); gone != (age > 2*time.Hour) {
			t.Errorf("%s (%s old): removed %v", filepath.Base(p), age, gone)
		}
	}
	if d := cmp.Diff(keep(before), keep(lakeState(t, dir, rawOnly, "live"))); d != "" {
		t.Fatalf("(-before +after):\n%s", d)
	}
	if _, err := maintain.RemoveOrphans(t.Context(), s, icesink.RawTrades, maintain.OrphanOptions{Age: time.Minute}); err == nil ||
		!strings.Contains(err.Error(), "at least 1h") {
		t.Fatalf("an age of a minute: %v", err)
	}
}

// Run maintains the whole lake: the small files compacted, then dropped from disk once the
// snapshots that referenced them expire, contents and checkpoints unchanged.
func TestRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	commitsAll(t, s, "live/a", 1, 5, 20)
	commitsAll(t, s, "idle", 1, 2, 20)
	commitsAll(t, s, "live/a", 6, 5, 20)
	before := lakeState(t, dir, icesink.Tables, "live/a", "idle")
	onDisk := parquetFiles(t, dir, icesink.RawTrades)

	p := maintain.DefaultPolicy()
	p.Compact.MinInputFiles = 2
	p.Expire = maintain.ExpireOptions{Retention: time.Nanosecond, MinSnapshots: 1}
	rep, err := maintain.Run(t.Context(), s, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Tables) != len(icesink.Tables) || rep.FilesAfter >= rep.FilesBefore || rep.SnapshotsExpired == 0 {
		t.Fatalf("%+v", rep)
	}
	for _, tr := range rep.Tables {
		if (tr.Expire == nil) != (tr.Table == icesink.AnomaliesReprocessed) || tr.Compact == nil || tr.Orphans == nil || tr.Error != "" {
			t.Errorf("%+v", tr)
		}
	}
	after := lakeState(t, dir, icesink.Tables, "live/a", "idle")
	if d := cmp.Diff(keep(before), keep(after)); d != "" {
		t.Fatalf("(-before +after):\n%s", d)
	}
	if n := parquetFiles(t, dir, icesink.RawTrades); n != after[icesink.RawTrades].Files || n >= onDisk {
		t.Fatalf("%d Parquet files on disk (%d before), %d referenced", n, onDisk, after[icesink.RawTrades].Files)
	}
	if lost := unreferenced(t, dir, icesink.RawTrades); len(lost) > 0 {
		t.Fatalf("unreferenced files: %v", lost)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		edit func(*maintain.Policy)
		want string
	}{
		{"default", func(*maintain.Policy) {}, ""},
		{"zero means default", func(p *maintain.Policy) { *p = maintain.Policy{} }, ""},
		{"unknown table", func(p *maintain.Policy) { p.Tables = []string{"trades"} }, `table "trades" is not one of`},
		{"negative retention", func(p *maintain.Policy) { p.Expire.Retention = -time.Hour }, "retention must be > 0"},
		{"min snapshots", func(p *maintain.Policy) { p.Expire.MinSnapshots = -1 }, "min snapshots must be >= 1"},
		{"young orphans", func(p *maintain.Policy) { p.Orphans.Age = 30 * time.Minute }, "orphan age must be at least 1h"},
		{"one input file", func(p *maintain.Policy) { p.Compact.MinInputFiles = 1 }, "min input files must be >= 2"},
		{"negative target", func(p *maintain.Policy) { p.Compact.TargetFileSize = -1 }, "target file size must be >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := maintain.DefaultPolicy()
			tc.edit(&p)
			err := p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// With a small CommitBytes, each partition is committed as soon as it is merged, so a run cut
// short keeps what it finished; the later commits see the earlier ones as its own.
func TestCompactCommitsAsItGoes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	commits(t, s, "live", 1, 6, 40)
	before := lakeState(t, dir, rawOnly, "live")
	res, err := maintain.Compact(t.Context(), s, icesink.RawTrades, maintain.CompactOptions{MinInputFiles: 2, CommitBytes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Partitions < 2 || res.Commits != res.Partitions+1 { // + the manifest rewrite
		t.Fatalf("%+v", res)
	}
	if d := cmp.Diff(keep(before), keep(lakeState(t, dir, rawOnly, "live"))); d != "" {
		t.Fatalf("(-before +after):\n%s", d)
	}
}
