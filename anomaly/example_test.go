package anomaly_test

import (
	"fmt"
	"math"
	"time"

	"github.com/coattailcapital/ctc/anomaly"
)

// A week of a metric sampled every 15 minutes, with a daily cycle; on the sixth day it jumps far
// above anything seen. Most values score exactly 0 and the jump stands out; a few values that
// only just pass what came before score a little above 0, which a threshold of 0.1 ignores.
func Example() {
	s := anomaly.New(anomaly.DefaultConfig())
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range 7 * 96 {
		t := start.Add(time.Duration(i) * 15 * time.Minute)
		v := 100 + 30*math.Sin(2*math.Pi*float64(i)/96) + 3*math.Sin(float64(i)*1.7)
		if i >= 5*96+40 && i < 5*96+44 {
			v += 120
		}
		if score := s.Score(t, v); score > 0.1 {
			fmt.Printf("%s value %.0f score %.2f\n", t.Format("Mon 15:04"), v, score)
		}
	}
	// Output:
	// Thu 00:30 value 105 score 0.21
	// Sat 10:00 value 232 score 0.60
}

// A scorer's state goes into a checkpoint as bytes and comes back where it left off.
func ExampleScorer_Snapshot() {
	s := anomaly.New(anomaly.DefaultConfig())
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	for i := range 500 {
		s.Score(start.Add(time.Duration(i)*time.Minute), float64(i%10))
	}
	b, err := s.Snapshot()
	if err != nil {
		panic(err)
	}
	r := anomaly.New(anomaly.DefaultConfig())
	if err := r.Restore(b); err != nil {
		panic(err)
	}
	t := start.Add(500 * time.Minute)
	fmt.Printf("%.2f %.2f\n", s.Score(t, 50), r.Score(t, 50))
	// Output:
	// 0.82 0.82
}
