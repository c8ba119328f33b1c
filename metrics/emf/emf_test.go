package emf_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
)

var now = time.Date(2024, 1, 15, 10, 0, 0, 123_456_789, time.UTC)

func fixed() time.Time { return now }

var units = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

// validate checks one line against the structure the EMF specification requires.
func validate(line []byte) error {
	if !bytes.HasSuffix(line, []byte("\n")) || bytes.Count(line, []byte("\n")) != 1 {
		return errors.New("a document must be exactly one line")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	if dec.More() {
		return errors.New("data after the JSON object")
	}
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		return errors.New("_aws must be an object")
	}
	for k := range aws {
		if k != "Timestamp" && k != "CloudWatchMetrics" {
			return fmt.Errorf("_aws has an unknown member %q", k)
		}
	}
	ts, ok := aws["Timestamp"].(json.Number)
	if _, err := ts.Int64(); !ok || err != nil {
		return fmt.Errorf("_aws.Timestamp must be an integer of milliseconds, got %v", aws["Timestamp"])
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		return errors.New("_aws.CloudWatchMetrics must be a non-empty array")
	}
	for _, d := range dirs {
		dir, ok := d.(map[string]any)
		if !ok {
			return errors.New("a MetricDirective must be an object")
		}
		if ns, ok := dir["Namespace"].(string); !ok || ns == "" || len(ns) > 255 {
			return fmt.Errorf("Namespace must be a string of 1..255 characters, got %v", dir["Namespace"])
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			return errors.New("Dimensions must be an array of dimension sets")
		}
		for _, s := range sets {
			set, ok := s.([]any)
			if !ok {
				return errors.New("a DimensionSet must be an array")
			}
			if len(set) > emf.MaxDimensions {
				return fmt.Errorf("a DimensionSet holds %d dimensions, more than %d", len(set), emf.MaxDimensions)
			}
			for _, n := range set {
				name, ok := n.(string)
				if !ok {
					return fmt.Errorf("a dimension reference must be a string, got %v", n)
				}
				if v, ok := root[name].(string); !ok || v == "" {
					return fmt.Errorf("dimension %s must be a top-level string member, got %v", name, root[name])
				}
			}
		}
		ms, ok := dir["Metrics"].([]any)
		if !ok || len(ms) > emf.MaxMetrics {
			return fmt.Errorf("Metrics must be an array of at most %d definitions", emf.MaxMetrics)
		}
		for _, m := range ms {
			def, ok := m.(map[string]any)
			if !ok {
				return errors.New("a MetricDefinition must be an object")
			}
			name, ok := def["Name"].(string)
			if !ok || name == "" {
				return fmt.Errorf("a MetricDefinition needs a Name, got %v", def)
			}
			if u, has := def["Unit"]; has {
				if s, ok := u.(string); !ok || !units[s] {
					return fmt.Errorf("metric %s has unit %v, not a CloudWatch unit", name, u)
				}
			}
			switch v := root[name].(type) {
			case json.Number:
				if f, err := v.Float64(); err != nil || math.IsInf(f, 0) {
					return fmt.Errorf("metric %s is not a number: %v", name, v)
				}
			default:
				return fmt.Errorf("metric %s must be a top-level number member, got %v", name, root[name])
			}
		}
	}
	return nil
}

func lines(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		if err := validate(l); err != nil {
			t.Errorf("invalid EMF line: %v\n%s", err, l)
		}
		out = append(out, string(l))
	}
	return out
}

