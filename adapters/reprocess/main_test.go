package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/sim"
)

var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// liveRun writes what the live pipeline would have: the simulator's trades and alerts, committed
// to a warehouse in dir.
func liveRun(t *testing.T, dir string, start time.Time, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	src, err := sim.New(sim.Config{Seed: 5, Start: start, Duration: d})
	if err != nil {
		t.Fatal(err)
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	chain, _ := quality.New(quality.Config{})
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...), ctc.WithSinks(lake))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func reprocessCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	code := run(context.Background(), args, &o, &e, false)
	return code, o.String(), e.String()
}

func TestSameThresholdsReproduceTheLiveAlerts(t *testing.T) {
	dir := t.TempDir()
	liveRun(t, dir, t0, 30*time.Minute)
	code, out, errs := reprocessCmd(t, "-warehouse", dir, "-run-id", "same")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"run same:", "only in anomaly_alerts: 0", "only in anomalies_reprocessed: 0", "same alert, different severity: 0", "whale", "spread", "volume_spike"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "reprocess: read") || !strings.Contains(errs, "reprocess: detect") {
		t.Errorf("no progress lines on a non-terminal: %s", errs)
	}

	// The run is in anomalies_reprocessed, readable by run id.
	lake, err := iceberg.Open(context.Background(), iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(context.Background())
	got, err := lake.ScanRun(context.Background(), "same", time.Time{}, time.Time{})
	if err != nil || len(got) == 0 {
		t.Fatalf("anomalies_reprocessed holds %d alerts of run same (%v)", len(got), err)
	}
}

func TestLowerWhaleThresholdFindsMore(t *testing.T) {
	dir := t.TempDir()
	liveRun(t, dir, t0, 30*time.Minute)
	code, out, errs := reprocessCmd(t, "-warehouse", dir, "-whale", "20000", "-run-id", "low")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "only in anomalies_reprocessed: 0\n") {
		t.Errorf("a lower whale threshold should find whales the live run did not:\n%s", out)
	}
}

// Time travel: reading raw_trades as of the first snapshot ignores what was appended later.
func TestAsOfSnapshotReadsTheOldTable(t *testing.T) {
	dir := t.TempDir()
	liveRun(t, dir, t0, 20*time.Minute)
	lake, err := iceberg.Open(context.Background(), iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := lake.Table(context.Background(), iceberg.RawTrades)
	if err != nil {
		t.Fatal(err)
	}
	first := tbl.CurrentSnapshot().SnapshotID
	lake.Close(context.Background())
	liveRun(t, dir, t0.Add(time.Hour), 20*time.Minute)

	_, all, _ := reprocessCmd(t, "-warehouse", dir, "-run-id", "all")
	_, old, errs := reprocessCmd(t, "-warehouse", dir, "-run-id", "old", "-snapshot", strconv.FormatInt(first, 10))
	na, no := tradesIn(t, all), tradesIn(t, old)
	if no == 0 || na <= no {
		t.Fatalf("as of snapshot %d: %d trades, current: %d trades (%s)", first, no, na, errs)
	}
}

func tradesIn(t *testing.T, report string) int {
	t.Helper()
	var id string
	var n int
	if _, err := fmt.Sscanf(report, "run %s %d trades", &id, &n); err != nil {
		t.Fatalf("cannot read the trade count from %q: %v", report, err)
	}
	return n
}

func TestCommandLineErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-warehouse is required"},
		{[]string{"-warehouse", "/does/not/exist"}, "-warehouse"},
		{[]string{"-warehouse", t.TempDir(), "-as-of", "noon"}, "-as-of must be RFC 3339"},
		{[]string{"-warehouse", t.TempDir(), "-as-of", "2024-01-15T10:00:00Z", "-snapshot", "3"}, "not both"},
		{[]string{"-warehouse", t.TempDir(), "-z", "5", "-z-high", "4"}, "thresholds"},
	} {
		code, _, errs := reprocessCmd(t, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q", c.args, code, errs, c.want)
		}
	}
}

// A run id is run once; -publish publishes a run that passes the gate and refuses one that does not.
func TestRerunAndPublish(t *testing.T) {
	dir := t.TempDir()
	liveRun(t, dir, t0, 10*time.Minute)
	if code, _, errs := reprocessCmd(t, "-warehouse", dir, "-run-id", "d1"); code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	code, out, errs := reprocessCmd(t, "-warehouse", dir, "-run-id", "d1", "-publish")
	if code != 0 || !strings.Contains(out, "already succeeded") || !strings.Contains(out, "published run d1") {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	lake, err := iceberg.Open(context.Background(), iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	alerts, err := lake.ScanRun(context.Background(), "d1", time.Time{}, time.Time{})
	lake.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ids := map[[16]byte]bool{}
	for _, a := range alerts {
		ids[a.AlertID] = true
	}
	if len(ids) != len(alerts) {
		t.Fatalf("run d1 holds %d alerts, %d distinct: the rerun appended them again", len(alerts), len(ids))
	}
	code, _, errs = reprocessCmd(t, "-warehouse", dir, "-run-id", "d2", "-publish", "-min-trades", "100000000")
	if code != 1 || !strings.Contains(errs, "not published") || !strings.Contains(errs, "fewer than 100000000") {
		t.Fatalf("a run below the gate: exit %d: %s", code, errs)
	}
}
