package api_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/coattailcapital/ctc/api"
)

func TestSinkObserverExportsDurationsAndErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	o, err := api.NewSinkObserver(reg)
	if err != nil {
		t.Fatal(err)
	}
	o.SinkCall("iceberg.Sink", "commit", 120*time.Millisecond, nil)
	o.SinkCall("iceberg.Sink", "commit", time.Second, errors.New("boom"))
	want := `
# HELP ctc_sink_call_errors_total Sink calls that failed, by operation.
# TYPE ctc_sink_call_errors_total counter
ctc_sink_call_errors_total{op="commit",sink="iceberg.Sink"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ctc_sink_call_errors_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "ctc_sink_call_duration_seconds"); n != 1 {
		t.Fatalf("want one duration series, got %d", n)
	}
	if _, err := api.NewSinkObserver(reg); err == nil {
		t.Fatal("registering twice on one registry must fail")
	}
}
