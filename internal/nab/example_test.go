package nab_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/coattailcapital/ctc/internal/nab"
)

// A corpus of one 100-row file with one anomaly window (rows 60..69), and a detector that
// scores the window's first row 0.7, its middle 0.9 and a row long before it 0.8. Catching the
// window at its start is worth the false positive, unless false positives cost double:
// standard = 100·(1 - 0.11 + 1)/2; reward_low_FP_rate takes the middle, worth
// tanh(1.25)/tanh(2.5) of a start, and no false positive.
func ExampleCorpus_Score() {
	t0 := time.Date(2014, 4, 1, 0, 0, 0, 0, time.UTC)
	ts := make([]time.Time, 100)
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * 5 * time.Minute)
	}
	c, err := nab.NewCorpus(&nab.File{
		Name:       "example/series.csv",
		Timestamps: ts,
		Windows:    []nab.Window{{Start: ts[60], End: ts[69]}},
	})
	if err != nil {
		panic(err)
	}
	scores := make([]float64, 100)
	scores[30], scores[60], scores[65] = 0.8, 0.7, 0.9
	for _, p := range nab.Profiles() {
		r, err := c.Score(map[string][]float64{"example/series.csv": scores}, p)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-18s threshold %.1f score %6.2f  TP %d FP %d FN %d\n", p.Name, r.Threshold, r.Score, r.TP, r.FP, r.FN)
	}
	// Output:
	// standard           threshold 0.7 score  94.50  TP 1 FP 1 FN 0
	// reward_low_FP_rate threshold 0.9 score  92.99  TP 1 FP 0 FN 0
	// reward_low_FN_rate threshold 0.7 score  96.33  TP 1 FP 1 FN 0
}

// Run is the runner: one NAB CSV in, one score per row out.
func ExampleRun() {
	in := strings.NewReader(`timestamp,value
2014-04-01 00:00:00,10
2014-04-01 00:05:00,12
2014-04-01 00:10:00,11
2014-04-01 00:15:00,40
`)
	if err := nab.Run(in, os.Stdout, nab.Rounded(nab.NewWindowedGaussian(), 4)); err != nil {
		panic(err)
	}
	// Output:
	// 0
	// 1
	// 0.5
	// 1
}
