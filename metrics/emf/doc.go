// Package emf writes ctc's metrics as CloudWatch embedded metric format (EMF) log lines: one JSON
// object per line, which CloudWatch Logs turns into metrics when a Lambda function prints it to
// stdout (or the CloudWatch agent forwards it). No CloudWatch API call, no SDK: metrics cost a
// log line.
//
// # Metrics
//
//	namespace          metric            unit     helper
//	CoatTail/Quality   RecordsProcessed  Count    Logger.Quality (quality.Stats)
//	                   RecordsPassed     Count
//	                   RecordsFailed     Count
//	                   RecordsLate       Count
//	                   RecordsDuplicate  Count
//	                   QualityScore      Percent
//	CoatTail/Alerts    AnomalyCount      Count    Logger.Alerts, Logger.Batch (every alert)
//	                   WhaleCount        Count    (whale alerts)
//	                   SpreadAlertCount  Count    (spread alerts)
//	CoatTail/Batch     BatchJobSuccess   Count    Logger.BatchJob (dimension Job)
//	                   BatchJobFailure   Count
//
// The namespaces are configurable (Config), and Logger.Emit writes any metrics. CloudWatch sums
// counts over a period, so each line should carry what happened since the previous one: Since
// turns two readings of a chain's running counters into the interval's counters and score. The
// seed's alarm (quality score below 95 % for 5 minutes) reads the Average of QualityScore in the
// quality namespace with the dimensions the logger was configured with — none by default.
//
// # A line
//
//	{"_aws":{"Timestamp":1705312800000,"CloudWatchMetrics":[{"Namespace":"CoatTail/Alerts",
//	"Dimensions":[["Service"]],"Metrics":[{"Name":"AnomalyCount","Unit":"Count"},...]}]},
//	"Service":"ctc","AnomalyCount":3,...}
//
// (one line in reality). _aws.Timestamp is milliseconds since the epoch from Config.Now, so output
// is deterministic under an injected clock; dimension values and metric values are top-level
// members, in the order given, so the same calls give the same bytes. A line holds one dimension
// set of at most 30 dimensions (the logger's, then the call's; an empty set when there are none,
// which publishes the metrics without dimensions) and at most 100 metrics: Emit splits more over
// several lines.
//
// # Concurrency
//
// A Logger is safe for concurrent use: each line is one Write on the writer, under a lock. It starts
// no goroutines.
package emf
