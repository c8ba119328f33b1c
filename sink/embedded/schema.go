package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
)

// schemaVersion is the PRAGMA user_version of the schema below. A file of a higher version was
// written by a newer ctc and is refused rather than misread.
const schemaVersion = 1

// applicationID is the PRAGMA application_id that marks an SQLite file as a ctc alert store
// ("CTCa"), so that Open tells its own files from other SQLite databases.
const applicationID = 0x43544361

// busyTimeout is how long a statement waits for another connection's write lock (the janitor's,
// a second Store's, a sqlite3 shell's) before it fails with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// The schema. Times are TEXT in RFC 3339, UTC, with exactly nine fractional digits: fixed width
// makes their text order the order of time, which the indexes rely on, and nanoseconds make any
// time.Time of the years 0000-9999 round-trip. Floats have no declared type, so that SQLite
// keeps them as written (a REAL column would store -0 as the integer 0); NaN, which SQLite cannot
// hold, is NULL. The comments stay in the file: sqlite3's .schema shows them.
var schema = []string{
	`CREATE TABLE alerts (
	alert_id        TEXT    NOT NULL PRIMARY KEY, -- UUID, lower-case text form
	alert_type      TEXT    NOT NULL,             -- volume_spike, whale, spread or a user detector's
	symbol          TEXT    NOT NULL,
	exchange        TEXT    NOT NULL,
	severity        INTEGER NOT NULL,             -- 1 low, 2 medium, 3 high, 4 critical
	z_score,                                      -- float64; NULL is NaN
	threshold_value,                              -- float64; NULL is NaN
	actual_value,                                 -- float64; NULL is NaN
	window_start    TEXT    NOT NULL,             -- RFC 3339 UTC, 9 fractional digits
	detected_at     TEXT    NOT NULL,             -- RFC 3339 UTC, 9 fractional digits
	message         TEXT    NOT NULL,
	ttl_epoch       INTEGER NOT NULL,             -- Unix seconds; expired once <= now
	emitted_at      TEXT    NOT NULL              -- RFC 3339 UTC; the later version of an alert wins
)`,
	// Newest first: all, by type, by symbol, by both. alert_id breaks ties on detected_at.
	`CREATE INDEX alerts_by_time ON alerts (detected_at, alert_id)`,
	`CREATE INDEX alerts_by_type ON alerts (alert_type, detected_at, alert_id)`,
	`CREATE INDEX alerts_by_symbol ON alerts (symbol, detected_at, alert_id)`,
	`CREATE INDEX alerts_by_type_symbol ON alerts (alert_type, symbol, detected_at, alert_id)`,
	`CREATE INDEX alerts_by_expiry ON alerts (ttl_epoch)`,

	`CREATE TABLE volume_aggregates (
	symbol       TEXT    NOT NULL,
	exchange     TEXT    NOT NULL,
	window_start TEXT    NOT NULL, -- RFC 3339 UTC, 9 fractional digits
	window_end   TEXT    NOT NULL,
	trade_count  INTEGER NOT NULL,
	total_volume,                  -- float64 (quote volume); NULL is NaN
	avg_price,
	max_price,
	min_price,
	buy_volume,
	sell_volume,
	expires_at   INTEGER NOT NULL, -- window_end + 24 h in Unix seconds; expired once <= now
	PRIMARY KEY (symbol, window_start, exchange)
)`,
	`CREATE INDEX volume_aggregates_by_time ON volume_aggregates (window_start, symbol, exchange)`,
	`CREATE INDEX volume_aggregates_by_expiry ON volume_aggregates (expires_at)`,

	`CREATE TABLE exchange_spreads (
	symbol        TEXT    NOT NULL, -- the instrument, e.g. BTC
	window_start  TEXT    NOT NULL, -- RFC 3339 UTC, 9 fractional digits
	window_end    TEXT    NOT NULL,
	binance_vwap,                   -- float64; NULL is NaN
	coinbase_vwap,
	spread_pct,
	expires_at    INTEGER NOT NULL, -- window_end + 24 h in Unix seconds; expired once <= now
	PRIMARY KEY (symbol, window_start)
)`,
	`CREATE INDEX exchange_spreads_by_time ON exchange_spreads (window_start, symbol)`,
	`CREATE INDEX exchange_spreads_by_expiry ON exchange_spreads (expires_at)`,

	fmt.Sprintf("PRAGMA application_id = %d", applicationID),
	fmt.Sprintf("PRAGMA user_version = %d", schemaVersion),
}

// ErrNotStore is what the error of Open and ReadFile wraps when the file at the path is not an
// alert store this version can use: a store of the format before SQLite, another SQLite
// database, a store of a newer schema, or anything else. The message says which, and what to do;
// the file is left as it was.
var ErrNotStore = errors.New("embedded: not an alert store")

// notStoreError is an ErrNotStore with a message of its own.
type notStoreError struct{ msg string }

func (e *notStoreError) Error() string        { return e.msg }
func (e *notStoreError) Is(target error) bool { return target == ErrNotStore }

func notStore(format string, args ...any) error {
	return &notStoreError{msg: fmt.Sprintf("embedded: "+format, args...)}
}

