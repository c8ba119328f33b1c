// Package kafka puts unified trades on an Apache Kafka topic (Amazon MSK, Redpanda, Confluent,
// any broker speaking the Kafka protocol), with github.com/twmb/franz-go: the Kafka twin of
// sink/kinesis. Its Producer is a ctc.Sink, so a producer program is the pipeline
//
//	source → quality chain → kafka.Producer
//
// whose trades go to the trade topic (default coattail-trades) as the JSON of
// ctc.Trade.AppendJSON, and whose dead letters go to the DLQ topic (default coattail-trades-dlq).
// Package kafkarunner reads the trade topic back through the one engine.
//
// # Keys and partitions
//
// A trade's record key is its instrument, Key(symbol) or Config.Instruments.Of — the rule of the
// Kinesis partition key: BTC-USDT and BTC-USD are both BTC. ClientOptions partition by the Java
// client's murmur2 hash of the key, so every producer of the topic, in any language, puts both
// exchanges of an instrument on one partition, and the spread join stays within a partition.
// Adding partitions to the topic moves keys between partitions; kafkarunner refuses that unless
// told to accept it (see its documentation).
//
// # Batching, linger and delivery
//
// Write hands each record to the client and returns; the client gathers records into one batch per
// partition, which it sends when it reaches ProducerBatchMaxBytes (ClientOptions: 1 MiB) or has
// waited ProducerLinger (ClientOptions: 5 ms) — a few milliseconds of latency buy batches of
// hundreds of trades. Flush (ctc.Flusher) waits until every record is acknowledged and reports the
// first that failed; a pipeline flushes at each checkpoint, so a checkpoint never counts a trade
// the broker does not hold. Acks come from all in-sync replicas, and the producer is idempotent
// (kgo's default, kept): a batch retried after a lost acknowledgement is written once and in order,
// so retries neither duplicate nor reorder a key's trades. The client retries retriable errors
// (leader moves, NOT_ENOUGH_REPLICAS, timeouts) until its record delivery timeout; a record it
// gives up on is counted in Stats.Dropped and reported by the next Flush. Kafka transactions are
// not used: they would make Kafka outputs atomic but nothing else, and the consumer's exactly-once
// comes from its state store and idempotent sinks instead.
//
// # The DLQ topic
//
// A dead letter is one record: the original bytes as the value (at most MaxDeadLetterBytes, a
// prefix beyond, its full length in the ctc-data-bytes header), keyed by reason, with headers
// ctc-reason, ctc-detail (at most MaxDetailBytes), ctc-topic (the topic it was meant for),
// ctc-position-partition and ctc-position-offset. DeadLetterOf reads one back.
//
// # Conformance
//
// The Producer passes ctctest.TestSink for trades and dead letters, read back from the two topics
// of an in-process kfake cluster. It implements ctc.Flusher and ctc.Closer; after Close, Write
// fails with ErrClosed.
//
// # Concurrency
//
// A Producer is safe for concurrent use and starts no goroutines of its own (the kgo client runs
// its own). Records of one Write keep their order per partition; records of concurrent Writes are
// not ordered relative to each other.
package kafka
