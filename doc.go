// Package ctc (Coat Tail Capital) watches crypto markets trade by trade and raises an alert the
// moment large money moves: a whale trade, a volume spike, a price gap between exchanges.
//
// This package is the vocabulary: the unified [Trade], the [Alert] and the aggregate records,
// the [Source], [Detector] and [Sink] interfaces, and the [Pipeline] that runs
//
//	Source → quality (Checker) → Detectors → Sinks
//
// Everything else is in sub-packages that depend on this one and never the other way round:
// window (event-time windows), quality (the validation chain), detect (the built-in detectors),
// source/... (feeds), sink/... (stores), ctctest (conformance suites and detector laws).
// Importing ctc and detect pulls in no cloud SDK, no Iceberg and no WebSocket library.
//
// # A complete program
//
// Replay a file of trades through the standard chain and the three built-in detectors, writing
// alerts and aggregates as NDJSON:
//
//	src, err := replay.Open("trades.ndjson")
//	if err != nil { ... }
//	chain, _ := quality.New(quality.Config{})
//	out, _ := jsonl.New("out")
//	p, err := ctc.NewPipeline(src,
//		ctc.WithChecker(chain),
//		ctc.WithDetectors(detect.Defaults()...),
//		ctc.WithSinks(out))
//	if err != nil { ... }
//	if err := p.Run(ctx); err != nil { ... }
//	_ = out.Close(ctx)
//
// examples/consumer is this program with flags; examples/customdetector adds a detector of its own.
//
// # Event time
//
// Detectors never read the wall clock. Windows are tumbling and aligned to the Unix epoch; each
// detector's watermark is the newest trade time it has seen minus its allowed lateness; a window
// fires once, when the watermark reaches its end; a trade for a window that has fired is late:
// counted and handed to the late output, never re-firing it. A bounded source ends with a final
// watermark of +∞ ([EndOfTime]), so every window fires. The same input therefore gives the same
// alerts, byte for byte, and alert ids ([NewAlertID]) are derived from what the alert is about,
// which makes restarts and reprocessing idempotent.
//
// A live pipeline ([WithClock]) stamps alerts with processing time ([Alert].EmittedAt) and, with
// [WithIdleTimeout], lets event time advance with the clock when its source goes quiet.
//
// # Writing a detector
//
// Implement [Detector]: Observe appends what a trade makes ready to the [Output], Advance fires
// what an event time closes. Implement [Snapshotter] too so the state survives checkpoints and
// Lambda invocations. ctctest.TestDetector checks the laws every detector must obey (reordering
// within lateness, snapshot and restore, batch splits, equality with a batch oracle).
//
// # Optional interfaces
//
// Components grow by optional interfaces, found by type assertion:
//
//   - [Snapshotter]: detectors (and the quality chain) whose state can be saved and restored;
//   - [Flusher]: sinks that buffer; the pipeline flushes them at checkpoints and at the end;
//   - [Closer]: sources and sinks that hold resources.
//
// # Concurrency
//
// [Pipeline.Run] blocks until its source ends or its context is done. A bounded pipeline runs
// entirely on the caller's goroutine. A live one (WithClock) also reads its source on one
// goroutine of its own, which has ended before Run returns. Detectors, checkers and sinks are
// called from one goroutine at a time and need no locking of their own for the pipeline's sake.
package ctc
