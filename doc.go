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
// # One engine, two shapes
//
// [Processor] is the one per-record engine: quality ([Checker]), then the detectors, then the
// completion of alerts (ids, TTL, EmittedAt), with State and Restore to carry what it remembers
// between hosts. Every host runs it:
//
//   - laptop: a [Pipeline] is a pull loop around one Processor — replay or simulator → Pipeline →
//     NDJSON files, the local Iceberg warehouse, the embedded alert store;
//   - cloud: partrunner keeps one Processor per hash-key range of a shard in a Runner, which
//     the Kinesis consumer (shardrunner) drives from GetRecords, the stream Lambda from its
//     events and the Kafka consumer (kafkarunner) from its polls → DynamoDB alerts + Iceberg on S3.
//
// The same records therefore give the same output, byte for byte, whichever host runs them and
// however they are split into calls. Options say where they apply: an [Option] (WithChecker,
// WithDetectors, WithClock) configures the engine and is accepted by NewProcessor and NewPipeline
// alike; a [PipelineOption] (sinks, batching, flushing, idleness, checkpoints) only NewPipeline,
// so passing one to a Processor does not compile.
//
// # Checkpoints
//
// Every host checkpoints with one protocol, write-ahead:
//
//  1. Processor.State takes the state: detector snapshots, the quality chain's counters and its
//     dedup memory, the counters, under a [Checkpoint] (pipeline id, sequence, source position).
//  2. The state is saved together with the output the checkpoint covers ([State].Pending) by a
//     [StateStore] (checkpoint.Dir for files; the shard runner's stores for DynamoDB and S3).
//  3. [CommitBatch] then commits every sink under the checkpoint: Committers (Iceberg, NDJSON)
//     record it with their data and skip one they have; the alert stores are idempotent on alert
//     id.
//
// A host that dies between 2 and 3 finds the pending output in the state and commits it again,
// after resuming [Resumer] sinks at the checkpoint before; one that dies before 2 resumes from the
// previous checkpoint and reprocesses. Either way every table row and alert is committed once.
//
// A checkpoint costs what changed, not what is remembered. State that grows with event time is a
// [SegmentSnapshotter]: the quality chain writes its dedup memory (an hour of event ids) as one
// immutable [Segment] per checkpoint — the ids since the previous one, about 19 bytes each — plus
// a head of a few hundred bytes naming the live segments; a segment whose ids have all left the
// window is dropped whole, never rewritten. Stores write each segment once and delete it when no
// saved head names it; restoring reads only the live segments. A checkpoint at 1,000 trades a
// second every minute writes about 1.2 MB of state, and a restart after an hour restores in a
// quarter of a second (BenchmarkVolumeStateHour, BenchmarkVolumeRestoreHour).
//
// # Optional interfaces
//
// Components grow by optional interfaces, found by type assertion:
//
//   - [Snapshotter]: detectors (and the quality chain) whose state can be saved and restored;
//   - [SegmentSnapshotter]: parts whose state grows with time, saved by segments;
//   - [Predecoder]: checkers whose stateless steps (decoding, validation) may run ahead on
//     another goroutine; quality.Chain is one;
//   - [BulkSource]: sources that read storage and never wait for a feed, which a bounded pipeline
//     reads and decodes ahead in chunks (replay, the unpaced simulator);
//   - [TradeReader]: sinks that may not read a batch's trades, so that checkpoints need not save
//     them;
//   - [Flusher]: sinks that buffer; the pipeline flushes them at the end and, without
//     checkpoints, every flush interval;
//   - [Committer]: sinks that commit in checkpoints and recognise one they have;
//   - [Resumer]: sinks that must go back to a checkpoint before a restored pipeline writes again;
//   - [Seeker]: sources that can resume after a checkpointed position;
//   - [Closer]: sources and sinks that hold resources.
//
// # Concurrency
//
// [Pipeline.Run] blocks until its source ends or its context is done; it owns its goroutines and
// they have ended before it returns. A bounded pipeline over a BulkSource whose checker is a
// Predecoder reads and decodes its source on one goroutine of its own (when GOMAXPROCS > 1),
// handing records over in order, and runs everything else on the caller's; otherwise it runs entirely on the caller's. A
// live one (WithClock) reads its source on one goroutine of its own. Detectors, checkers (but for
// their Predecoder function) and sinks are called from one goroutine at a time and need no
// locking of their own for the pipeline's sake. A Processor is not safe for concurrent use.
package ctc
