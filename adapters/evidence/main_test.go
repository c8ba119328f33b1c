package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/evidence"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/sim"
)

var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

// simulatedDay writes what the default run would: the simulator's trades and alerts, with its
// injected whales, clusters, bursts and spread dislocations, committed to a warehouse in dir.
func simulatedDay(t *testing.T, dir string, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	src, err := sim.New(sim.Config{Seed: 3, Start: t0, Duration: d, WhaleClusters: true, InjectEvery: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	chain, _ := quality.New(quality.Config{})
	cl, err := detect.NewCluster(detect.ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(append(detect.Defaults(), cl)...), ctc.WithSinks(lake))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func evidenceCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var o, e bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, &o, &e)
	return code, o.String(), e.String()
}

func TestInjectedSpreadsStandOut(t *testing.T) {
	dir := t.TempDir()
	simulatedDay(t, dir, 90*time.Minute)
	out := filepath.Join(t.TempDir(), "evidence.json")
	code, stdout, stderr := evidenceCmd(t, "-warehouse", dir, "-json", "-out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r evidence.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("-json: %v\n%s", err, stdout)
	}
	file, err := os.ReadFile(out)
	if err != nil || string(file) != stdout {
		t.Errorf("-out wrote %d bytes (%v), not what -json printed", len(file), err)
	}
	types := map[ctc.AlertType]bool{}
	for _, g := range r.Groups {
		types[g.AlertType] = true
		if g.AlertType != ctc.Spread || g.Severity == "all" {
			continue
		}
		// The simulator dislocates Coinbase by 1.5 % for two windows, then lets it go: every spread
		// alert sees the spread close by about 150 bp within a minute.
		h := g.Horizons[0]
		if g.Measure != evidence.MeasureConvergence || h.Alerts.N == 0 || h.Alerts.Mean < 100 || h.Alerts.HitRate < 0.9 {
			t.Errorf("spread %s at %s: %s, n %d, mean %.1f bp, hit rate %.2f", g.Severity, h.Horizon, g.Measure, h.Alerts.N, h.Alerts.Mean, h.Alerts.HitRate)
		}
		if h.EdgeCI == nil || h.EdgeCI.Low < 50 {
			t.Errorf("spread edge %+v: the injected dislocations do not stand out", h.EdgeCI)
		}
	}
	for _, want := range []ctc.AlertType{ctc.Whale, ctc.Spread, ctc.VolumeSpike, detect.WhaleCluster} {
		if !types[want] {
			t.Errorf("no %s group in the report", want)
		}
	}

	// The table, filtered to one instrument and a range.
	code, stdout, stderr = evidenceCmd(t, "-warehouse", dir, "-symbols", "BTC", "-from", t0.Add(20*time.Minute).Format(time.RFC3339), "-to", t0.Add(80*time.Minute).Format(time.RFC3339))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "horizon") || !strings.Contains(stdout, "spread · ") || strings.Contains(stdout, "ETH") {
		t.Errorf("table:\n%s", stdout)
	}
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-from", "yesterday"}, 2, "-from must be RFC 3339"},
		{[]string{"-from", "2024-01-15T11:00:00Z", "-to", "2024-01-15T10:00:00Z"}, 2, "must be before"},
		{[]string{"-baseline", "5000"}, 2, "at most 1000"},
		{[]string{"extra"}, 2, "every option is a flag"},
		{[]string{"-warehouse", filepath.Join(t.TempDir(), "none")}, 1, "holds no warehouse"},
		{[]string{"-h"}, 0, "usage: evidence"},
	} {
		code, _, stderr := evidenceCmd(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}
