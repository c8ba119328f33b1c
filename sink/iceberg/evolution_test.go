package iceberg_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/coattailcapital/ctc"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
)

// Partition evolution, the seed's argument for Iceberg: raw_trades goes from day(timestamp) to
// hour(timestamp) partitions with a metadata-only change — no file is rewritten — while the
// sink keeps writing. Old (day) and new (hour) files are read together as one table, and a
// time filter prunes each kind by its own spec: a filter inside one hour after the change plans
// only that hour's new files; a filter inside the first day plans only that day's old files.
func TestPartitionEvolutionDayToHour(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	ctx := t.Context()
	first := genBatch(0, 2_000)       // 2024-03-12 23:58 … 03-13 00:06: two days
	second := genBatch(2_000, 20_000) // 00:06 … 01:30 on 03-13: two hours
	if err := s.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "evolve", Seq: 1, Position: first.Position}); err != nil {
		t.Fatal(err)
	}

	cat := freshCatalog(t, dir)
	tbl := loadTable(t, cat, icesink.RawTrades)
	spec := tbl.Spec()
	oldSpec := spec.ID()
	tx := tbl.NewTransaction()
	if err := tx.UpdateSpec(true).RemoveField("timestamp_day").AddField("timestamp", iceberg.HourTransform{}, "timestamp_hour").Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	evolved := loadTable(t, cat, icesink.RawTrades)
	if es := evolved.Spec(); es.ID() == oldSpec {
		t.Fatal("the spec did not change")
	}
	if n := len(files(t, evolved, nil)); n == 0 || slices.ContainsFunc(files(t, evolved, nil), func(f iceberg.DataFile) bool { return f.SpecID() != int32(oldSpec) }) {
		t.Fatal("the change rewrote files: every file should still be of the old spec")
	}

	// The sink goes on writing, now into hour partitions.
	if err := s.Write(ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "evolve", Seq: 2, Position: second.Position}); err != nil {
		t.Fatal(err)
	}
	tbl = loadTable(t, cat, icesink.RawTrades)
	all := append(append([]ctc.Trade(nil), first.Trades...), second.Trades...)

	// One table: every trade, once.
	if got := scanRows(t, tbl); len(got) != len(all) {
		t.Fatalf("%d rows, want %d", len(got), len(all))
	}
	var oldFiles, newFiles int
	for _, f := range files(t, tbl, nil) {
		if f.SpecID() == int32(oldSpec) {
			oldFiles++
		} else {
			newFiles++
		}
	}
	if oldFiles == 0 || newFiles == 0 {
		t.Fatalf("%d old-spec and %d new-spec files, want both", oldFiles, newFiles)
	}

	// Pruning by each spec.
	for _, c := range []struct {
		name     string
		from, to time.Time
		specOld  bool // the files planned are all of the old spec (else all of the new)
	}{
		{"an hour after the change", time.Date(2024, 3, 13, 1, 0, 0, 0, time.UTC), time.Date(2024, 3, 13, 1, 10, 0, 0, time.UTC), false},
		{"inside the first day", time.Date(2024, 3, 12, 23, 58, 0, 0, time.UTC), time.Date(2024, 3, 12, 23, 59, 30, 0, time.UTC), true},
	} {
		filter := iceberg.NewAnd(
			iceberg.GreaterThanEqual(iceberg.Reference("timestamp"), c.from.UnixMicro()),
			iceberg.LessThan(iceberg.Reference("timestamp"), c.to.UnixMicro()))
		planned := files(t, tbl, filter)
		if len(planned) == 0 {
			t.Fatalf("%s: no file planned", c.name)
		}
		for _, f := range planned {
			if (f.SpecID() == int32(oldSpec)) != c.specOld {
				t.Errorf("%s: planned a file of spec %d: %s", c.name, f.SpecID(), f.FilePath())
			}
			if !c.specOld { // hour partitions: hours since the epoch
				if h := f.Partition()[partitionID(t, tbl, f.SpecID(), "timestamp_hour")]; h != int32(c.from.Unix()/3600) {
					t.Errorf("%s: planned the file of hour %v, want %d", c.name, h, c.from.Unix()/3600)
				}
			} else if d := f.Partition()[partitionID(t, tbl, f.SpecID(), "timestamp_day")]; fmt.Sprint(d) != fmt.Sprint(c.from.Unix()/86400) {
				t.Errorf("%s: planned the file of day %v, want %d", c.name, d, c.from.Unix()/86400)
			}
		}
		t.Logf("%s: %d of %d files planned (%d old-spec, %d new-spec in the table)", c.name, len(planned), oldFiles+newFiles, oldFiles, newFiles)
		if len(planned) >= oldFiles+newFiles {
			t.Errorf("%s: planned %d of %d files: nothing pruned", c.name, len(planned), oldFiles+newFiles)
		}
		// And the rows the filter selects are exactly the trades in the range.
		want := 0
		for _, tr := range all {
			if !tr.Timestamp.Before(c.from) && tr.Timestamp.Before(c.to) {
				want++
			}
		}
		if got := scanRows(t, tbl, table.WithRowFilter(filter)); len(got) != want {
			t.Errorf("%s: %d rows, want %d", c.name, len(got), want)
		}
	}
}

// files plans a scan of tbl with filter (nil: everything) and returns its data files.
func files(t *testing.T, tbl *table.Table, filter iceberg.BooleanExpression) []iceberg.DataFile {
	t.Helper()
	var opts []table.ScanOption
	if filter != nil {
		opts = append(opts, table.WithRowFilter(filter))
	}
	tasks, err := tbl.Scan(opts...).PlanFiles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]iceberg.DataFile, len(tasks))
	for i, task := range tasks {
		out[i] = task.File
	}
	return out
}

// partitionID is the field id of the partition field name in spec id of tbl.
func partitionID(t *testing.T, tbl *table.Table, id int32, name string) int {
	t.Helper()
	for _, sp := range tbl.Metadata().PartitionSpecs() {
		if int32(sp.ID()) != id {
			continue
		}
		for _, f := range sp.Fields() {
			if f.Name == name {
				return f.FieldID
			}
		}
	}
	t.Fatalf("spec %d has no field %s", id, name)
	return 0
}
