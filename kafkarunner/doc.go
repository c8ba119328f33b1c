// Package kafkarunner reads trades from a Kafka topic in a consumer group and runs each partition
// through the one engine — the partrunner.Runner the Kinesis consumer and the stream Lambda use —
// with its state in a shared store and exactly-once output into every sink.
//
// # Partitions, state and exactly-once
//
// A partition is processed like a Kinesis shard: by a partrunner.Runner (shard id
// topic/partition, state key and pipeline id App/topic/partition), whose ctc.Processor state,
// last offset and last checkpoint's output live in a partrunner.StateStore — DynamoDB
// (shardrunner.DynamoStateStore) across hosts, FileStateStore across the processes of one
// machine. The state store, not Kafka's committed offsets, says where a partition is: when a
// partition is assigned its runner is restored from its state and reading starts at the offset
// after the state's last record (AdjustFetchOffsetsFn), whatever the group has committed; a
// partition with no state starts at the earliest offset (or the end, Config.StartAtEnd). The
// group's offsets are committed after each checkpoint only as a convenience, so that lag tools
// show something sensible.
//
// kafkarunner and partrunner import no AWS package: a program that keeps its states in a
// FileStateStore, or in a store of its own, links no AWS SDK; one that wants them in DynamoDB
// imports shardrunner for DynamoStateStore.
//
// A checkpoint is write-ahead, as the Kinesis runner's: the new state is saved together with the
// output it implies (the checkpoint's trades, alerts, aggregates and dead letters) and only then
// are the sinks written and committed under the checkpoint's sequence number. Exactly-once
// output per partition follows from four facts:
//
//   - Nothing reaches a sink before the state that implies it is saved, so a crash before the
//     save loses only work that the next owner redoes from the saved state — the same records
//     through the same deterministic engine, giving the same output.
//   - A crash after the save and before (or during) the sinks' commit leaves the output in the
//     state: the next Open of the partition writes and commits it again, which the sinks
//     recognise — the Iceberg sink skips a checkpoint sequence it has committed for the pipeline,
//     the alert stores are idempotent on alert_id (a deterministic UUIDv5), so repeating a commit
//     is harmless.
//   - Records delivered again (Kafka redelivers from wherever the consumer seeks, and a new owner
//     may see records the state already holds) are skipped: the runner ignores offsets at or
//     before its state's last one.
//   - Saves are conditional on the state's version (partrunner.ErrConflict otherwise), so two
//     members can never both advance a partition. A member that lost a partition in a rebalance
//     without noticing (paused past its session timeout, partitioned away) can save at most one
//     checkpoint, and only before the new owner's first save: the new owner's save then fails with
//     ErrConflict, and it reopens the partition from the state the old owner saved (committing
//     that checkpoint's output again, harmlessly) and seeks to its offset. Whichever order the two
//     saves take, each checkpoint's output is committed under one sequence number, by one state
//     lineage.
//
// Kafka transactions would make only Kafka outputs atomic; the sinks here are Iceberg tables and
// alert stores, so the state store and idempotent commits are what carry the guarantee, exactly
// as on Kinesis.
//
// # Rebalancing
//
// The group uses the cooperative-sticky balancer: a rebalance moves only the partitions that
// change owner, and the others keep processing. The client blocks rebalances while a poll's
// records are processed (BlockRebalanceOnPoll), so a partition is never revoked in the middle of
// a batch: OnPartitionsRevoked checkpoints the revoked partitions (save, then commit the sinks),
// commits their offsets and drops them; OnPartitionsLost (the session ended: another member may
// already hold them) drops them without a checkpoint; OnPartitionsAssigned opens the new ones. A
// checkpoint that fails for another reason than a conflict stops Run with the error, without
// touching the store further: the next owner restores the partitions from their last states.
//
// # Adding partitions
//
// Kafka puts a key on partition murmur2(key) mod count. Adding partitions to the topic therefore
// moves most instruments to another partition, away from their open windows, their volume
// history and their dedup memory, which stay in the old partition's state: their windows would
// restart empty on the new partition and a trade seen before could pass dedup again. The consumer
// records the topic's partition count beside the states (key App/topic) and, when a partition is
// assigned, compares it with the count the brokers report. A different count stops Run with an
// error wrapping ErrRepartitioned that says so, unless Config.AcceptRepartition is set, which
// records the new count and goes on with that discontinuity (EventRepartitioned). To change the
// partition count without a discontinuity, create a new topic with the new count, produce to
// both during a window-length overlap, and start a consumer with a new App on the new topic.
//
// # Concurrency
//
// Run owns its goroutine and the kgo client's; it returns after the final checkpoints (within
// Config.Grace) and after leaving the group. Partitions are processed one poll at a time by Run's
// goroutine; kgo's group callbacks, which open, checkpoint and drop partitions, never run while
// a poll's records are processed. Stats may be called from any goroutine. Partitions, the part
// that does not talk to Kafka, is not safe for concurrent use.
//
// # Time
//
// Processing never reads the wall clock: event time comes from the trades, and a window fires
// when later trades of its partition move the watermark past it. Only the checkpoint interval
// reads a clock (Config.Now).
package kafkarunner
