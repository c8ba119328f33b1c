package anomaly_test

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/coattailcapital/ctc/anomaly"
	"github.com/coattailcapital/ctc/internal/nab"
)

func loadNAB(tb testing.TB) *nab.Corpus {
	tb.Helper()
	dir, err := nab.CorpusDir()
	if err != nil {
		tb.Skipf("NAB corpus not found: %v", err)
	}
	c, err := nab.LoadCorpus(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// scoreCorpus runs cfg over c as the runner does and scores the three profiles.
func scoreCorpus(tb testing.TB, c *nab.Corpus, cfg anomaly.Config) []nab.Result {
	tb.Helper()
	scores, err := nab.RunCorpus(c, func() nab.Detector { return anomaly.New(cfg) })
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := c.ScoreProfiles(scores)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

func scoreNAB(tb testing.TB) []nab.Result {
	tb.Helper()
	return scoreCorpus(tb, loadNAB(tb), anomaly.DefaultConfig())
}

// TestNAB guards the default configuration's NAB v1.1 scores (75.85, 67.29, 80.74 when it was
// chosen) against a regression, with a little room for the scorer's rounding. It reads the
// corpus, so it runs only with CTC_NAB set; scripts/nab.sh -model ctc prints the same figures.
func TestNAB(t *testing.T) {
	if os.Getenv("CTC_NAB") == "" {
		t.Skip("set CTC_NAB=1 to score the default configuration on the NAB corpus")
	}
	floor := map[string]float64{"standard": 75.5, "reward_low_FP_rate": 67, "reward_low_FN_rate": 80.5}
	for _, r := range scoreNAB(t) {
		t.Log(r)
		if r.Score < floor[r.Profile.Name] {
			t.Errorf("%s: %.2f, below %.1f", r.Profile.Name, r.Score, floor[r.Profile.Name])
		}
	}
}

// halves splits c's files by a fixed rule, alternately in name order, into two corpora
// scored on their own (own threshold, own normalisation).
func halves(tb testing.TB, c *nab.Corpus) [2]*nab.Corpus {
	tb.Helper()
	var parts [2][]*nab.File
	for i, f := range c.Files {
		g := *f
		g.Windows = append([]nab.Window(nil), f.Windows...)
		parts[i%2] = append(parts[i%2], &g)
	}
	var out [2]*nab.Corpus
	for i, p := range parts {
		h, err := nab.NewCorpus(p...)
		if err != nil {
			tb.Fatal(err)
		}
		h.Dir = c.Dir
		out[i] = h
	}
	return out
}

// TestNABSensitivity reports how the default configuration's NAB scores hold up when one
// parameter at a time moves a step either way (20 % of its value; one visit for SeasonMin; a
// neighbour on the grid of 5-minute-aligned parts for Bins), and the scores of the two halves
// of the corpus (files alternately in name order): the evidence for the claims, in the package
// doc and the README, of how narrow the optimum is. It fails where those claims would be wrong:
// when a half of the corpus scores under ARTime's 74.9 or a neighbour under HTM's 70.1 (the
// README says the margin over HTM is comfortable). It reads the corpus and runs about 35
// configurations, so it runs only with CTC_NAB_SENSITIVITY set.
func TestNABSensitivity(t *testing.T) {
	if os.Getenv("CTC_NAB_SENSITIVITY") == "" {
		t.Skip("set CTC_NAB_SENSITIVITY=1 to report the NAB scores of neighbouring configurations")
	}
	c := loadNAB(t)
	def := anomaly.DefaultConfig()
	line := func(rs []nab.Result) string {
		var p []string
		for _, r := range rs {
			p = append(p, fmt.Sprintf("%.2f", r.Score))
		}
		return strings.Join(p, " / ")
	}
	t.Logf("default: %s", line(scoreCorpus(t, c, def)))
	const artime, htm = 74.9, 70.1
	for i, h := range halves(t, c) {
		rs := scoreCorpus(t, h, def)
		t.Logf("half %d (%d files, %d windows): %s", i, len(h.Files), h.Windows(), line(rs))
		if rs[0].Score < artime {
			t.Errorf("half %d scores %.2f, under ARTime's %.1f", i, rs[0].Score, artime)
		}
	}
	std := func(cfg anomaly.Config) string {
		if err := cfg.Validate(); err != nil {
			t.Errorf("a neighbour of the defaults is invalid: %v", err)
			return "invalid"
		}
		score := scoreCorpus(t, c, cfg)[0].Score
		if score < htm {
			t.Errorf("a neighbour of the defaults scores %.2f, under HTM's %.1f", score, htm)
		}
		return fmt.Sprintf("%.2f", score)
	}
	up, down := func(x float64) float64 { return x * 1.2 }, func(x float64) float64 { return x * 0.8 }
	ri := func(f func(float64) float64, x int) int { return int(math.Round(f(float64(x)))) }
	base := std(def)
	for _, p := range []struct {
		name      string
		minus, pl func(*anomaly.Config)
	}{
		{"Warmup", func(c *anomaly.Config) { c.Warmup = ri(down, c.Warmup) }, func(c *anomaly.Config) { c.Warmup = ri(up, c.Warmup) }},
		{"Horizon", func(c *anomaly.Config) { c.Horizon = ri(down, c.Horizon) }, func(c *anomaly.Config) { c.Horizon = ri(up, c.Horizon) }},
		{"Blocks", func(c *anomaly.Config) { c.Blocks = ri(down, c.Blocks) }, func(c *anomaly.Config) { c.Blocks = ri(up, c.Blocks) }},
		{"Hush", func(c *anomaly.Config) { c.Hush = ri(down, c.Hush) }, func(c *anomaly.Config) { c.Hush = ri(up, c.Hush) }},
		{"Quiet", func(c *anomaly.Config) { c.Quiet = ri(down, c.Quiet) }, func(c *anomaly.Config) { c.Quiet = ri(up, c.Quiet) }},
		{"Smooth", func(c *anomaly.Config) { c.Smooth = down(c.Smooth) }, func(c *anomaly.Config) { c.Smooth = up(c.Smooth) }},
		{"LevelWeight", func(c *anomaly.Config) { c.LevelWeight = down(c.LevelWeight) }, func(c *anomaly.Config) { c.LevelWeight = min(1, up(c.LevelWeight)) }},
		{"Bins", func(c *anomaly.Config) { c.Bins = 72 }, func(c *anomaly.Config) { c.Bins = 144 }},
		{"SeasonRate", func(c *anomaly.Config) { c.SeasonRate = down(c.SeasonRate) }, func(c *anomaly.Config) { c.SeasonRate = up(c.SeasonRate) }},
		{"SeasonMin", func(c *anomaly.Config) { c.SeasonMin-- }, func(c *anomaly.Config) { c.SeasonMin++ }},
		{"SeasonWeight", func(c *anomaly.Config) { c.SeasonWeight = down(c.SeasonWeight) }, func(c *anomaly.Config) { c.SeasonWeight = up(c.SeasonWeight) }},
		{"SeasonLevelWeight", func(c *anomaly.Config) { c.SeasonLevelWeight = down(c.SeasonLevelWeight) }, func(c *anomaly.Config) { c.SeasonLevelWeight = up(c.SeasonLevelWeight) }},
		{"ShiftWeight", func(c *anomaly.Config) { c.ShiftWeight = down(c.ShiftWeight) }, func(c *anomaly.Config) { c.ShiftWeight = up(c.ShiftWeight) }},
		{"ShiftBins", func(c *anomaly.Config) { c.ShiftBins = ri(down, c.ShiftBins) }, func(c *anomaly.Config) { c.ShiftBins = ri(up, c.ShiftBins) }},
		{"ShiftRecent", func(c *anomaly.Config) { c.ShiftRecent = down(c.ShiftRecent) }, func(c *anomaly.Config) { c.ShiftRecent = up(c.ShiftRecent) }},
		{"ShiftLongRun", func(c *anomaly.Config) { c.ShiftLongRun = down(c.ShiftLongRun) }, func(c *anomaly.Config) { c.ShiftLongRun = up(c.ShiftLongRun) }},
	} {
		lo, hi := def, def
		p.minus(&lo)
		p.pl(&hi)
		t.Logf("%-18s %7s  %s  %7s", p.name, std(lo), base, std(hi))
	}
}

// BenchmarkNAB runs the default configuration over the NAB corpus (365,558 values in 58 series)
// and reports its three normalised scores beside the time.
func BenchmarkNAB(b *testing.B) {
	var rs []nab.Result
	for b.Loop() {
		rs = scoreNAB(b)
	}
	for _, r := range rs {
		b.ReportMetric(r.Score, r.Profile.Name)
	}
}
