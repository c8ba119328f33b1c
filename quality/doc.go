// Package quality is the validation chain of ctc (DESIGN §5): it decides, for every record a
// source hands over, whether the trade goes on to the detectors, is dropped as a duplicate, or goes
// to the dead letters, and it counts what it decided.
//
// # The chain
//
// Chain implements ctc.Checker. Check runs these steps, in this order, and stops at the first
// that fails:
//
//  1. source error: a record whose source could not decode it (rec.Err) is malformed.
//  2. schema: rec.Data must be one JSON object, nothing after it but whitespace. Else malformed.
//  3. completeness: event_id, exchange, symbol, price, quantity and timestamp must be present, not
//     null and not "". The nil UUID and the zero time (0001-01-01T00:00:00Z) count as missing,
//     as they do in a ctc.Trade. Else incomplete. For records a source decoded itself
//     (rec.Decoded): a zero EventID, an empty Exchange or Symbol, a zero Timestamp.
//  4. validity: else invalid. The values are checked in this order, and the detail names the first
//     fault: price and quantity finite numbers > 0 (a number in a JSON string is not a number);
//     event_id a UUID in its 36-character form (either case); timestamp RFC 3339 with a zone (any
//     offset, normalised to UTC, fractions of any length, truncated to nanoseconds), within years
//     0001 to 9999 once in UTC; side "buy" or "sell" (it is required); exchange
//     one of Config.Exchanges; symbol BASE-QUOTE (uppercase letters and digits on both sides of one
//     '-') and, when Config.Symbols is set, one of them; quote_volume, when present and not null, a
//     finite number > 0; ingestion_timestamp, when present and not null, as timestamp (the zero
//     time means unknown, as null does); and price × quantity a finite number > 0, so that no
//     infinity reaches a detector.
//  5. uniqueness: a duplicate event_id (see below) is dropped: Status Duplicate, counted, not a
//     dead letter.
//  6. timeliness: ingestion_timestamp more than Config.MaxIngestDelay after timestamp sets
//     Verdict.Late; the trade still passes.
//  7. consistency: |quote_volume − price × quantity| > Config.Tolerance × price × quantity sets
//     Verdict.Warning; the trade still passes. A missing quote_volume is set to price × quantity.
//
// Malformed, incomplete and invalid records fail (Status Fail) with ctc.Malformed,
// ctc.Incomplete or ctc.Invalid as the Reason, and a Detail that says what to fix, such as
// `price must be a finite number > 0, got "abc" (a string)` or `missing field quantity`.
//
// # Dedup
//
// An event_id is a duplicate iff a trade with that id passed before and the event time it was
// remembered with is >= M − DedupWindow, where M is the greatest event time of the trades that
// passed so far. The window runs on event time only, never on the wall clock, so replays give the
// same verdicts. An id remembered with a time before M − DedupWindow may pass again, and is then
// remembered with its new time; a trade older than M − DedupWindow passes without being
// remembered, since it could never make a duplicate. Memory is bounded: ids are kept in buckets of
// about 1/60 of the window (at least a second) and whole buckets are forgotten as M advances, so
// the chain remembers at most the ids of one window plus one bucket, however long the stream, and
// allocates nothing once its tables have grown to the window's size.
//
// # Counters
//
// Stats counts processed (every record checked), failed (and failed by reason), duplicate,
// passed = processed − failed − duplicate, late and warnings (among the passed), and
// quality_score = passed / processed × 100 (100 before the first record). Stats marshals to JSON
// with the same bytes for the same counters.
//
// Snapshot and Restore save and restore the counters and the dedup memory (ctc.Snapshotter), so
// that a chain restored from a checkpoint decides exactly as the uninterrupted one would.
//
// # Decoding
//
// Decode is the schema, completeness and validity part of the chain on its own: a hand-written
// single-pass decoder for the unified trade JSON that accepts exactly the JSON encoding/json
// accepts (any key order, whitespace, unknown keys with any value, escapes, duplicate keys where
// the last wins) and allocates nothing for the usual record.
//
// # Concurrency
//
// Decode is safe for concurrent use. A Chain is not: it is meant to sit in one pipeline, which
// calls it from one goroutine. Nothing in this package starts a goroutine or reads the clock.
package quality
