// Package sink is the home of ctc's sinks and stores: each sub-package implements ctc.Sink (and
// ctc.Flusher and ctc.Closer where it buffers or holds resources) for one destination, so that
// a program imports only the destinations it writes to and their dependencies.
//
// # Sub-packages
//
//   - memory: an in-memory reference sink and alert store with fault injection. They back unit
//     tests and are the first implementations the conformance suites run against.
//   - jsonl: newline-delimited JSON files, one per record kind, in a local directory, exactly once
//     across crashes with checkpoints. The example consumer's replay output.
//   - console: one readable line per alert, for a person watching.
//   - iceberg: the lakehouse tables of DESIGN §3.3 through apache/iceberg-go, committed once per
//     checkpoint (a local SQL catalog by default, Glue and S3 by configuration).
//   - embedded: the hot alert store of DESIGN §3.4 in one local file (DynamoDB in AWS).
//
// Each lives in its own sub-package so that its dependencies stay out of programs that do not use it.
//
// # Conformance
//
// Every sink passes ctctest.TestSink, which declares through
// SinkFeatures which record kinds the sink stores and whether it deduplicates alerts or reorders
// records, and every hot alert store passes ctctest.TestAlertStore. A new sink should run them
// from its own tests before anything else.
//
// # Concurrency
//
// The pipeline calls Write, Flush and Close from one goroutine, and reuses the batch it passes as
// soon as Write returns: a sink copies what it keeps. The memory and jsonl sinks also serialise
// concurrent calls, so that a test may read a memory sink's contents while a pipeline writes to it.
package sink
