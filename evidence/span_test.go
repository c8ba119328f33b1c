package evidence_test

import (
	"testing"
	"time"

	"github.com/coattailcapital/ctc/evidence"
)

// Span reaches back one entry window before the first alert and forward to the widest horizon of
// the last: +1 h ± 30 s with the defaults.
func TestSpan(t *testing.T) {
	first := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	last := first.Add(3 * time.Hour)
	from, to := evidence.Config{}.Span(first, last)
	if !from.Equal(first.Add(-evidence.DefaultReference)) || !to.Equal(last.Add(time.Hour+30*time.Second)) {
		t.Errorf("default span %v – %v", from, to)
	}
	from, to = evidence.Config{Reference: time.Minute, Horizons: []evidence.Horizon{{After: 2 * time.Minute, HalfWidth: 5 * time.Second}}}.Span(first, last)
	if !from.Equal(first.Add(-time.Minute)) || !to.Equal(last.Add(2*time.Minute+5*time.Second)) {
		t.Errorf("span %v – %v", from, to)
	}
}
