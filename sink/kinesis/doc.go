// Package kinesis puts unified trades on an Amazon Kinesis data stream: the hop between the
// exchanges and the consumers in AWS (DESIGN §7, producer). Its Producer is a ctc.Sink, so a
// producer program is the pipeline
//
//	source → quality chain → kinesis.Producer
//
// whose trades go to the trade stream (default coattail-trades) as the JSON of ctc.Trade.AppendJSON,
// and whose dead letters go to the DLQ stream (default coattail-trades-dlq) as an Envelope with
// their reason. Producer.Put and Producer.PutRaw serve programs that hold trades or bytes already.
//
// # Batching and partitioning
//
// Records go out with PutRecords, at most 500 records and 5 MiB (partition keys + data) per request,
// in the order given. The partition key is the instrument, PartitionKey(symbol): BTC-USDT and
// BTC-USD are both BTC, so both exchanges of an instrument are on one shard and the spread join
// stays within a shard. A consumer that needs to know where a symbol lands uses the same function.
//
// # Failures
//
// Nothing is lost without a count ([Stats]):
//
//   - entries a response fails with ProvisionedThroughputExceededException, KMSThrottlingException or
//     InternalFailure, and requests refused as a whole for throughput or by a transient failure,
//     are sent again — only the failed entries, in their original order — after an exponential
//     back-off with full jitter, up to Config.MaxAttempts attempts;
//   - records that still fail, that Kinesis refuses for good (KMS key disabled, access denied), that
//     are larger than a record can be (1 MiB by default), or whose key is not a valid partition key
//     go to the DLQ stream as an Envelope (reason, error code and message, stream, the record);
//   - a call that cannot finish (its context ends, the stream does not exist, the DLQ stream fails
//     too) returns an error and counts the records it could not settle as Dropped.
//
// # Ordering
//
// A call returns only when each of its records is acknowledged by the stream or by the DLQ stream.
// Its requests go one at a time, and a request's retries finish before the next request starts, so
// a failed record is never overtaken by a later record of its key sent in a later request. Within
// one request Kinesis itself does not order: it may accept entry 7 of a key and throttle entry 3,
// which the retry then puts after 7 (the PutRecords documentation says so). Throttling is per shard,
// and all records of a key share a shard, so in practice a throttled shard refuses the rest of the
// request's entries for it as well; the detectors downstream are event-time driven and tolerate
// reordering within their allowed lateness, and dedup by event_id absorbs the rare duplicate of an
// entry Kinesis stored but reported failed. Records of concurrent calls are not ordered with
// respect to each other: a program that needs per-key order calls from one goroutine, as the
// pipeline does.
//
// # The DLQ stream
//
// Every DLQ record is one Envelope object: reason, error_code, error_message, the stream the record
// was meant for, its partition key or source position, data_bytes and the record itself (JSON
// records embedded as they are, other bytes as text or base64, oversized ones as a truncated
// prefix). ParseEnvelope gives back the original bytes, for a consumer of the DLQ or a tool that
// re-drives it.
//
// # Conformance
//
// The Producer passes ctctest.TestSink for trades and dead letters (reading them back from the two
// streams). It implements ctc.Closer, after which calls fail with ErrClosed, and not ctc.Flusher:
// Write returns only when its records are settled, so there is nothing to flush.
//
// # Concurrency
//
// A Producer is safe for concurrent use and starts no goroutines; Stats may be read at any time.
// The SDK client's own retryer still retries requests that fail as a whole before the Producer
// sees them; the Producer's attempts are on top of those.
package kinesis
