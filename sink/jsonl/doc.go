// Package jsonl writes a pipeline's output as newline-delimited JSON, one file per record kind, in
// one directory: the example consumer's output that a person can read with grep and jq, and that a
// test can read back with Read.
//
// # Files
//
//	alerts.ndjson             every alert (ctc.Alert.AppendJSON)
//	volume_aggregates.ndjson  every closed volume window
//	exchange_spreads.ndjson   every joined spread window
//	whale_trades.ndjson       every whale alert with its trade, flat
//	late.ndjson               trades that arrived after their window fired, with the detector
//	dlq.ndjson                dead letters, with the original bytes
//	raw_trades.ndjson         every valid trade; only with WithTrades, since it is the bulk
//
// Each line is one JSON object, in the order written, encoded by the root package's AppendJSON
// methods: the field names of DESIGN §3, timestamps in RFC 3339 UTC with milliseconds, floats in
// their shortest exact form. The same input therefore gives the same bytes, so two runs can be
// compared with diff.
//
// # Durability
//
// Write encodes into large buffers and touches the disk only when one fills; Flush writes the
// buffers out and fsyncs the files, so what was written before a successful Flush survives a crash.
// The pipeline calls Flush at each checkpoint. A Sink opened WithAppend after a crash drops a
// final line torn by the crash and appends after it; the records written after the last checkpoint
// are written again, since the source resumes from there (at-least-once), and alerts can be
// deduplicated by alert_id.
//
// # Concurrency
//
// A Sink's methods may be called from several goroutines (they take turns on one lock), though the
// pipeline calls them from one. A Sink starts no goroutines.
package jsonl
