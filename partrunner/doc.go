// Package partrunner processes one partition of an ordered log — a Kinesis shard, a Kafka
// partition, any transport that delivers records in order with a position — exactly once per
// checkpoint. It is the engine the Kinesis consumer (shardrunner.Consumer), the stream Lambda
// (shardrunner/kinesislambda) and the Kafka consumer (kafkarunner) share, which is why they emit
// the same alerts for the same records however the records are batched; it imports no AWS
// package, so a host on another transport links no cloud SDK.
//
// A host reads its log and hands the records to a Runner; where the state lives is a StateStore:
// MemoryStateStore here, shardrunner.DynamoStateStore on DynamoDB (and S3), kafkarunner's
// FileStateStore in a local directory, or one of your own.
//
// # Partitions, state and exactly-once
//
// A Runner processes one partition (a Shard): its records go, in order, through ctc.Processors
// restored from the partition's ShardState, and a checkpoint saves the new state — together with
// the output it produced — before writing and committing the sinks. A host that dies between the
// two leaves the output in the state, and the next Open commits it again, which the sinks
// recognise (the Iceberg sink skips a checkpoint sequence it has committed; the alert stores are
// idempotent on alert_id); a ctc.Resumer sink (a file written through) is first resumed at the
// last checkpoint known committed, as ctc.Pipeline resumes its sinks. Records delivered again
// are skipped by sequence number
// (CompareSequence: a Kinesis sequence number or a Kafka offset, in decimal). Saves are
// conditional on the state's version, so a host that lost a partition to another cannot
// overwrite its progress: its save fails with an error wrapping ErrConflict.
//
// # State stores
//
// A StateStore keeps a ShardState under the key App/shard-id (Config.Key). Save is conditional
// on the stored version. State that grows with time is kept in segments written once:
// SplitState separates a state's head from the segments new since the previous save, JoinState
// fills a loaded head with its segments' data, EncodeState and DecodeState encode the head, and
// StaleSegments names what a save may delete — the pieces a store of your own needs.
//
// # Resharding
//
// A Kinesis shard covers a range of hash keys (HashRange; FullRange for a log that does not
// split its partitions, such as Kafka). After SplitShard or MergeShards a child starts only when
// its parents are finished (Runner.Finish), from their states: of each hash-key range of its
// parents it keeps the part inside its own range, and routes each record by the MD5 hash of its
// partition key (HashOf). Trades are written under their instrument (Instrument: BTC-USDT and
// BTC-USD both → BTC), so a key's windows continue in the child exactly where the parent left
// them, and both exchanges of an instrument stay on one partition for the spread detector.
//
// # A complete program
//
//	store := &partrunner.MemoryStateStore{}
//	cfg := &partrunner.Config{
//		App:          "alerts",
//		Store:        store,
//		NewProcessor: partrunner.Processors(quality.Config{}, detect.DefaultThresholds(), nil),
//		Sinks:        []ctc.Sink{mySink},
//	}
//	r, err := partrunner.Open(ctx, cfg, partrunner.Shard{ID: "topic/0", Range: partrunner.FullRange})
//	if err != nil {
//		return err
//	}
//	for batch := range myLog.From(r.Sequence()) { // after the last record processed
//		r.Process(batch)
//		if err := r.Checkpoint(ctx); err != nil { // ErrConflict: another host owns it now
//			return err
//		}
//	}
//
// # Concurrency
//
// A Runner owns no goroutine and is not safe for concurrent use: a host runs each partition's
// Runner from one goroutine at a time. Runners of different partitions may share a StateStore
// (MemoryStateStore is safe for concurrent use, as the stores of shardrunner and kafkarunner are)
// and sinks that write through and are safe for concurrent use.
//
// # Time
//
// Processing never reads the wall clock: event time comes from the trades, and a window fires
// when later trades of its partition move the watermark past it. A partition that goes quiet
// holds its open windows until it gets records again.
package partrunner
