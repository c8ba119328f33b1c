// Package shardrunner reads trades from an Amazon Kinesis data stream and processes them shard by
// shard, with the state of every shard kept where any host can pick it up.
//
// # The engine and what shardrunner adds
//
// The per-shard engine — Runner, Config, ShardState, StateStore, MemoryStateStore, ErrConflict,
// the state encoding and the hash-key ranges — lives in package partrunner, which imports no AWS
// package and is shared with the Kafka consumer (kafkarunner). shardrunner names them too (type
// aliases and wrappers: the same types and error values, so errors.Is and existing code keep
// working) and adds what is Kinesis and DynamoDB: the Consumer with its lease table, and
// DynamoStateStore, the shard states in DynamoDB and S3. A program that does not read Kinesis
// imports partrunner, and links no AWS SDK unless it also wants DynamoStateStore.
//
// # Shards, state and exactly-once
//
// A Runner processes one shard: its records go, in shard order, through ctc.Processors restored
// from the shard's ShardState, and a checkpoint saves the new state — together with the output
// it produced — before writing and committing the sinks; records delivered again are skipped by
// sequence number, and saves are conditional on the state's version (partrunner's documentation
// has the details).
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
// # The consumer
//
// A Consumer reads one stream in a long-running process (adapters/consumer): it lists the
// shards (ListShards, following NextToken; the listing is repeated every ShardSync and whenever a
// shard ends, to find the children of SplitShard and MergeShards), and runs one goroutine per
// shard it holds the lease of. A shard's goroutine opens a Runner, reads with GetShardIterator
// (AFTER_SEQUENCE_NUMBER the runner's last record, else TRIM_HORIZON, or LATEST for a shard with
// no parent in the listing when the consumer is configured so) and GetRecords, and checkpoints
// every CheckpointEvery, when it loses its lease and when the consumer stops. When GetRecords
// returns no next iterator the shard is closed and read to its end: the runner finishes it and
// its lease is marked finished, which lets its children be leased. A child is leased only when
// every parent still listed is finished; a parent no longer listed (trimmed) does not hold it back.
//
// # Leases
//
// Several consumer processes of one application share a stream's shards through a DynamoDB lease
// table (LeaseTable: one item per shard, lease_key App/shard-id, owner, counter). Every change is
// a write conditional on the counter its writer read. A consumer renews its leases every
// RenewEvery by raising their counters; a lease whose counter has not moved for LeaseDuration, as
// the observing consumer's own clock measures it, has expired, so no two hosts' clocks are ever
// compared. Each round a consumer counts the live owners (those holding an unexpired lease, itself
// included) and takes free, released or expired leases up to ⌈shards/owners⌉; when there are none
// and another owner holds at least two more than it does, it takes one of that owner's leases —
// one per round, so that two consumers settle on an even split instead of trading shards back and
// forth. A clean stop releases its leases, so the others take them at once; a crashed process's
// leases are taken after LeaseDuration.
//
// Leases decide who should read a shard; the state's conditional save decides who may advance it.
// A consumer that lost its lease but does not know it yet (paused, partitioned) can at most save
// one checkpoint before the new owner's next save fails with ErrConflict — and a checkpoint that
// fails with ErrConflict stops the shard's goroutine without committing anything more; it is
// restarted from the saved state if the lease is still held. Either way the sinks see each
// checkpoint once.
//
// # Pacing and errors
//
// Kinesis allows five GetRecords calls per second per shard: a shard's goroutine reads at most
// once per PollInterval (200 ms) while records come or MillisBehindLatest says the shard is
// behind, and backs off to IdlePoll (2 s) when reads come back empty. A read refused with
// ProvisionedThroughputExceededException (or another throttling error) is retried after an
// exponential back-off with jitter; an ExpiredIteratorException gets a new iterator after the
// last processed record. A Commit that fails (two consumers committing one Iceberg table
// conflict now and then) is retried CommitAttempts times, which the sinks' skip of a committed
// checkpoint sequence makes safe; a checkpoint that still fails reopens the shard from its saved
// state.
//
// # Concurrency
//
// Run owns its goroutines — one that renews and takes leases, one per shard read — and returns
// only after all of them have ended. Stats may be called from any goroutine while Run runs; the
// OnEvent and OnCheckpoint callbacks are called from Run's goroutines.
//
// # Time
//
// Processing never reads the wall clock (the consumer's leases and checkpoint intervals do, through
// ConsumerConfig.Now, and its pacing does): event time comes from the trades, and a window fires
// when later trades of its shard move the watermark past it. A shard that goes quiet holds its
// open windows until it gets records again.
package shardrunner
