package nab

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// genCorpus draws a small corpus: 1–3 files of 1–80 rows, each with disjoint windows, and a
// detector's scores drawn from a few levels so that ties between rows are common.
func genCorpus(t *rapid.T) (*Corpus, map[string][]float64) {
	nf := rapid.IntRange(1, 3).Draw(t, "files")
	var files []*File
	scores := map[string][]float64{}
	levels := []float64{0, 0.25, 0.5, 0.75, 0.9, 1}
	for k := range nf {
		n := rapid.IntRange(1, 80).Draw(t, "rows")
		ts := series(n)
		f := &File{Name: fmt.Sprintf("f%d.csv", k), Timestamps: ts}
		for i := rapid.IntRange(0, n-1).Draw(t, "gap"); i < n; {
			last := min(n-1, i+rapid.IntRange(0, 15).Draw(t, "width"))
			f.Windows = append(f.Windows, Window{Start: ts[i], End: ts[last]})
			i = last + 1 + rapid.IntRange(0, 40).Draw(t, "gap")
		}
		files = append(files, f)
		s := make([]float64, n)
		for i := range s {
			s[i] = rapid.SampledFrom(levels).Draw(t, "score")
		}
		scores[f.Name] = s
	}
	c, err := NewCorpus(files...)
	if err != nil {
		t.Fatal(err)
	}
	return c, scores
}

// oracleRaw is NAB's raw score at a threshold written straight from the rules, row by row, with
// nothing shared with the scorer but scaledSigmoid's formula (as tanh).
func oracleRaw(c *Corpus, scores map[string][]float64, p Profile, thr float64) float64 {
	ss := func(x float64) float64 {
		if x > 3 {
			return -1
		}
		return -math.Tanh(2.5 * x)
	}
	raw := 0.0
	for _, f := range c.Files {
		s := scores[f.Name]
		prob := int(math.Min(math.Floor(0.15*float64(len(s))), 750))
		for _, w := range f.Windows {
			if w.Last < prob {
				continue
			}
			reward := -p.FN
			for i := max(w.First, prob); i <= w.Last; i++ {
				if s[i] >= thr {
					width := float64(w.Last - w.First + 1)
					reward = p.TP * ss(-float64(w.Last-i+1)/width) / ss(-1)
					break
				}
			}
			raw += reward
		}
	rows:
		for i := prob; i < len(s); i++ {
			if s[i] < thr {
				continue
			}
			cost := -1.0
			for k := len(f.Windows) - 1; k >= 0; k-- {
				w := f.Windows[k]
				if i >= w.First && i <= w.Last {
					continue rows
				}
				if w.Last < i {
					cost = ss(float64(i-w.Last) / float64(w.Last-w.First))
					break
				}
			}
			raw += p.FP * cost
		}
	}
	return raw
}

// The optimiser is exact: no threshold scores more than the one it picks, its raw score is the
// oracle's there, and among equal best scores it picks the highest threshold (as NAB).
func TestPropertyOptimalThreshold(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		c, scores := genCorpus(t)
		rs, err := c.ScoreProfiles(scores)
		if err != nil {
			t.Fatal(err)
		}
		cands := []float64{math.Inf(1)}
		for _, s := range scores {
			cands = append(cands, s...)
		}
		slices.Sort(cands)
		cands = slices.Compact(cands)
		for _, r := range rs {
			if want := oracleRaw(c, scores, r.Profile, r.Threshold); !near(r.Raw, want) {
				t.Fatalf("%s at %v: raw %v, oracle %v", r.Profile.Name, r.Threshold, r.Raw, want)
			}
			for _, thr := range cands {
				o := oracleRaw(c, scores, r.Profile, thr)
				if o > r.Raw+1e-9 {
					t.Fatalf("%s: threshold %v scores %v, more than the chosen %v at %v", r.Profile.Name, thr, o, r.Raw, r.Threshold)
				}
				if thr > r.Threshold && math.Abs(o-r.Raw) < 1e-12 {
					t.Fatalf("%s: the higher threshold %v ties with the chosen %v", r.Profile.Name, thr, r.Threshold)
				}
			}
			if r.TP+r.FN > c.Windows() || r.Score > 100+1e-9 {
				t.Fatalf("%s: impossible result %v", r.Profile.Name, r)
			}
		}
	})
}

// The normalisation's anchors hold on any corpus whose windows start after the probationary
// period: a detection at every window's first row and nowhere else scores 100, no detection 0
// (and a constant score, which the optimiser may turn into "every row", at least 0).
func TestPropertyPerfectNull(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		c, _ := genCorpus(t)
		perfect, null := map[string][]float64{}, map[string][]float64{}
		for _, f := range c.Files {
			n := len(f.Timestamps)
			perfect[f.Name], null[f.Name] = make([]float64, n), make([]float64, n)
			for _, w := range f.Windows {
				if w.First < Probation(n) {
					t.Skip("a window starts in the probationary period")
				}
				perfect[f.Name][w.First] = 1
			}
		}
		if c.Windows() == 0 {
			t.Skip("no window")
		}
		for _, p := range Profiles() {
			if r, _ := c.Score(perfect, p); !near(r.Score, 100) || r.TP != c.Windows() || r.FP != 0 {
				t.Fatalf("perfect: %v", r)
			}
			if r, _ := c.ScoreAt(null, p, math.Inf(1)); r.Score != 0 || r.FN != c.Windows() {
				t.Fatalf("null: %v", r)
			}
			if r, _ := c.Score(null, p); r.Score < 0 {
				t.Fatalf("constant: %v", r)
			}
		}
	})
}

// Only the order of the scores matters: a strictly increasing transform moves the threshold
// with it and changes nothing else.
func TestPropertyMonotoneInvariance(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		c, scores := genCorpus(t)
		moved := map[string][]float64{}
		for name, s := range scores {
			m := make([]float64, len(s))
			for i, v := range s {
				m[i] = math.Exp(3*v) - 7
			}
			moved[name] = m
		}
		for _, p := range Profiles() {
			a, _ := c.Score(scores, p)
			b, _ := c.Score(moved, p)
			if !near(a.Raw, b.Raw) || a.TP != b.TP || a.FP != b.FP || (math.Exp(3*a.Threshold)-7 != b.Threshold && !math.IsInf(a.Threshold, 1)) {
				t.Fatalf("%s: %v became %v", p.Name, a, b)
			}
		}
	})
}
