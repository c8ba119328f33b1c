package emf

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units ctc's metrics use, and a few more of CloudWatch's.
const (
	Count        Unit = "Count"
	Percent      Unit = "Percent"
	Seconds      Unit = "Seconds"
	Milliseconds Unit = "Milliseconds"
	Bytes        Unit = "Bytes"
	CountPerSec  Unit = "Count/Second"
	None         Unit = "None"
)

// Metric is one value of a metric on a line.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Dimension is one dimension of a line: its name and its value for the metrics of the line.
type Dimension struct {
	Name, Value string
}

// The default namespaces of ctc's metrics (the seed's CloudWatch dashboard and alarms use them).
const (
	QualityNamespace = "CoatTail/Quality"
	AlertsNamespace  = "CoatTail/Alerts"
	BatchNamespace   = "CoatTail/Batch"
)

// The metric names of the seed.
const (
	RecordsProcessed = "RecordsProcessed"
	RecordsPassed    = "RecordsPassed"
	RecordsFailed    = "RecordsFailed"
	RecordsLate      = "RecordsLate"
	RecordsDuplicate = "RecordsDuplicate"
	QualityScore     = "QualityScore"
	AnomalyCount     = "AnomalyCount"
	WhaleCount       = "WhaleCount"
	SpreadAlertCount = "SpreadAlertCount"
	BatchJobSuccess  = "BatchJobSuccess"
	BatchJobFailure  = "BatchJobFailure"
)

// Limits of the embedded metric format: metrics per directive and dimensions per dimension set.
const (
	MaxMetrics    = 100
	MaxDimensions = 30
)

// Config configures a Logger. The zero value writes ctc's metrics under their default namespaces
// without dimensions, timestamped by time.Now.
type Config struct {
	// Now is the clock of _aws.Timestamp; default time.Now. Inject one for deterministic output.
	Now func() time.Time
	// QualityNamespace, AlertsNamespace and BatchNamespace override the default namespaces.
	QualityNamespace, AlertsNamespace, BatchNamespace string
	// Dimensions are on every line, before a call's own (say Service=ctc, Stage=prod). An alarm
	// must name the same dimensions to find the metric.
	Dimensions []Dimension
}

// Logger writes CloudWatch embedded-metric-format lines: one JSON object per line, which CloudWatch
// Logs turns into metrics when it receives them (from a Lambda function's stdout, or the CloudWatch
// agent). Its methods are safe for concurrent use; each line is written with one Write call.
type Logger struct {
	w   io.Writer
	cfg Config

	mu  sync.Mutex
	buf []byte
}

