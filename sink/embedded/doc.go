// Package embedded is the local hot store: the alerts of the last 24 hours and the aggregates the
// dashboard charts, in one file, pure Go, with the queries of the DynamoDB table of DESIGN §3.4 —
// newest first by type, by symbol, by type since a time, all. It is what the example consumer and
// the API server use on a laptop; in AWS the DynamoDB store answers the same queries, and both pass
// ctctest.TestAlertStore.
//
// A Store is a small database: an append-only log of records on disk, and in memory a map per
// record kind plus sorted indexes rebuilt from the log on Open. A query is a binary search in
// the right index and a walk of Limit entries.
//
//	s, err := embedded.Open(filepath.Join(dataDir, "hot.ctc"))
//	if err != nil {
//		return err
//	}
//	defer s.Close(ctx)
//	p, err := ctc.NewPipeline(src, ctc.WithSinks(s)) // and the detectors; the pipeline writes, flushes
//	...
//	// The API server, on other goroutines:
//	alerts, err := s.QueryAlerts(ctx, ctc.AlertQuery{Type: ctc.Whale, Since: time.Now().Add(-time.Hour), Limit: 50})
//
// # What it keeps
//
// Write stores a batch's alerts (whale alerts are alerts: the whale_trades records are the lake's,
// not the hot store's), volume windows and spread windows. Each record has an identity, and a
// record written again replaces the one stored, so that a replay after a restart stores nothing
// twice: an alert is identified by its AlertID, a volume window by (symbol, exchange, window
// start), a spread window by (symbol, window start).
//
// Queries: QueryAlerts (ctc.AlertQuery: type, symbol, since, limit; newest first by DetectedAt,
// then AlertID descending), Volumes and Spreads (one symbol or all, windows starting at or after a
// time, oldest first), Symbols (every symbol with live data). Results are copies, and an empty
// result is an empty slice, not nil.
//
// # Expiry
//
// An alert expires at its TTLEpoch (DetectedAt + 24 h, set by the detectors), an aggregate at
// WindowEnd + 24 h, both in whole Unix seconds: a record is expired once TTL <= now.Unix(). The
// clock is time.Now unless WithClock gives another. Expired records are never returned, whether
// or not they have been removed; a record that arrives already expired (a replay of old input) is
// not written at all, unless it replaces a stored version, which it then removes.
//
// Removal is the janitor's: a goroutine owned by the store that wakes every
// DefaultJanitorInterval (WithJanitorInterval), drops what has expired from memory and, when
// replaced and expired records make up half the file and at least 64 KiB, compacts the file.
// Compact removes and rewrites at once, whatever the proportion. Close stops the janitor and waits
// for it.
//
// # File format
//
// The file starts with the 8-byte magic "CTCHOT\x00\x01" (the last byte is the format version),
// followed by records:
//
//	record  = length (uint32, little endian) | crc (uint32, little endian) | payload (length bytes)
//	payload = kind (1 byte: 1 alert, 2 volume window, 3 spread window) | fields
//
// crc is the CRC-32C (Castagnoli) of the payload, and a payload is at most MaxRecordSize bytes.
// Fields are written in the order of the ctc struct: strings as a uvarint length and UTF-8 bytes,
// floats as their 8 IEEE 754 bytes (exact, NaN and -0 included), integers as varints, times as a
// varint of Unix seconds and a uvarint of nanoseconds (exact, any year; the zone is not kept, and
// times come back in UTC), the alert id as its 16 bytes, the severity as one byte.
//
// A Write appends its batch's records with one write call; Flush fsyncs. Compaction writes the
// live records to path + ".compact", fsyncs it, renames it over the file and fsyncs the directory,
// so that the file is at every moment either the old log or the new one.
//
// # Recovery
//
// A crash can leave the last write cut short. Open reads the log in order and stops at the first
// record that is not intact (short, bad length, bad checksum) after which no intact record
// follows: that torn tail is cut off, durably, and counted in Stats.TornBytes. A damaged record
// that intact ones follow (pages persisted out of order, a bad sector) is skipped and counted in
// Stats.SkippedBytes, and the next compaction drops it: the hot store is a cache that the
// pipeline's replay refills, and refusing to start would help nobody. A file that is not a store,
// a newer format version, or an intact record that does not decode is an error wrapping
// ErrCorrupt, and the file is left untouched. A temporary file of an interrupted compaction is
// deleted. What Write returned successfully for survives a crash of the process; what Flush
// returned successfully for survives a crash of the machine.
//
// If a write fails, the partial write is cut off again and the batch is not stored. If fsync
// fails, the store refuses every later change (the kernel may have dropped the unsynced pages, and
// a later fsync would wrongly succeed): reopen it to continue from what reached the disk.
//
// One Store at a time may open a file: Open takes an advisory lock on path + ".lock" (on Linux,
// macOS and the BSDs; elsewhere the caller must see to it) and fails with ErrLocked otherwise.
//
// # Concurrency
//
// A Store is safe for concurrent use, and made for many readers (the HTTP API) and one writer (the
// pipeline). Queries share a read lock and copy their results out. Write encodes and appends its
// records before it takes the write lock, which it holds only to update the indexes; compaction
// blocks writers but not readers. The store owns one goroutine, the janitor, from Open to Close.
package embedded
