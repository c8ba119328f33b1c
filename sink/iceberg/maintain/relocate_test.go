package maintain_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/go-cmp/cmp"

	icesink "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
)

// A warehouse moved to another directory opens after Relocate, with the same rows, history and
// checkpoints, nothing pointing at the old directory, and new commits landing in the new one.
func TestRelocate(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	from, to := filepath.Join(base, "old lake"), filepath.Join(base, "moved", "lake") // a space: locations are escaped URIs
	s, err := icesink.Open(t.Context(), icesink.Config{Dir: from})
	if err != nil {
		t.Fatal(err)
	}
	commitsAll(t, s, "live", 1, 6, 20)
	commitsAll(t, s, "idle", 1, 2, 20)
	// Maintenance snapshots too: a rewrite, a manifest rewrite, a carry.
	p := maintain.DefaultPolicy()
	p.Compact.MinInputFiles = 2
	p.Expire = maintain.ExpireOptions{Retention: time.Hour, MinSnapshots: 1}
	p.SkipOrphans = true
	if _, err := maintain.Run(t.Context(), s, p); err != nil {
		t.Fatal(err)
	}
	commits(t, s, "live", 7, 1, 20)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := lakeState(t, from, icesink.Tables, "live", "idle")
	raw := loadTable(t, from, icesink.RawTrades)
	history := map[int64]contents{}
	for _, snap := range raw.Metadata().Snapshots() {
		history[snap.SnapshotID] = scanContents(t, raw, table.WithSnapshotID(snap.SnapshotID))
	}
	// A filter on the partition columns prunes with the manifests' partition values and bounds.
	btc := table.WithRowFilter(iceberg.EqualTo(iceberg.Reference("symbol"), "BTC-USDT"))
	pruned := scanContents(t, raw, btc)

	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
	if s, err := icesink.Open(t.Context(), icesink.Config{Dir: to}); err == nil {
		s.Close(t.Context())
		t.Fatal("a moved warehouse opened before relocation")
	}

	rel, err := maintain.Relocate(t.Context(), to, from)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Tables != len(icesink.Tables) || rel.MetadataFiles != len(icesink.Tables) || rel.ManifestLists == 0 || rel.Manifests == 0 {
		t.Fatalf("%+v", rel)
	}
	if !strings.HasPrefix(rel.From, "file:///") || !strings.Contains(rel.From, "old%20lake") {
		t.Errorf("From %q", rel.From)
	}

	after := lakeState(t, to, icesink.Tables, "live", "idle")
	if d := cmp.Diff(before, after); d != "" {
		t.Fatalf("the relocated warehouse differs (-before +after):\n%s", d)
	}
	raw = loadTable(t, to, icesink.RawTrades)
	if got := scanContents(t, raw, btc); got != pruned || got.Rows == 0 {
		t.Errorf("filtered scan: %+v, want %+v", got, pruned)
	}
	for id, want := range history {
		if got := scanContents(t, raw, table.WithSnapshotID(id)); got != want {
			t.Errorf("time travel to snapshot %d: %+v, want %+v", id, got, want)
		}
	}
	// Every location iceberg-go reads is under the new directory.
	newRoot := rel.To + "/"
	for _, name := range icesink.Tables {
		tbl := loadTable(t, to, name)
		locs := []string{tbl.Location(), tbl.MetadataLocation()}
		fs, err := tbl.FS(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, snap := range tbl.Metadata().Snapshots() {
			locs = append(locs, snap.ManifestList)
			mans, err := snap.Manifests(fs)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range mans {
				locs = append(locs, m.FilePath())
				for e, err := range m.Entries(fs, false) {
					if err != nil {
						t.Fatal(err)
					}
					locs = append(locs, e.DataFile().FilePath())
				}
			}
		}
		for _, l := range locs {
			if !strings.HasPrefix(l, newRoot) {
				t.Fatalf("%s: location %s is not under %s", name, l, newRoot)
			}
		}
	}

	// It is idempotent: a second run rewrites nothing.
	again, err := maintain.Relocate(t.Context(), to, from)
	if err != nil || again.MetadataFiles+again.ManifestLists+again.Manifests != 0 {
		t.Fatalf("second run: %+v, %v", again, err)
	}

	// The sink opens it and commits there; its checkpoints resume.
	s = openSink(t, to)
	commits(t, s, "live", 7, 1, 20) // already in: skipped
	commits(t, s, "live", 8, 1, 20)
	raw = loadTable(t, to, icesink.RawTrades)
	if got := scanContents(t, raw).Rows; got != after[icesink.RawTrades].Contents.Rows+20 {
		t.Fatalf("%d rows after one more commit, want %d", got, after[icesink.RawTrades].Contents.Rows+20)
	}
	tasks, err := raw.Scan().PlanFiles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		if !strings.HasPrefix(task.File.FilePath(), newRoot) {
			t.Fatalf("new data file %s outside the new directory", task.File.FilePath())
		}
	}
}

func TestRelocateRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := maintain.Relocate(t.Context(), dir, dir); err == nil || !strings.Contains(err.Error(), "already at") {
		t.Errorf("same directory: %v", err)
	}
	if _, err := maintain.Relocate(t.Context(), dir, filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), "no local catalog") {
		t.Errorf("no catalog: %v", err)
	}
	// A directory that is not where the warehouse was: its metadata is not found.
	s := openSink(t, dir)
	commits(t, s, "p", 1, 1, 5)
	s.Close(t.Context())
	if _, err := maintain.Relocate(t.Context(), dir, filepath.Join(t.TempDir(), "elsewhere")); err != nil {
		t.Errorf("no location under the old directory is not an error, nothing is rewritten: %v", err)
	}
}