// New returns a logger writing to w (os.Stdout in Lambda).
func New(w io.Writer, cfg Config) (*Logger, error) {
	if w == nil {
		return nil, errors.New("emf: New needs a writer: os.Stdout in Lambda")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QualityNamespace == "" {
		cfg.QualityNamespace = QualityNamespace
	}
	if cfg.AlertsNamespace == "" {
		cfg.AlertsNamespace = AlertsNamespace
	}
	if cfg.BatchNamespace == "" {
		cfg.BatchNamespace = BatchNamespace
	}
	for _, ns := range []string{cfg.QualityNamespace, cfg.AlertsNamespace, cfg.BatchNamespace} {
		if err := checkNamespace(ns); err != nil {
			return nil, err
		}
	}
	if err := checkDimensions(cfg.Dimensions, nil); err != nil {
		return nil, err
	}
	cfg.Dimensions = append([]Dimension(nil), cfg.Dimensions...)
	return &Logger{w: w, cfg: cfg}, nil
}

func checkNamespace(ns string) error {
	if ns == "" || len(ns) > 255 || !utf8.ValidString(ns) {
		return fmt.Errorf("emf: namespace must be 1..255 UTF-8 bytes, got %q", ns)
	}
	return nil
}

// reserved are top-level member names a dimension or metric may not take.
const reserved = "_aws"

func checkDimensions(dims, more []Dimension) error {
	if n := len(dims) + len(more); n > MaxDimensions {
		return fmt.Errorf("emf: a line holds at most %d dimensions, got %d", MaxDimensions, n)
	}
	seen := map[string]bool{}
	for _, set := range [][]Dimension{dims, more} {
		for _, d := range set {
			switch {
			case d.Name == "" || len(d.Name) > 255 || !utf8.ValidString(d.Name) || d.Name == reserved:
				return fmt.Errorf("emf: dimension name must be 1..255 UTF-8 bytes and not %q, got %q", reserved, d.Name)
			case d.Value == "" || len(d.Value) > 1024 || !utf8.ValidString(d.Value):
				return fmt.Errorf("emf: dimension %s needs a value of 1..1024 UTF-8 bytes, got %q", d.Name, d.Value)
			case seen[d.Name]:
				return fmt.Errorf("emf: dimension %s given twice", d.Name)
			}
			seen[d.Name] = true
		}
	}
	return nil
}

// Emit writes the metrics under namespace, with the logger's dimensions followed by dims, as one
// line — or as several when there are more than MaxMetrics metrics, each line a valid document.
// Metric values must be finite, names unique and distinct from the dimensions' names.
func (l *Logger) Emit(namespace string, dims []Dimension, metrics ...Metric) error {
	if err := checkNamespace(namespace); err != nil {
		return err
	}
	if err := checkDimensions(l.cfg.Dimensions, dims); err != nil {
		return err
	}
	if len(metrics) == 0 {
		return errors.New("emf: Emit needs at least one metric")
	}
	names := map[string]bool{}
	for _, d := range l.cfg.Dimensions {
		names[d.Name] = true
	}
	for _, d := range dims {
		names[d.Name] = true
	}
	for _, m := range metrics {
		switch {
		case m.Name == "" || len(m.Name) > 255 || !utf8.ValidString(m.Name) || m.Name == reserved:
			return fmt.Errorf("emf: metric name must be 1..255 UTF-8 bytes and not %q, got %q", reserved, m.Name)
		case names[m.Name]:
			return fmt.Errorf("emf: %s is named twice on one line (as a metric, or as a dimension and a metric)", m.Name)
		case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
			return fmt.Errorf("emf: metric %s must be a finite number, got %v", m.Name, m.Value)
		}
		names[m.Name] = true
	}
	ts := l.cfg.Now().UnixMilli()
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(metrics) > 0 {
		n := min(len(metrics), MaxMetrics)
		l.buf = appendLine(l.buf[:0], ts, namespace, l.cfg.Dimensions, dims, metrics[:n])
		if _, err := l.w.Write(l.buf); err != nil {
			return fmt.Errorf("emf: %w", err)
		}
		metrics = metrics[n:]
	}
	return nil
}

// appendLine writes one document: the _aws metadata, then the dimension values, then the metric
// values, each group in the order given, so that the same input gives the same bytes.
func appendLine(b []byte, ts int64, ns string, base, dims []Dimension, ms []Metric) []byte {
	b = append(b, `{"_aws":{"Timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"CloudWatchMetrics":[{"Namespace":`...)
	b = ctc.AppendJSONString(b, ns)
	b = append(b, `,"Dimensions":[[`...)
	i := 0
	for _, set := range [][]Dimension{base, dims} {
		for _, d := range set {
			if i > 0 {
				b = append(b, ',')
			}
			b = ctc.AppendJSONString(b, d.Name)
			i++
		}
	}
	b = append(b, `]],"Metrics":[`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Name":`...)
		b = ctc.AppendJSONString(b, m.Name)
		if m.Unit != "" {
			b = append(b, `,"Unit":`...)
			b = ctc.AppendJSONString(b, string(m.Unit))
		}
		b = append(b, '}')
	}
	b = append(b, `]}]}`...)
	for _, set := range [][]Dimension{base, dims} {
		for _, d := range set {
			b = append(b, ',')
			b = ctc.AppendJSONString(b, d.Name)
			b = append(b, ':')
			b = ctc.AppendJSONString(b, d.Value)
		}
	}
	for _, m := range ms {
		b = append(b, ',')
		b = ctc.AppendJSONString(b, m.Name)
		b = append(b, ':')
		b = appendNumber(b, m.Value)
	}
	return append(b, '}', '\n')
}

// appendNumber writes v in its shortest exact form, integers without a fraction.
func appendNumber(b []byte, v float64) []byte {
	if v == 0 {
		return append(b, '0')
	}
	if a := math.Abs(v); a < 1e-6 || a >= 1e21 {
		return strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// Quality writes the quality counters s under the quality namespace: RecordsProcessed,
// RecordsPassed, RecordsFailed, RecordsLate, RecordsDuplicate (Count) and QualityScore (Percent).
// CloudWatch sums counts over a period, so s should hold what happened since the previous line:
// pass Since(previous, current) when the counters are a chain's running totals.
func (l *Logger) Quality(s quality.Stats, dims ...Dimension) error {
	return l.Emit(l.cfg.QualityNamespace, dims,
		Metric{RecordsProcessed, Count, float64(s.Processed)},
		Metric{RecordsPassed, Count, float64(s.Passed)},
		Metric{RecordsFailed, Count, float64(s.Failed)},
		Metric{RecordsLate, Count, float64(s.Late)},
		Metric{RecordsDuplicate, Count, float64(s.Duplicate)},
		Metric{QualityScore, Percent, s.QualityScore},
	)
}

// Since returns the counters of what happened between two readings of a chain's Stats: every
// count is cur − prev, and QualityScore is the interval's passed / processed × 100 (100 when no
// record was processed, as quality.Stats reports before the first record). A reading older than
// prev (a restarted chain) is taken whole.
func Since(prev, cur quality.Stats) quality.Stats {
	if cur.Processed < prev.Processed {
		prev = quality.Stats{}
	}
	d := quality.Stats{
		Processed: cur.Processed - prev.Processed,
		Passed:    cur.Passed - prev.Passed,
		Failed:    cur.Failed - prev.Failed,
		Duplicate: cur.Duplicate - prev.Duplicate,
		Late:      cur.Late - prev.Late,
		Warnings:  cur.Warnings - prev.Warnings,
	}
	if len(cur.FailedByReason) > 0 {
		d.FailedByReason = make(map[ctc.Reason]int64, len(cur.FailedByReason))
		for r, n := range cur.FailedByReason {
			d.FailedByReason[r] = n - prev.FailedByReason[r]
		}
	}
	d.QualityScore = 100
	if d.Processed > 0 {
		d.QualityScore = float64(d.Passed) / float64(d.Processed) * 100
	}
	return d
}

// AlertCounts counts alerts by kind.
type AlertCounts struct {
	// Anomalies counts every alert, of any type (built-in or a custom detector's).
	Anomalies int64
	// Whales and Spreads count the whale and spread alerts among them.
	Whales, Spreads int64
}

// CountAlerts counts alerts by type.
func CountAlerts(alerts []ctc.Alert) AlertCounts {
	c := AlertCounts{Anomalies: int64(len(alerts))}
	for i := range alerts {
		switch alerts[i].AlertType {
		case ctc.Whale:
			c.Whales++
		case ctc.Spread:
			c.Spreads++
		}
	}
	return c
}

// Alerts writes alert counts under the alerts namespace: AnomalyCount, WhaleCount and
// SpreadAlertCount (Count).
func (l *Logger) Alerts(c AlertCounts, dims ...Dimension) error {
	return l.Emit(l.cfg.AlertsNamespace, dims,
		Metric{AnomalyCount, Count, float64(c.Anomalies)},
		Metric{WhaleCount, Count, float64(c.Whales)},
		Metric{SpreadAlertCount, Count, float64(c.Spreads)},
	)
}

// Batch writes the alert counts of a pipeline batch (its Output.Alerts), as Alerts does.
func (l *Logger) Batch(b *ctc.Batch, dims ...Dimension) error {
	return l.Alerts(CountAlerts(b.Output.Alerts), dims...)
}

// BatchJob writes the outcome of a batch task under the batch namespace, with a Job dimension:
// BatchJobSuccess 1 and BatchJobFailure 0 when err is nil, the other way round otherwise, so that
// both metrics exist for every run and an alarm on either sees zeros rather than missing data.
func (l *Logger) BatchJob(job string, err error, dims ...Dimension) error {
	ok := 1.0
	if err != nil {
		ok = 0
	}
	return l.Emit(l.cfg.BatchNamespace, append([]Dimension{{"Job", job}}, dims...),
		Metric{BatchJobSuccess, Count, ok},
		Metric{BatchJobFailure, Count, 1 - ok},
	)
}
