// Package ctctest holds the conformance suites that every implementation of a ctc interface runs
// from its own tests, so that the in-memory reference implementations and the real ones (files,
// Iceberg, DynamoDB, the embedded store) are held to one written-down contract instead of to each
// author's reading of the doc comments.
//
// # Sinks
//
// [TestSink] checks a ctc.Sink, and its ctc.Flusher and ctc.Closer when it has them: records of
// every kind it declares in [SinkFeatures] come back exactly as written (floats, millisecond
// timestamps, unicode messages, non-UTF-8 dead-letter bytes), the sink copies what it keeps because
// the pipeline reuses its batches, Flush makes writes readable, nothing is written after Close, and
// a cancelled context never leaves half a batch behind. A sink's test supplies a constructor and a
// function that reads back what the sink made durable:
//
//	func TestConformance(t *testing.T) {
//		ctctest.TestSink(t, ctctest.SinkFeatures{Alerts: true, DeadLetters: true},
//			func(t *testing.T) ctc.Sink { return mysink.New(t.TempDir()) },
//			func(t *testing.T, s ctc.Sink) *ctc.Batch { return readBack(t, s) })
//	}
//
// # Alert stores
//
// [TestAlertStore] checks a ctc.AlertStore (the embedded store, the in-memory one, DynamoDB):
// the access patterns of DESIGN §3.4 — newest first by type, by symbol, by type since a time, all —
// with Since inclusive, Limit honoured and validated, ties on detected_at broken by alert_id,
// writes idempotent on alert_id, expired alerts (ttl_epoch at or before the injected clock) never
// returned, copies kept, and concurrent queries during writes. The store gets the test's clock:
//
//	ctctest.TestAlertStore(t, ctctest.AlertStoreFeatures{},
//		func(t *testing.T, now func() time.Time) ctc.AlertStore { return memory.NewAlertStore(now) })
//
// # State stores
//
// [TestStateStore] checks a ctc.StateStore (checkpoint.Dir): a checkpoint's head, segments and
// pending output load back as saved, segments saved by an earlier state and named again without
// data included, and pipelines keep apart.
//
// # Sources
//
// [TestSource] checks a ctc.Source, and its ctc.Closer, ctc.BulkSource and ctc.Seeker when it has
// them: every record is a decoded trade, raw bytes, or bytes with why they failed; Next fills the
// record it is given whatever it held; Data may be reused from one Next to the next, but nothing
// else of a record changes once later ones are read; a bounded source ends with ErrEndOfInput
// and keeps returning it, a live one blocks until its context ends; a cancelled Next returns at
// once and loses nothing; Next after Close returns ErrClosed; offsets increase within a partition;
// opening twice gives the same records; a bulk source read ahead in chunks gives the records read
// one by one; and a Seeker resumes exactly after a position. [SourceFeatures] says whether the
// source is live and deterministic, and names the subtests it is known to fail until it is fixed:
//
//	func TestConformance(t *testing.T) {
//		ctctest.TestSource(t, ctctest.SourceFeatures{Records: 42},
//			func(t *testing.T) ctc.Source { return replay.Trades(trades) })
//	}
//
// A live source is tested against a local server that sends it Records records once it has
// subscribed: SourceFeatures{Live: true, Records: 20}.
//
// # Detectors
//
// [TestDetector] checks the laws DESIGN §8 states for any ctc.Detector, built in or user
// written: its streaming output equals a batch oracle, shuffling trades within the allowed lateness
// changes nothing, snapshot and restore mid-stream change nothing, and neither do random splits of
// the input into batches. The laws are properties run with pgregory.net/rapid over generated
// trades, so a detector author gets them for the price of one test function.
//
// # Tables
//
// [Table] models a lakehouse table for tests of a host that claims exactly-once output — a
// runner over a log of your own, a new StateStore: rows become visible at Commit, a checkpoint a
// pipeline has committed is skipped if committed again, each process writes through a sink of
// its own whose buffer a crash loses, and a Commit can be made to fail. Compare what a pipeline
// holds (Table.Committed, [Positionless]) with one plain processor run once over the records.
//
// # Using the suites
//
// The suites run their cases as subtests of the *testing.T they are given, one fresh
// implementation per subtest (TestSource opens a few, to compare what they yield), sequentially,
// so that an implementation backed by one shared server (a local DynamoDB, a warehouse directory)
// needs no isolation of its own beyond what its constructor gives each subtest.
package ctctest
