package nab

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)

// series returns n timestamps five minutes apart, as NAB's.
func series(n int) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * 5 * time.Minute)
	}
	return ts
}

// tinyFile is 20 rows with one window, rows 10..14 (width 5). Its probationary period is
// floor(0.15·20) = 3 rows.
func tinyFile(name string) *File {
	ts := series(20)
	return &File{Name: name, Timestamps: ts, Windows: []Window{{Start: ts[10], End: ts[14]}}}
}

func tinyCorpus(t *testing.T) *Corpus {
	t.Helper()
	c, err := NewCorpus(tinyFile("a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// detect returns n zero scores with 1 at the given rows.
func detect(n int, rows ...int) []float64 {
	s := make([]float64, n)
	for _, r := range rows {
		s[r] = 1
	}
	return s
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

// The scaled sigmoid 2/(1+e^{5x}) - 1 is -tanh(5x/2): the expectations below are written
// with tanh so that they are computed independently of the code under test.
func TestScoreAtByHand(t *testing.T) {
	t.Parallel()
	c := tinyCorpus(t)
	maxTP := math.Tanh(2.5)
	cases := []struct {
		name       string
		rows       []int
		raw        float64
		tp, fp, fn int
	}{
		{"nothing: the window is missed", nil, -1, 0, 0, 1},
		{"window start: the full reward", []int{10}, 1, 1, 0, 0},
		{"window end: position -1/5", []int{14}, math.Tanh(0.5) / maxTP, 1, 0, 0},
		{"window middle: position -3/5", []int{12}, math.Tanh(1.5) / maxTP, 1, 0, 0},
		{"the first detection in a window counts", []int{11, 13}, math.Tanh(2) / maxTP, 1, 0, 0},
		{"FP before any window costs the full FP weight", []int{5}, -1 - 0.11, 0, 1, 1},
		{"FP just after the window: distance 1/(5-1)", []int{15}, -1 - 0.11*math.Tanh(0.625), 0, 1, 1},
		{"FP further after: distance 5/4", []int{19}, -1 - 0.11*math.Tanh(3.125), 0, 1, 1},
		{"TP and an FP just after", []int{10, 15}, 1 - 0.11*math.Tanh(0.625), 1, 1, 0},
		{"probationary rows count for nothing", []int{0, 1, 2}, -1, 0, 0, 1},
		{"the first scored row", []int{3}, -1 - 0.11, 0, 1, 1},
	}
	for _, tc := range cases {
		r, err := c.ScoreAt(map[string][]float64{"a.csv": detect(20, tc.rows...)}, Standard, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !near(r.Raw, tc.raw) || r.TP != tc.tp || r.FP != tc.fp || r.FN != tc.fn {
			t.Errorf("%s: raw %v TP %d FP %d FN %d, want raw %v TP %d FP %d FN %d",
				tc.name, r.Raw, r.TP, r.FP, r.FN, tc.raw, tc.tp, tc.fp, tc.fn)
		}
		if want := 100 * (tc.raw + 1) / 2; !near(r.Score, want) {
			t.Errorf("%s: score %v, want %v", tc.name, r.Score, want)
		}
		if r.Files[0].Raw != r.Raw || r.Files[0].Name != "a.csv" {
			t.Errorf("%s: per-file %+v does not add up to raw %v", tc.name, r.Files[0], r.Raw)
		}
	}
}

func TestPerfectAndNull(t *testing.T) {
	t.Parallel()
	// 200 rows, a window at 100..109: detecting every row costs far more than it earns.
	ts := series(200)
	c, err := NewCorpus(&File{Name: "a.csv", Timestamps: ts, Windows: []Window{{Start: ts[100], End: ts[109]}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Profiles() {
		perfect, err := c.Score(map[string][]float64{"a.csv": detect(200, 100)}, p)
		if err != nil {
			t.Fatal(err)
		}
		if perfect.Score != 100 || perfect.Threshold != 1 || perfect.TP != 1 || perfect.FP != 0 {
			t.Errorf("%s: the perfect detector got %v", p.Name, perfect)
		}
		null, err := c.Score(map[string][]float64{"a.csv": detect(200)}, p)
		if err != nil {
			t.Fatal(err)
		}
		if null.Score != 0 || null.Raw != -p.FN || !math.IsInf(null.Threshold, 1) || null.FN != 1 {
			t.Errorf("%s: the null detector got %v", p.Name, null)
		}
		// NAB's null detector writes 0.5 everywhere: the best is to detect nothing.
		flat := make([]float64, 200)
		for i := range flat {
			flat[i] = 0.5
		}
		if r, _ := c.Score(map[string][]float64{"a.csv": flat}, p); r.Score != 0 {
			t.Errorf("%s: a constant detector got %v", p.Name, r)
		}
	}
	// On a file this short, detecting every row is worth it: the optimiser finds that too.
	c = tinyCorpus(t)
	r, _ := c.Score(map[string][]float64{"a.csv": detect(20)}, Standard)
	if want := 1 - 0.11*(7+math.Tanh(0.625)+math.Tanh(1.25)+math.Tanh(1.875)+math.Tanh(2.5)+math.Tanh(3.125)); r.Threshold != 0 || !near(r.Raw, want) {
		t.Errorf("every row detected: got %v, want threshold 0 raw %v", r, want)
	}
}

func TestOptimiseThreshold(t *testing.T) {
	t.Parallel()
	c := tinyCorpus(t)
	s := make([]float64, 20)
	s[3] = 0.95  // an FP before the window, scored highest
	s[10] = 0.9  // the window's first row
	s[11] = 0.8  // a later row of the window: adds nothing, so 0.8 ties with 0.9
	s[15] = 0.5  // an FP just after the window
	s[1] = 0.99  // probationary: never a candidate
	s[19] = 0.25 // an FP far after
	fp := 0.11
	want := map[string]struct{ thr, raw, score float64 }{
		// Candidates: +Inf → -1; 0.95 → -1.11; 0.9 and 0.8 → 1 - 0.11 (the higher wins); …
		Standard.Name:    {0.9, 1 - fp, 100 * (1 - fp + 1) / 2},
		RewardLowFP.Name: {0.9, 1 - 2*fp, 100 * (1 - 2*fp + 1) / 2},
		RewardLowFN.Name: {0.9, 1 - fp, 100 * (1 - fp + 2) / 3},
	}
	rs, err := c.ScoreProfiles(map[string][]float64{"a.csv": s})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		w := want[r.Profile.Name]
		if r.Threshold != w.thr || !near(r.Raw, w.raw) || !near(r.Score, w.score) {
			t.Errorf("%s: threshold %v raw %v score %v, want %v %v %v", r.Profile.Name, r.Threshold, r.Raw, r.Score, w.thr, w.raw, w.score)
		}
		if r.TPRows != 1 || r.FNRows != 4 || r.FP != 1 || r.TNRows != 20-3-5-1 {
			t.Errorf("%s: row counts TP %d FN %d FP %d TN %d", r.Profile.Name, r.TPRows, r.FNRows, r.FP, r.TNRows)
		}
	}
}

func TestProbationaryWindow(t *testing.T) {
	t.Parallel()
	ts := series(40) // probation: 6 rows
	f := &File{Name: "p.csv", Timestamps: ts, Windows: []Window{
		{Start: ts[1], End: ts[3]},   // entirely probationary: neither reward nor cost
		{Start: ts[4], End: ts[9]},   // straddles the end of the probationary period
		{Start: ts[20], End: ts[20]}, // one row wide
	}}
	c, err := NewCorpus(f)
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.ScoreAt(map[string][]float64{"p.csv": detect(40, 2, 6, 21)}, Standard, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Row 6 is at position -(9-6+1)/6 in the second window; row 21 follows a one-row window,
	// whose width-1 is 0: the full FP cost.
	want := math.Tanh(2.5*4/6)/math.Tanh(2.5) - 1 - 0.11
	if !near(r.Raw, want) || r.TP != 1 || r.FN != 1 || r.FP != 1 || r.Null != -2 || r.Perfect != 3 {
		t.Errorf("got %+v, want raw %v TP 1 FN 1 FP 1 null -2 perfect 3", r, want)
	}
}

func TestScoreErrors(t *testing.T) {
	t.Parallel()
	c := tinyCorpus(t)
	for name, scores := range map[string]map[string][]float64{
		"missing file":   {},
		"unknown file":   {"a.csv": detect(20), "b.csv": detect(20)},
		"short":          {"a.csv": detect(19)},
		"NaN":            {"a.csv": append(detect(19), math.NaN())},
		"Inf":            {"a.csv": append(detect(19), math.Inf(1))},
		"nil for a file": {"a.csv": nil},
	} {
		if _, err := c.Score(scores, Standard); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNewCorpusErrors(t *testing.T) {
	t.Parallel()
	ts := series(10)
	for name, files := range map[string][]*File{
		"no name":          {{Timestamps: ts}},
		"twice":            {{Name: "a", Timestamps: ts}, {Name: "a", Timestamps: ts}},
		"values":           {{Name: "a", Timestamps: ts, Values: make([]float64, 3)}},
		"start not a row":  {{Name: "a", Timestamps: ts, Windows: []Window{{Start: ts[1].Add(time.Second), End: ts[2]}}}},
		"end before start": {{Name: "a", Timestamps: ts, Windows: []Window{{Start: ts[3], End: ts[2]}}}},
		"overlap":          {{Name: "a", Timestamps: ts, Windows: []Window{{Start: ts[1], End: ts[4]}, {Start: ts[4], End: ts[6]}}}},
	} {
		if _, err := NewCorpus(files...); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestProbation(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]int{0: 0, 6: 0, 7: 1, 20: 3, 4032: 604, 5000: 750, 5001: 750, 22695: 750} {
		if got := Probation(n); got != want {
			t.Errorf("Probation(%d) = %d, want %d", n, got, want)
		}
	}
}
