// Package embedded is the local hot store: the alerts of the last 24 hours and the aggregates the
// dashboard charts, in one SQLite file, pure Go (modernc.org/sqlite), with the queries of the
// DynamoDB table of DESIGN §3.4 — newest first by type, by symbol, by type since a time, all. It
// is what the example consumer and the API server use on a laptop; in AWS the DynamoDB store
// answers the same queries, and both pass ctctest.TestAlertStore.
//
//	s, err := embedded.Open(filepath.Join(dataDir, "alerts.db"))
//	if err != nil {
//		return err // a file that is not an alert store is refused, and the error says what to do
//	}
//	defer s.Close(ctx)
//	p, err := ctc.NewPipeline(src, ctc.WithSinks(s)) // and the detectors; the pipeline writes, flushes
//	...
//	// The API server, on other goroutines (or in another process, with a Store of its own):
//	alerts, err := s.QueryAlerts(ctx, ctc.AlertQuery{Type: ctc.Whale, Since: time.Now().Add(-time.Hour), Limit: 50})
//
// # What it keeps
//
// Write stores a batch's alerts (whale alerts are alerts: the whale_trades records are the lake's,
// not the hot store's), volume windows and spread windows, in one transaction. Each record has an
// identity, and a record written again replaces the one stored, so that a replay after a restart
// stores nothing twice: a volume window is identified by (symbol, exchange, window start), a spread
// window by (symbol, window start), and an alert by its AlertID — except that an alert does not
// replace a version emitted later (EmittedAt), so that a reprocessing run's version survives a
// replay of the live run's.
//
// Queries: QueryAlerts (ctc.AlertQuery: type, symbol, since, limit; newest first by DetectedAt,
// then AlertID descending), Volumes and Spreads (one symbol or all, windows starting at or after a
// time, oldest first), Symbols (every symbol with live data). An empty result is an empty slice,
// not nil. Each is one prepared statement that walks an index in the order of its result.
//
// # Expiry
//
// An alert expires at its TTLEpoch (DetectedAt + 24 h, set by the detectors), an aggregate at
// WindowEnd + 24 h, both in whole Unix seconds: a record is expired once TTL <= now.Unix(). The
// clock is time.Now unless WithClock gives another. Expired records are never returned, whether
// or not they have been deleted; a record that arrives already expired (a replay of old input) is
// not stored, and only deletes the version it replaces, if there is one.
//
// Deleting is the janitor's: a goroutine owned by the store that wakes every
// DefaultJanitorInterval (WithJanitorInterval), deletes what has expired and, when free pages then
// make up half the file and at least 64 KiB, vacuums it (SQLite reuses free pages anyway; a
// VACUUM gives the space of a burst back). Compact deletes and vacuums at once. Close stops the
// janitor and waits for it.
//
// # The file
//
// The file is an SQLite 3 database, marked as an alert store by PRAGMA application_id
// (0x43544361, "CTCa") and versioned by PRAGMA user_version (1). Its schema, which sqlite3's
// .schema prints with these comments:
//
//	alerts             alert_id (TEXT, UUID, primary key), alert_type, symbol, exchange (TEXT),
//	                   severity (INTEGER: 1 low, 2 medium, 3 high, 4 critical), z_score,
//	                   threshold_value, actual_value (float64), window_start, detected_at (TEXT),
//	                   message (TEXT), ttl_epoch (INTEGER, Unix seconds), emitted_at (TEXT)
//	  alerts_by_time         (detected_at, alert_id)                 QueryAlerts, no filter
//	  alerts_by_type         (alert_type, detected_at, alert_id)     by type
//	  alerts_by_symbol       (symbol, detected_at, alert_id)         by symbol; Symbols
//	  alerts_by_type_symbol  (alert_type, symbol, detected_at, ...)  by type and symbol
//	  alerts_by_expiry       (ttl_epoch)                             the janitor
//	volume_aggregates  symbol, exchange, window_start, window_end, trade_count, total_volume,
//	                   avg_price, max_price, min_price, buy_volume, sell_volume, expires_at;
//	                   primary key (symbol, window_start, exchange): Volumes of a symbol; Symbols
//	  volume_aggregates_by_time    (window_start, symbol, exchange)  Volumes of all symbols
//	  volume_aggregates_by_expiry  (expires_at)                      the janitor
//	exchange_spreads   symbol, window_start, window_end, binance_vwap, coinbase_vwap, spread_pct,
//	                   expires_at; primary key (symbol, window_start): Spreads of an instrument
//	  exchange_spreads_by_time     (window_start, symbol)            Spreads of all instruments
//	  exchange_spreads_by_expiry   (expires_at)                      the janitor
//
// The column names are those of the lake's tables. Times are TEXT in RFC 3339, UTC, with exactly
// nine fractional digits (2024-03-12T14:59:00.000000000Z), as the DynamoDB store keeps them:
// fixed width makes their text order the order of time, and any time of the years 0000-9999
// comes back exactly (Write refuses others). Floats are stored as written, -0 and infinities
// included, except NaN, which SQLite stores as NULL and which comes back as NaN. expires_at is
// window_end + 24 h in Unix seconds. Strings are kept byte for byte.
//
// The sqlite3 shell opens the file, also while a Store has it open:
//
//	$ sqlite3 -readonly ctc-data/alerts.db
//	sqlite> .schema alerts
//	sqlite> SELECT detected_at, alert_type, symbol, severity, message FROM alerts
//	   ...> WHERE ttl_epoch > unixepoch() ORDER BY detected_at DESC LIMIT 20;
//	sqlite> SELECT symbol, count(*) FROM alerts GROUP BY symbol;
//
// The journal is a write-ahead log: while the store is open, alerts.db-wal and alerts.db-shm lie
// beside alerts.db, and belong to it (copy the three together, or better make a copy with
// sqlite3's .backup or VACUUM INTO); the last connection to close folds the WAL into the file and
// removes both. Readers never wait for the writer, and the writer does not wait for readers.
// Commits are made with synchronous=NORMAL: a Write that returned survives a crash of the process
// and never leaves the file damaged, but a crash of the machine may lose the last commits — unless
// Flush returned after them, since Flush checkpoints the WAL into the file and fsyncs both. That
// is what the pipeline needs (it flushes at every checkpoint, and replays from there), without an
// fsync for every batch. Several Stores, in one process or several, may open one file; SQLite
// serialises their writes, and a writer waits up to 5 s for another's lock.
//
// # Files it refuses
//
// Open and ReadFile leave a file that is not an alert store as it was, and return an error that
// wraps ErrNotStore and says what the file is and what to do: a store of the format before SQLite
// (an append-only log beginning "CTCHOT"), which this version does not read — delete it, since
// the warehouse keeps every alert and the pipeline refills the last 24 hours, or move it aside;
// another SQLite database; a store of a newer schema; anything else. A missing or empty file, or
// an SQLite database with nothing in it, becomes a new store.
//
// # Concurrency
//
// A Store is safe for concurrent use, and made for many readers (the HTTP API) and one writer (the
// pipeline). Queries run on a pool of up to 8 connections and read a consistent snapshot each;
// Write, Flush, Compact and the janitor take turns. The store owns its goroutines, the janitor and
// the connection pool's, from Open to Close.
package embedded
