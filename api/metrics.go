package api

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
)

// apiMetrics are the API's own metrics, labelled by route pattern (never the raw path, so that
// clients cannot grow the label set) and status code.
type apiMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newAPIMetrics(reg prometheus.Registerer) (*apiMetrics, error) {
	m := &apiMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ctc_api_requests_total",
			Help: "HTTP requests served by the ctc API, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ctc_api_request_duration_seconds",
			Help:    "Time to serve a ctc API request, by route pattern and status code.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "code"}),
	}
	var err error
	if m.requests, err = register(reg, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(reg, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under its name (two
// handlers sharing one registry share the metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("api: registering metrics: %w", err)
}

// codes holds the label strings of the status codes the API writes, so that a request does not
// format its code.
var codes = func() map[int]string {
	m := make(map[int]string)
	for c := 100; c < 600; c++ {
		m[c] = strconv.Itoa(c)
	}
	return m
}()

func (m *apiMetrics) observe(route string, code int, d time.Duration) {
	c, ok := codes[code]
	if !ok {
		c = strconv.Itoa(code)
	}
	m.requests.WithLabelValues(route, c).Inc()
	m.duration.WithLabelValues(route, c).Observe(d.Seconds())
}

// NewCollector exports a pipeline's and a quality chain's counters as Prometheus metrics:
//
//	ctc_pipeline_records_total        records read from the source
//	ctc_pipeline_trades_total         trades that passed quality and reached the detectors
//	ctc_pipeline_dead_letters_total   records sent to the dead letters
//	ctc_pipeline_duplicates_total     duplicates dropped
//	ctc_pipeline_late_total           late records, summed over detectors
//	ctc_pipeline_alerts_total         alerts raised
//	ctc_pipeline_batches_total        batches written to the sinks
//	ctc_pipeline_flushes_total        sink flushes
//	ctc_quality_processed_total       records checked
//	ctc_quality_passed_total          records that passed
//	ctc_quality_failed_total{reason}  dead letters by reason (malformed, incomplete, invalid)
//	ctc_quality_duplicate_total       duplicates
//	ctc_quality_late_total            passed trades flagged late
//	ctc_quality_warnings_total        passed trades flagged inconsistent
//	ctc_quality_score_ratio           passed / processed, 0–1 (1 before any record): the API's and
//	                                  the tables' quality_score (DESIGN's 0–100) divided by 100
//
// Either func may be nil, and its metrics are then left out. The funcs are called at every
// scrape, on the scraping goroutine, concurrently with a running pipeline, so they must be safe
// for that: ctc.Pipeline.Stats and quality.Chain.Stats are, so pass the method values
//
//	reg.MustRegister(api.NewCollector(pipeline.Stats, chain.Stats))
//
// and register the collector on the registry that Config.Registerer names to serve it at
// /prometheus.
func NewCollector(pipeline func() ctc.Stats, quality func() quality.Stats) prometheus.Collector {
	return &collector{pipeline: pipeline, quality: quality}
}

type collector struct {
	pipeline func() ctc.Stats
	quality  func() quality.Stats
}

func counterDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descRecords     = counterDesc("ctc_pipeline_records_total", "Records read from the source.")
	descTrades      = counterDesc("ctc_pipeline_trades_total", "Trades that passed quality and reached the detectors.")
	descDeadLetters = counterDesc("ctc_pipeline_dead_letters_total", "Records sent to the dead letters.")
	descDuplicates  = counterDesc("ctc_pipeline_duplicates_total", "Duplicate records dropped.")
	descLate        = counterDesc("ctc_pipeline_late_total", "Late records, summed over detectors.")
	descAlerts      = counterDesc("ctc_pipeline_alerts_total", "Alerts raised by the detectors.")
	descBatches     = counterDesc("ctc_pipeline_batches_total", "Batches written to the sinks.")
	descFlushes     = counterDesc("ctc_pipeline_flushes_total", "Sink flushes (checkpoints and end of input).")

	descQProcessed = counterDesc("ctc_quality_processed_total", "Records checked by the quality chain.")
	descQPassed    = counterDesc("ctc_quality_passed_total", "Records that passed the quality chain.")
	descQFailed    = counterDesc("ctc_quality_failed_total", "Records that failed the quality chain, by dead-letter reason.", "reason")
	descQDuplicate = counterDesc("ctc_quality_duplicate_total", "Duplicate records found by the quality chain.")
	descQLate      = counterDesc("ctc_quality_late_total", "Passed trades flagged late (ingested long after they happened).")
	descQWarnings  = counterDesc("ctc_quality_warnings_total", "Passed trades flagged inconsistent (quote volume ≠ price × quantity).")
	descQScore     = prometheus.NewDesc("ctc_quality_score_ratio", "Quality score as a ratio: passed / processed, 0–1 (1 before any record).", nil, nil)
)

// reasons are always exported, zero or not, so that a rate over them never starts from nothing.
var reasons = []ctc.Reason{ctc.Malformed, ctc.Incomplete, ctc.Invalid}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	if c.pipeline != nil {
		for _, d := range []*prometheus.Desc{descRecords, descTrades, descDeadLetters, descDuplicates,
			descLate, descAlerts, descBatches, descFlushes} {
			ch <- d
		}
	}
	if c.quality != nil {
		for _, d := range []*prometheus.Desc{descQProcessed, descQPassed, descQFailed, descQDuplicate,
			descQLate, descQWarnings, descQScore} {
			ch <- d
		}
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	if c.pipeline != nil {
		s := c.pipeline()
		counter(descRecords, s.Records)
		counter(descTrades, s.Trades)
		counter(descDeadLetters, s.DeadLetters)
		counter(descDuplicates, s.Duplicates)
		counter(descLate, s.Late)
		counter(descAlerts, s.Alerts)
		counter(descBatches, s.Batches)
		counter(descFlushes, s.Flushes)
	}
	if c.quality != nil {
		s := c.quality()
		counter(descQProcessed, s.Processed)
		counter(descQPassed, s.Passed)
		rs := slices.Clone(reasons)
		for r := range s.FailedByReason {
			if !slices.Contains(rs, r) {
				rs = append(rs, r)
			}
		}
		for _, r := range rs {
			counter(descQFailed, s.FailedByReason[r], string(r))
		}
		counter(descQDuplicate, s.Duplicate)
		counter(descQLate, s.Late)
		counter(descQWarnings, s.Warnings)
		ch <- prometheus.MustNewConstMetric(descQScore, prometheus.GaugeValue, scoreRatio(s))
	}
}

// SinkObserver is a ctc.Observer that exports sink calls as Prometheus metrics:
//
//	ctc_sink_call_duration_seconds{sink,op}  histogram of call durations
//	ctc_sink_call_errors_total{sink,op}      failed calls
//
// Pass it to the pipeline with ctc.WithObserver.
type SinkObserver struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

var _ ctc.Observer = (*SinkObserver)(nil)

// NewSinkObserver registers the sink metrics on reg.
func NewSinkObserver(reg prometheus.Registerer) (*SinkObserver, error) {
	o := &SinkObserver{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ctc_sink_call_duration_seconds",
			Help:    "How long the pipeline's calls into each sink took, by operation (write, flush, commit).",
			Buckets: []float64{.0001, .0005, .001, .005, .01, .05, .1, .5, 1, 5, 30},
		}, []string{"sink", "op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ctc_sink_call_errors_total",
			Help: "Sink calls that failed, by operation.",
		}, []string{"sink", "op"}),
	}
	for _, c := range []prometheus.Collector{o.duration, o.errors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// SinkCall implements ctc.Observer.
func (o *SinkObserver) SinkCall(sink, op string, d time.Duration, err error) {
	o.duration.WithLabelValues(sink, op).Observe(d.Seconds())
	if err != nil {
		o.errors.WithLabelValues(sink, op).Inc()
	}
}

// scoreRatio is the quality score as a 0–1 ratio, computed from the counts rather than by
// dividing the 0–100 score, so that 994 of 1000 is 0.994 exactly as printed.
func scoreRatio(s quality.Stats) float64 {
	if s.Processed == 0 {
		return 1
	}
	return float64(s.Passed) / float64(s.Processed)
}
