// Package memory is the in-memory reference sink: it keeps every batch it is given, deep-copied, in
// the order written, and lets a test inject failures into Write and Flush the way franz-go's kfake
// lets a test intercept requests.
//
// It is the first sink the conformance suite (ctctest.TestSink) runs against, so that the suite
// itself is known to be right before a real sink is held to it, and it backs the unit tests of
// everything upstream of the sinks: a pipeline test writes to a memory.Sink and compares
// Contents with what it expected.
//
// A memory sink has no durability distinction: a batch counts as stored as soon as Write returns
// nil, flushed or not. Flush only counts calls (Contents.Flushes), so a test can check that a
// pipeline flushes at its checkpoints.
//
// # Concurrency
//
// Every method is safe for concurrent use; Contents may be called while another goroutine writes.
package memory