const (
	sqliteMagic = "SQLite format 3\x00"
	// oldMagic begins every store file of the format before SQLite: an append-only log of
	// CRC-framed records ("CTCHOT\x00" and a version byte).
	oldMagic = "CTCHOT\x00"
)

// checkFile looks at the first bytes of the file at path, without SQLite, and returns an error
// for a file that is not an SQLite database: SQLite itself would only say "file is not a
// database". A missing or empty file is fine: it becomes a new store (or, for ReadFile, an
// error of its own).
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("embedded: %w", err)
	}
	head = head[:n]
	switch {
	case n == 0 || string(head) == sqliteMagic:
		return nil
	case bytes.HasPrefix(head, []byte(oldMagic)) || (n < len(oldMagic) && bytes.HasPrefix([]byte(oldMagic), head)):
		return notStore("%s is an alert store in the format before SQLite, which this version of ctc "+
			"does not read: delete it (the warehouse keeps every alert, and the pipeline refills the "+
			"last 24 hours) or move it aside, and Open makes a new store there", path)
	default:
		return notStore("%s is not an alert store: it is not an SQLite database (it begins %q); "+
			"move it aside or choose another path", path, head)
	}
}

// dsn is the data source name of the database at path for the modernc driver: a file: URI (so
// that no character of the path can be taken for a parameter) with the settings every
// connection needs. synchronous=NORMAL: in WAL mode a commit then reaches the operating system
// but is not fsynced, so it survives a crash of the process and never corrupts the file; a
// power loss may lose the last commits, which Flush (a checkpoint, fsynced) rules out for
// everything before it, as the pipeline's checkpoints need. FULL would fsync every Write for
// nothing more. journal_mode=WAL is not set here: it is written into the file, once Open knows
// the file is its own.
func dsn(path string, readOnly bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("embedded: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis))
	if readOnly {
		// Not mode=ro: a read-only connection cannot remove the WAL files when it closes, and
		// would leave them beside a file no Store has open. query_only refuses every change; the
		// file must exist (rw: no create).
		q.Set("mode", "rw")
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "synchronous(NORMAL)")
		// After a checkpoint the WAL is cut back to this size, so that a VACUUM's or a
		// backfill's WAL does not keep its disk space.
		q.Add("_pragma", "journal_size_limit(4194304)")
		q.Set("_txlock", "immediate") // a writer takes the write lock at BEGIN, not halfway
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	if u.Path[0] != '/' {
		u.Path = "/" + u.Path // C:/x on Windows: file:///C:/x
	}
	return u.String(), nil
}

// openDB opens a pool of connections to path, after checkFile.
func openDB(path string, readOnly bool) (*sql.DB, error) {
	if err := checkFile(path); err != nil {
		return nil, err
	}
	name, err := dsn(path, readOnly)
	if err != nil {
		return nil, err
	}
	c, err := sqlite.NewConnector(name)
	if err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", path, err)
	}
	return sql.OpenDB(c), nil
}

// checkSchema checks that the database is an alert store of this schema version, or new: empty,
// or an SQLite database with nothing in it. It reads only.
func checkSchema(ctx context.Context, db *sql.DB, path string) (fresh bool, err error) {
	var app, version, objects int64
	err = db.QueryRowContext(ctx, `SELECT (SELECT application_id FROM pragma_application_id),
		(SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_schema)`).Scan(&app, &version, &objects)
	if err != nil {
		return false, sqliteError(path, err)
	}
	switch {
	case app == applicationID && version == schemaVersion:
		return false, nil
	case app == applicationID && version > schemaVersion:
		return false, notStore("%s is an alert store of schema version %d, newer than this version of ctc "+
			"reads (%d): use a newer ctc, or delete the file (the warehouse keeps every alert) or move it aside",
			path, version, schemaVersion)
	case app == applicationID:
		return false, notStore("%s is an alert store of schema version %d, which this version of ctc cannot read: "+
			"delete it (the warehouse keeps every alert) or move it aside", path, version)
	case app != 0 || version != 0 || objects != 0:
		return false, notStore("%s is an SQLite database but not an alert store (application_id %#x, user_version %d, "+
			"%d schema objects): move it aside or choose another path", path, app, version, objects)
	}
	return true, nil
}

// initSchema creates the schema in a new database, after checkSchema. It writes nothing to a file
// that is neither new nor an alert store.
func initSchema(ctx context.Context, db *sql.DB, path string) error {
	fresh, err := checkSchema(ctx, db, path)
	if err != nil || !fresh {
		return err
	}
	// One transaction, so that a crash leaves the file new again.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return sqliteError(path, err)
	}
	defer tx.Rollback()
	for _, stmt := range schema {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("embedded: create the schema in %s: %w", path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return sqliteError(path, err)
	}
	return nil
}

// sqliteError names the file in an error of SQLite's; a file SQLite finds damaged is ErrNotStore.
func sqliteError(path string, err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 26: // SQLITE_NOTADB
			return notStore("%s is not an alert store: SQLite cannot read it (%v); move it aside or choose another path", path, err)
		case 11: // SQLITE_CORRUPT
			return &notStoreError{msg: fmt.Sprintf("embedded: %s is damaged (%v): delete it (the warehouse keeps "+
				"every alert, and the pipeline refills the last 24 hours) or move it aside", path, err)}
		}
	}
	return fmt.Errorf("embedded: %s: %w", path, err)
}