func TestGolden(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := emf.New(&buf, emf.Config{Now: fixed, Dimensions: []emf.Dimension{{"Service", "ctc"}}})
	if err != nil {
		t.Fatal(err)
	}
	st := quality.Stats{Processed: 200, Passed: 190, Failed: 6, Duplicate: 4, Late: 3, QualityScore: 95}
	if err := l.Quality(st); err != nil {
		t.Fatal(err)
	}
	b := &ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{{AlertType: ctc.Whale}, {AlertType: ctc.VolumeSpike}, {AlertType: ctc.Spread}, {AlertType: ctc.Whale}}}}
	if err := l.Batch(b, emf.Dimension{"Symbol", "BTC-USDT"}); err != nil {
		t.Fatal(err)
	}
	if err := l.BatchJob("reprocess", nil); err != nil {
		t.Fatal(err)
	}
	if err := l.BatchJob("historical-load", errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"_aws":{"Timestamp":1705312800123,"CloudWatchMetrics":[{"Namespace":"CoatTail/Quality","Dimensions":[["Service"]],"Metrics":[{"Name":"RecordsProcessed","Unit":"Count"},{"Name":"RecordsPassed","Unit":"Count"},{"Name":"RecordsFailed","Unit":"Count"},{"Name":"RecordsLate","Unit":"Count"},{"Name":"RecordsDuplicate","Unit":"Count"},{"Name":"QualityScore","Unit":"Percent"}]}]},"Service":"ctc","RecordsProcessed":200,"RecordsPassed":190,"RecordsFailed":6,"RecordsLate":3,"RecordsDuplicate":4,"QualityScore":95}` + "\n",
		`{"_aws":{"Timestamp":1705312800123,"CloudWatchMetrics":[{"Namespace":"CoatTail/Alerts","Dimensions":[["Service","Symbol"]],"Metrics":[{"Name":"AnomalyCount","Unit":"Count"},{"Name":"WhaleCount","Unit":"Count"},{"Name":"SpreadAlertCount","Unit":"Count"}]}]},"Service":"ctc","Symbol":"BTC-USDT","AnomalyCount":4,"WhaleCount":2,"SpreadAlertCount":1}` + "\n",
		`{"_aws":{"Timestamp":1705312800123,"CloudWatchMetrics":[{"Namespace":"CoatTail/Batch","Dimensions":[["Service","Job"]],"Metrics":[{"Name":"BatchJobSuccess","Unit":"Count"},{"Name":"BatchJobFailure","Unit":"Count"}]}]},"Service":"ctc","Job":"reprocess","BatchJobSuccess":1,"BatchJobFailure":0}` + "\n",
		`{"_aws":{"Timestamp":1705312800123,"CloudWatchMetrics":[{"Namespace":"CoatTail/Batch","Dimensions":[["Service","Job"]],"Metrics":[{"Name":"BatchJobSuccess","Unit":"Count"},{"Name":"BatchJobFailure","Unit":"Count"}]}]},"Service":"ctc","Job":"historical-load","BatchJobSuccess":0,"BatchJobFailure":1}` + "\n",
	}
	if d := cmp.Diff(want, lines(t, buf.Bytes())); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
}

func TestNamespacesAndNoDimensions(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := emf.New(&buf, emf.Config{Now: fixed, QualityNamespace: "Q", AlertsNamespace: "A", BatchNamespace: "B"})
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Quality(quality.Stats{QualityScore: 100})
	_ = l.Alerts(emf.AlertCounts{})
	_ = l.BatchJob("j", nil)
	got := lines(t, buf.Bytes())
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3", len(got))
	}
	for i, ns := range []string{`"Namespace":"Q","Dimensions":[[]]`, `"Namespace":"A","Dimensions":[[]]`, `"Namespace":"B","Dimensions":[["Job"]]`} {
		if !strings.Contains(got[i], ns) {
			t.Errorf("line %d = %s, want %s", i, got[i], ns)
		}
	}
}

// More than 100 metrics are split over lines, each valid.
func TestSplitOver100(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, _ := emf.New(&buf, emf.Config{Now: fixed})
	var ms []emf.Metric
	for i := range 250 {
		ms = append(ms, emf.Metric{Name: fmt.Sprintf("M%03d", i), Unit: emf.Count, Value: float64(i) / 4})
	}
	if err := l.Emit("X", nil, ms...); err != nil {
		t.Fatal(err)
	}
	got := lines(t, buf.Bytes())
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3", len(got))
	}
	seen := 0
	for _, line := range got {
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		for k := range m {
			if strings.HasPrefix(k, "M") {
				seen++
			}
		}
	}
	if seen != 250 {
		t.Errorf("%d metric values over the lines, want 250", seen)
	}
	if !strings.Contains(got[0], `"M001":0.25`) {
		t.Errorf("first line lacks M001:0.25: %.300s", got[0])
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, _ := emf.New(&buf, emf.Config{Now: fixed, Dimensions: []emf.Dimension{{"Service", "ctc"}}})
	many := make([]emf.Dimension, 30)
	for i := range many {
		many[i] = emf.Dimension{fmt.Sprintf("D%d", i), "v"}
	}
	m := emf.Metric{Name: "M", Value: 1}
	for name, err := range map[string]error{
		"NaN":             l.Emit("X", nil, emf.Metric{Name: "M", Value: math.NaN()}),
		"Inf":             l.Emit("X", nil, emf.Metric{Name: "M", Value: math.Inf(1)}),
		"no metrics":      l.Emit("X", nil),
		"no namespace":    l.Emit("", nil, m),
		"31 dimensions":   l.Emit("X", many, m),
		"empty value":     l.Emit("X", []emf.Dimension{{"Symbol", ""}}, m),
		"dup dimension":   l.Emit("X", []emf.Dimension{{"Service", "x"}}, m),
		"metric=dim":      l.Emit("X", nil, emf.Metric{Name: "Service", Value: 1}),
		"dup metric":      l.Emit("X", nil, m, m),
		"_aws":            l.Emit("X", nil, emf.Metric{Name: "_aws", Value: 1}),
		"bad utf8 metric": l.Emit("X", nil, emf.Metric{Name: "\xff", Value: 1}),
	} {
		if err == nil {
			t.Errorf("%s: Emit succeeded", name)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("failed calls wrote %q", buf.String())
	}
	if _, err := emf.New(nil, emf.Config{}); err == nil {
		t.Error("New(nil writer) succeeded")
	}
	if _, err := emf.New(&buf, emf.Config{Dimensions: append(many, emf.Dimension{"E", "x"})}); err == nil {
		t.Error("New with 31 dimensions succeeded")
	}
	fw := failWriter{}
	l2, _ := emf.New(fw, emf.Config{Now: fixed})
	if err := l2.Emit("X", nil, m); err == nil {
		t.Error("Emit on a failing writer succeeded")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSince(t *testing.T) {
	t.Parallel()
	prev := quality.Stats{Processed: 100, Passed: 90, Failed: 6, Duplicate: 4, Late: 1, Warnings: 2,
		FailedByReason: map[ctc.Reason]int64{ctc.Malformed: 6, ctc.Invalid: 0, ctc.Incomplete: 0}, QualityScore: 90}
	cur := quality.Stats{Processed: 300, Passed: 280, Failed: 12, Duplicate: 8, Late: 5, Warnings: 2,
		FailedByReason: map[ctc.Reason]int64{ctc.Malformed: 7, ctc.Invalid: 5, ctc.Incomplete: 0}, QualityScore: 93.33}
	want := quality.Stats{Processed: 200, Passed: 190, Failed: 6, Duplicate: 4, Late: 4,
		FailedByReason: map[ctc.Reason]int64{ctc.Malformed: 1, ctc.Invalid: 5, ctc.Incomplete: 0}, QualityScore: 95}
	if d := cmp.Diff(want, emf.Since(prev, cur)); d != "" {
		t.Errorf("Since (-want +got):\n%s", d)
	}
	if got := emf.Since(cur, cur); got.Processed != 0 || got.QualityScore != 100 {
		t.Errorf("Since of nothing = %+v, want 0 processed, score 100", got)
	}
	// A restarted chain: the new reading is taken whole.
	if got := emf.Since(cur, prev); got.Processed != 100 || got.QualityScore != 90 {
		t.Errorf("Since after a restart = %+v", got)
	}
}

// Lines written from several goroutines are never interleaved.
func TestConcurrent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	l, _ := emf.New(w, emf.Config{Now: fixed})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				if err := l.Alerts(emf.AlertCounts{Anomalies: int64(i*100 + j)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(lines(t, buf.Bytes())); n != 400 {
		t.Errorf("%d lines, want 400", n)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// The validator refuses what the specification refuses, so that the tests above can fail.
func TestValidatorRefuses(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"X","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]}}`,                        // M missing
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"X","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":"1"}`,                // M a string
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"X","Dimensions":[["D"]],"Metrics":[{"Name":"M"}]}]},"M":1,"D":2}`,         // D not a string
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"X","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Parsecs"}]}]},"M":1}`, // unit
		`{"_aws":{"Timestamp":"1","CloudWatchMetrics":[{"Namespace":"X","Dimensions":[[]],"Metrics":[]}]}}`,                                  // timestamp
		`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`,                                                                                    // no directive
	} {
		if validate([]byte(bad+"\n")) == nil {
			t.Errorf("validator accepted %s", bad)
		}
	}
}
