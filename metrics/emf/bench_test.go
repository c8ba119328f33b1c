package emf_test

import (
	"io"
	"testing"

	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
)

// BenchmarkQuality writes one quality line: what a Lambda invocation pays for its metrics.
func BenchmarkQuality(b *testing.B) {
	l, err := emf.New(io.Discard, emf.Config{Now: fixed, Dimensions: []emf.Dimension{{Name: "Service", Value: "ctc"}}})
	if err != nil {
		b.Fatal(err)
	}
	s := quality.Stats{Processed: 5000, Passed: 4990, Failed: 7, Duplicate: 3, Late: 12, QualityScore: 99.8}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Quality(s); err != nil {
			b.Fatal(err)
		}
	}
}
