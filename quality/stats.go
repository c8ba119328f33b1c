package quality

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/coattailcapital/ctc"
)

// Stats are the quality counters of a Chain (DESIGN §5).
type Stats struct {
	// Processed counts every record checked; Passed = Processed − Failed − Duplicate.
	Processed int64 `json:"processed"`
	Passed    int64 `json:"passed"`
	// Failed counts the dead letters, FailedByReason splits them by reason (every reason is present).
	Failed    int64 `json:"failed"`
	Duplicate int64 `json:"duplicate"`
	// Late and Warnings count passed trades flagged late or inconsistent.
	Late           int64                `json:"late"`
	Warnings       int64                `json:"warnings"`
	FailedByReason map[ctc.Reason]int64 `json:"failed_by_reason"`
	// QualityScore is Passed / Processed × 100, and 100 before any record.
	QualityScore float64 `json:"quality_score"`
}

// Add adds o's counters to s, and recomputes the score: the totals of several chains (the hash-key
// ranges of a shard).
func (s *Stats) Add(o Stats) {
	s.Processed += o.Processed
	s.Passed += o.Passed
	s.Failed += o.Failed
	s.Duplicate += o.Duplicate
	s.Late += o.Late
	s.Warnings += o.Warnings
	for r, n := range o.FailedByReason {
		if s.FailedByReason == nil {
			s.FailedByReason = make(map[ctc.Reason]int64, len(o.FailedByReason))
		}
		s.FailedByReason[r] += n
	}
	s.QualityScore = 100
	if s.Processed > 0 {
		s.QualityScore = float64(s.Passed) / float64(s.Processed) * 100
	}
}

// AppendJSON appends the stats as a JSON object: processed, passed, failed, duplicate, late,
// warnings, quality_score and failed_by_reason, in this order, with sorted reasons, so that the
// same counters always give the same bytes.
func (s Stats) AppendJSON(b []byte) []byte {
	b = append(b, `{"processed":`...)
	b = strconv.AppendInt(b, s.Processed, 10)
	b = append(b, `,"passed":`...)
	b = strconv.AppendInt(b, s.Passed, 10)
	b = append(b, `,"failed":`...)
	b = strconv.AppendInt(b, s.Failed, 10)
	b = append(b, `,"duplicate":`...)
	b = strconv.AppendInt(b, s.Duplicate, 10)
	b = append(b, `,"late":`...)
	b = strconv.AppendInt(b, s.Late, 10)
	b = append(b, `,"warnings":`...)
	b = strconv.AppendInt(b, s.Warnings, 10)
	b = append(b, `,"quality_score":`...)
	if math.IsNaN(s.QualityScore) || math.IsInf(s.QualityScore, 0) {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendFloat(b, s.QualityScore, 'f', -1, 64)
	}
	b = append(b, `,"failed_by_reason":{`...)
	keys := make([]ctc.Reason, 0, len(s.FailedByReason))
	for r := range s.FailedByReason {
		keys = append(keys, r)
	}
	slices.Sort(keys)
	for i, r := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(string(r)) // cannot fail for a string
		b = append(b, k...)
		b = append(b, ':')
		b = strconv.AppendInt(b, s.FailedByReason[r], 10)
	}
	return append(b, "}}"...)
}

// MarshalJSON implements json.Marshaler with AppendJSON.
func (s Stats) MarshalJSON() ([]byte, error) { return s.AppendJSON(nil), nil }
