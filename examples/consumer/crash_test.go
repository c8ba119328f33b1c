package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc/sink/embedded"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
)

// TestCrashRestartEqualsUninterruptedRun kills the consumer process (SIGKILL: no shutdown, no
// final flush) at random points of a replay with Iceberg output, restarts it — the same command,
// with or without -resume at random — each time, runs it once more after it finished, and checks
// that the final tables and NDJSON files equal those of an uninterrupted run: nothing lost,
// nothing twice.
func TestCrashRestartEqualsUninterruptedRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the consumer and runs it a dozen times; run without -short")
	}
	bin := filepath.Join(t.TempDir(), "consumer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := writeInput(t)
	args := func(dir string, resume bool) []string {
		a := []string{"-replay", in, "-out", filepath.Join(dir, "out"), "-warehouse", filepath.Join(dir, "lake"),
			"-quiet", "-checkpoint-every", "4000"}
		if resume {
			a = append(a, "-resume")
		}
		return a
	}

	want := t.TempDir()
	began := time.Now()
	if out, err := exec.Command(bin, args(want, false)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	full := time.Since(began)

	got := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	kills := 0
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(bin, args(got, attempt > 0 && rng.IntN(2) == 0)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if attempt < 6 {
			// Kill somewhere in what an uninterrupted run takes, so a kill lands mid-replay, mid-commit
			// or between a commit and the state save.
			delay := time.Duration(rng.Int64N(int64(full) * 2 / 3))
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run %d failed on its own: %v\n%s", attempt, err, stderr.String())
				}
				t.Logf("run %d finished before its kill at %v", attempt, delay)
				goto compare
			case <-time.After(delay):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				kills++
				t.Logf("run %d killed after %v", attempt, delay)
				continue
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("final run: %v\n%s", err, stderr.String())
		}
		break
	}
compare:
	t.Logf("%d kills; an uninterrupted run takes %v", kills, full)
	if out, err := exec.Command(bin, args(got, false)...).CombinedOutput(); err != nil {
		t.Fatalf("a rerun of the finished replay: %v\n%s", err, out)
	}
	for _, name := range outputs {
		a, _ := os.ReadFile(filepath.Join(want, "out", name))
		b, _ := os.ReadFile(filepath.Join(got, "out", name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs after crashes and restarts (%d vs %d bytes)", name, len(a), len(b))
		}
	}
	wantTables, gotTables := readTables(t, filepath.Join(want, "lake")), readTables(t, filepath.Join(got, "lake"))
	for name, rows := range wantTables {
		if name != "anomalies_reprocessed" && len(rows) == 0 {
			t.Errorf("table %s is empty in the uninterrupted run: the test proves nothing about it", name)
		}
	}
	if d := cmp.Diff(wantTables, gotTables); d != "" {
		t.Errorf("tables after crashes and restarts differ from an uninterrupted run (-want +got):\n%s", d)
	}
}

// TestDefaultRunCrashRestart kills the default run (the simulator into the warehouse and the hot
// store under -data) at random points, restarts it with the same command each time, and checks
// that the tables equal an uninterrupted run's and that the hot store holds exactly the
// warehouse's alerts: none that the warehouse will not get, none it lacks.
func TestDefaultRunCrashRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the consumer and runs it a dozen times; run without -short")
	}
	bin := filepath.Join(t.TempDir(), "consumer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// A recent market, so that the hot store's TTL keeps its alerts.
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Minute).Format(time.RFC3339)
	args := func(dir string) []string {
		return []string{"-data", dir, "-speed", "0", "-start", start, "-warmup", "20m", "-duration", "40m",
			"-addr", "off", "-quiet"}
	}
	want := t.TempDir()
	began := time.Now()
	if out, err := exec.Command(bin, args(want)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	full := time.Since(began)
	got := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(bin, args(got)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if attempt < 5 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run %d failed on its own: %v\n%s", attempt, err, stderr.String())
				}
			case <-time.After(time.Duration(rng.Int64N(int64(full) * 2 / 3))):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-done
				continue
			}
		} else if err := <-done; err != nil {
			t.Fatalf("final run: %v\n%s", err, stderr.String())
		}
		break
	}
	wantTables, gotTables := readTables(t, filepath.Join(want, "warehouse")), readTables(t, filepath.Join(got, "warehouse"))
	if d := cmp.Diff(wantTables, gotTables); d != "" {
		t.Errorf("tables after crashes and restarts differ from an uninterrupted run (-want +got):\n%s", d)
	}
	hot, err := embedded.ReadFile(filepath.Join(got, "alerts.db"))
	if err != nil {
		t.Fatal(err)
	}
	var hotIDs, lakeIDs []string
	for _, a := range hot.Alerts {
		hotIDs = append(hotIDs, a.AlertID.String())
	}
	for _, row := range gotTables["anomaly_alerts"] {
		lakeIDs = append(lakeIDs, strings.SplitN(row, "|", 2)[0])
	}
	slices.Sort(hotIDs)
	slices.Sort(lakeIDs)
	if len(lakeIDs) == 0 || !slices.Equal(hotIDs, lakeIDs) {
		t.Errorf("the hot store holds %d alerts, the warehouse %d: they must be the same", len(hotIDs), len(lakeIDs))
	}
}

// readTables reads every table of a local warehouse with iceberg-go alone (its own SQL catalog
// on catalog.db and its scan), each row as one string, sorted.
func readTables(t *testing.T, dir string) map[string][]string {
	t.Helper()
	cat, err := catalog.Load(t.Context(), icesink.LocalCatalogName, iceberg.Properties{
		"type": string(catalog.SQL), "uri": "file:" + filepath.Join(dir, "catalog.db"),
		sqlcat.DriverKey: "sqlite", sqlcat.DialectKey: string(sqlcat.SQLite), "init_catalog_tables": "false",
	})
	if err != nil {
		t.Fatalf("open catalog: %v", err)
	}
	if c, ok := cat.(interface{ Close() error }); ok {
		defer c.Close()
	}
	tables := map[string][]string{}
	for id, err := range cat.ListTables(t.Context(), catalog.ToIdentifier(icesink.DefaultNamespace)) {
		if err != nil {
			t.Fatalf("list tables: %v", err)
		}
		tbl, err := cat.LoadTable(t.Context(), id)
		if err != nil {
			t.Fatalf("load %v: %v", id, err)
		}
		name := id[len(id)-1]
		tables[name] = []string{}
		if tbl.CurrentSnapshot() == nil {
			continue
		}
		at, err := tbl.Scan().ToArrowTable(t.Context())
		if err != nil {
			t.Fatalf("scan %s: %v", name, err)
		}
		tr := array.NewTableReader(at, 4096)
		for tr.Next() {
			rec := tr.RecordBatch()
			for i := range int(rec.NumRows()) {
				cells := make([]string, rec.NumCols())
				for c := range cells {
					cells[c] = rec.Column(c).ValueStr(i)
				}
				tables[name] = append(tables[name], strings.Join(cells, "|"))
			}
		}
		tr.Release()
		at.Release()
		slices.Sort(tables[name])
	}
	return tables
}
