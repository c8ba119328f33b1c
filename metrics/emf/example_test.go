package emf_test

import (
	"os"
	"time"

	"github.com/coattailcapital/ctc/metrics/emf"
	"github.com/coattailcapital/ctc/quality"
)

// A Lambda function prints one line per interval; CloudWatch Logs turns it into metrics.
func Example() {
	clock := func() time.Time { return time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC) }
	l, err := emf.New(os.Stdout, emf.Config{Now: clock, Dimensions: []emf.Dimension{{Name: "Service", Value: "ctc"}}})
	if err != nil {
		panic(err)
	}
	before := quality.Stats{Processed: 1000, Passed: 990, Failed: 10, QualityScore: 99}
	after := quality.Stats{Processed: 1200, Passed: 1180, Failed: 16, Duplicate: 4, QualityScore: 98.33}
	_ = l.Quality(emf.Since(before, after))
	_ = l.Alerts(emf.AlertCounts{Anomalies: 3, Whales: 2, Spreads: 1})
	// Output:
	// {"_aws":{"Timestamp":1705312800000,"CloudWatchMetrics":[{"Namespace":"CoatTail/Quality","Dimensions":[["Service"]],"Metrics":[{"Name":"RecordsProcessed","Unit":"Count"},{"Name":"RecordsPassed","Unit":"Count"},{"Name":"RecordsFailed","Unit":"Count"},{"Name":"RecordsLate","Unit":"Count"},{"Name":"RecordsDuplicate","Unit":"Count"},{"Name":"QualityScore","Unit":"Percent"}]}]},"Service":"ctc","RecordsProcessed":200,"RecordsPassed":190,"RecordsFailed":6,"RecordsLate":0,"RecordsDuplicate":4,"QualityScore":95}
	// {"_aws":{"Timestamp":1705312800000,"CloudWatchMetrics":[{"Namespace":"CoatTail/Alerts","Dimensions":[["Service"]],"Metrics":[{"Name":"AnomalyCount","Unit":"Count"},{"Name":"WhaleCount","Unit":"Count"},{"Name":"SpreadAlertCount","Unit":"Count"}]}]},"Service":"ctc","AnomalyCount":3,"WhaleCount":2,"SpreadAlertCount":1}
}
