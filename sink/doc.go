// Package sink is the home of ctc's sinks and stores: each sub-package implements ctc.Sink (and
// ctc.Flusher and ctc.Closer where it buffers or holds resources) for one destination, so that
// a program imports only the destinations it writes to and their dependencies.
//
// # Sub-packages
//
//   - memory: an in-memory reference sink with fault injection. It backs unit tests and is the
//     first implementation the conformance suite runs against.
//   - jsonl: newline-delimited JSON files, one per record kind, in a local directory. The example
//     consumer's human-readable output, and a cheap way for tests to read what a run produced.
//   - iceberg, dynamodb, the embedded alert store and kinesis: the tables, the hot alert store and
//     the stream of DESIGN §3, each in its own sub-package so that its SDK stays out of programs
//     that do not use it.
//
// # Conformance
//
// Every sink passes ctctest.TestSink, which declares through
// SinkFeatures which record kinds the sink stores and whether it deduplicates alerts or reorders
// records. A new sink should run it from its own tests before anything else.
//
// # Concurrency
//
// The pipeline calls Write, Flush and Close from one goroutine, and reuses the batch it passes as
// soon as Write returns: a sink copies what it keeps. The memory and jsonl sinks also serialise
// concurrent calls, so that a test may read a memory sink's contents while a pipeline writes to it.
package sink
