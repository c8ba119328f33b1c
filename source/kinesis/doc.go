// Package kinesis reads trades from an Amazon Kinesis data stream and processes them shard by
// shard, with the state of every shard kept where any host can pick it up.
//
// # Shards, state and exactly-once
//
// A Runner processes one shard: its records go, in shard order, through ctc.Processors restored
// from the shard's ShardState, and a checkpoint saves the new state — together with the output
// it produced — before writing and committing the sinks. A host that dies between the two leaves
// the output in the state, and the next Open commits it again, which the sinks recognise (the
// Iceberg sink skips a checkpoint sequence it has committed; the alert stores are idempotent on
// alert_id). Records delivered again are skipped by sequence number. Saves are conditional on the
// state's version, so a host that lost a shard to another cannot overwrite its progress.
//
// The consumer (adapters/consumer) and the stream Lambda (adapters/lambda/stream) both run
// shards through Runners with the same configuration, which is why they emit the same alerts for
// the same records however the records are batched.
//
// # Resharding
//
// After SplitShard or MergeShards a child starts only when its parents are finished, from their
// states: of each hash-key range of its parents it keeps the part inside its own range, and routes
// each record by the MD5 hash of its partition key. Trades are written under their instrument
// (Instrument: BTC-USDT and BTC-USD both → BTC), so a key's windows continue in the child exactly
// where the parent left them, and both exchanges of an instrument stay on one shard for the
// spread detector.
//
// # Time
//
// Processing never reads the wall clock: event time comes from the trades, and a window fires
// when later trades of its shard move the watermark past it. A shard that goes quiet holds its
// open windows until it gets records again.
package kinesis
