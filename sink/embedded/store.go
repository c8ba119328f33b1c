package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coattailcapital/ctc"
)

// ErrClosed (which wraps ctc.ErrClosed) is returned by every method of a Store after Close.
var ErrClosed = fmt.Errorf("embedded: store is closed: %w", ctc.ErrClosed)

// DefaultJanitorInterval is how often the janitor removes expired records unless
// WithJanitorInterval says otherwise.
const DefaultJanitorInterval = time.Minute

// vacuumMinBytes is the least free space worth a VACUUM: below it the janitor leaves the file be.
const vacuumMinBytes = 64 << 10

// maxConns bounds the connections of a Store: the writer and the API's concurrent readers. Idle
// ones are kept, with their prepared statements, up to the same number.
const maxConns = 8

// Store is the embedded hot store: alerts and the latest aggregates in one SQLite file, with an
// index for each query of DESIGN §3.4. Create it with Open; it is safe for concurrent use (see the
// package documentation).
type Store struct {
	path string
	now  func() time.Time

	closed atomic.Bool

	// wmu serialises this Store's writers: Write, Compact, the janitor and Close, so that they do
	// not wait on each other's SQLite write lock. Other processes' writers wait in SQLite, up to
	// its busy timeout.
	wmu   sync.Mutex
	stats Stats // the counters; the sizes are filled in by Stats

	// mu guards db against Close: queries hold it shared while they run, and Close waits for
	// them. db is nil once closed; it changes only with both mu and wmu held.
	mu sync.RWMutex
	db *sql.DB
	st statements

	stop chan struct{}
	done chan struct{}
}

var (
	_ ctc.AlertStore  = (*Store)(nil)
	_ ctc.Flusher     = (*Store)(nil)
	_ ctc.Closer      = (*Store)(nil)
	_ ctc.TradeReader = (*Store)(nil)
)

// Option configures Open.
type Option func(*options)

type options struct {
	now      func() time.Time
	interval time.Duration
}

// WithClock makes the store read the time from now, for expiry, instead of time.Now. Tests and
// replays of recorded data use it; the clock must not go backwards, since what the janitor has
// removed does not come back.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithJanitorInterval sets how often the janitor goroutine deletes expired records and, when free
// pages make up half the file, vacuums it (DefaultJanitorInterval if not given). d <= 0 runs no
// janitor: expired records are then still never returned, and deleted only by Compact.
func WithJanitorInterval(d time.Duration) Option {
	return func(o *options) { o.interval = d }
}

// Open opens the alert store at path, an SQLite database, creating it if the file does not exist
// or is empty. A file that is anything else — a store of the format before SQLite, another
// SQLite database, a store of a newer schema — is left as it is, and the error, which wraps
// ErrNotStore, says what it is and what to do. Several Stores, in one process or several, may
// open one file: SQLite serialises their writes.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, interval: DefaultJanitorInterval}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := openDB(path, false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	ctx := context.Background()
	if err := initSchema(ctx, db, path); err != nil {
		db.Close()
		return nil, err
	}
	// WAL: readers never wait for the writer, and a commit writes its pages once, sequentially.
	// The mode is kept in the file, so this is a no-op after the first Open.
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		db.Close()
		return nil, sqliteError(path, err)
	}
	s := &Store{path: path, now: o.now, db: db}
	if err := s.st.prepare(ctx, db); err != nil {
		s.st.close()
		db.Close()
		return nil, sqliteError(path, err)
	}
	if o.interval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.janitor(o.interval)
	}
	return s, nil
}

// Write stores the batch's alerts, volume windows and spread windows in one transaction; the rest
// of the batch (trades, whale records, late trades, dead letters) is not the hot store's. A record
// replaces the stored one with its identity: a volume window's (symbol, exchange, window start)
// and a spread window's (symbol, window start) always, an alert's AlertID unless the stored
// version has a later EmittedAt. A record already expired is not stored, and only removes the
// version it replaces, if there is one.
//
// When Write returns the batch is committed: it survives a crash of the process, and Flush makes
// it survive a crash of the machine. A batch with none of those records costs nothing. A record
// with a time outside the years 0000-9999 fails the batch, which then stores nothing; so does a
// ctx done before the commit.
func (s *Store) Write(ctx context.Context, b *ctc.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &b.Output
	if len(o.Alerts)+len(o.Volumes)+len(o.Spreads) == 0 {
		if s.closed.Load() {
			return ErrClosed
		}
		return nil
	}
	return s.write(ctx, o)
}

// write is Write of a batch with records to store. It is a function of its own so that the
// common batch, with none, does not pay for its defers.
func (s *Store) write(ctx context.Context, o *ctc.Output) error {
	now := s.now().Unix()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.txError(ctx, err)
	}
	defer tx.Rollback()
	w := txStatements{ctx: ctx, tx: tx}
	for i := range o.Alerts {
		a := &o.Alerts[i]
		if a.TTLEpoch <= now {
			ea, err := formatTime(a.EmittedAt)
			if err != nil {
				return fmt.Errorf("embedded: alert %s: emitted_at: %w", a.AlertID, err)
			}
			err = w.exec(s.st.deleteAlert, a.AlertID.String(), ea)
			if err != nil {
				return s.txError(ctx, err)
			}
			continue
		}
		args, err := alertArgs(a)
		if err != nil {
			return err
		}
		if err := w.exec(s.st.upsertAlert, args...); err != nil {
			return s.txError(ctx, err)
		}
	}
	for i := range o.Volumes {
		v := &o.Volumes[i]
		ttl := aggregateTTL(v.WindowEnd)
		args, err := volumeArgs(v, ttl)
		if err != nil {
			return err
		}
		if ttl <= now {
			err = w.exec(s.st.deleteVolume, args[0], args[2], args[1]) // symbol, window_start, exchange
		} else {
			err = w.exec(s.st.upsertVolume, args...)
		}
		if err != nil {
			return s.txError(ctx, err)
		}
	}
	for i := range o.Spreads {
		sp := &o.Spreads[i]
		ttl := aggregateTTL(sp.WindowEnd)
		args, err := spreadArgs(sp, ttl)
		if err != nil {
			return err
		}
		if ttl <= now {
			err = w.exec(s.st.deleteSpread, args[0], args[1]) // symbol, window_start
		} else {
			err = w.exec(s.st.upsertSpread, args...)
		}
		if err != nil {
			return s.txError(ctx, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return s.txError(ctx, err)
	}
	s.stats.Writes++
	return nil
}

// txError returns ctx's error if it ended the transaction, and otherwise err with the file named.
func (s *Store) txError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return sqliteError(s.path, err)
}

// Flush makes every write so far durable: a checkpoint copies the WAL into the database file,
// fsyncing both. It waits (up to the busy timeout) for readers of older data to finish. It returns
// ctx.Err() if ctx is already done and ErrClosed after Close.
func (s *Store) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.checkpoint(ctx, "FULL")
}

// checkpoint runs a WAL checkpoint of mode FULL or TRUNCATE, and fails if a reader kept it from
// copying every frame.
func (s *Store) checkpoint(ctx context.Context, mode string) error {
	var busy, frames, copied int64
	err := s.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied)
	if err != nil {
		return s.txError(ctx, err)
	}
	if busy != 0 {
		return fmt.Errorf("embedded: checkpoint %s: another connection kept it from completing within %d ms; try again",
			s.path, busyTimeoutMillis)
	}
	return nil
}

// Close stops the janitor, waits for running queries, and closes the database: the last
// connection to it checkpoints the WAL into the file and removes it. Later calls of every method
// return ErrClosed, except Close, which returns nil.
func (s *Store) Close(ctx context.Context) error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	db := s.db
	s.db = nil
	s.mu.Unlock()
	s.st.close()
	if err := db.Close(); err != nil {
		return fmt.Errorf("embedded: close %s: %w", s.path, err)
	}
	return nil
}

// Stats describes a store's contents and what its janitor did.
type Stats struct {
	// Alerts, Volumes and Spreads count the rows held: live records, and expired ones the janitor
	// has not deleted yet.
	Alerts, Volumes, Spreads int
	// FileBytes is the size of the database (its pages, the WAL's included); FreeBytes the part of
	// it in free pages, which SQLite reuses and a VACUUM gives back.
	FileBytes, FreeBytes int64
	// Writes counts the transactions Write committed; Removed the records the janitor and Compact
	// deleted as expired; Compactions the rewrites of the file (VACUUM).
	Writes, Removed, Compactions int64
	// JanitorErr is the error of the janitor's last run, nil if it succeeded. The janitor keeps
	// running.
	JanitorErr error
	// Err is the error of reading the counts and sizes from the database, which are then 0.
	Err error
}

// Stats returns the store's counters and sizes. After Close it returns the zero Stats.
func (s *Store) Stats() Stats {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.db == nil {
		return Stats{}
	}
	st := s.stats
	var pageSize, pages, free int64
	err := s.db.QueryRow(`SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM volume_aggregates),
		(SELECT count(*) FROM exchange_spreads), (SELECT page_size FROM pragma_page_size),
		(SELECT page_count FROM pragma_page_count), (SELECT freelist_count FROM pragma_freelist_count)`).
		Scan(&st.Alerts, &st.Volumes, &st.Spreads, &pageSize, &pages, &free)
	if err != nil {
		st.Alerts, st.Volumes, st.Spreads, st.Err = 0, 0, 0, sqliteError(s.path, err)
		return st
	}
	st.FileBytes, st.FreeBytes = pages*pageSize, free*pageSize
	return st
}

// ReadsTrades implements ctc.TradeReader: only alerts (and what they are about) are kept here,
// so a checkpoint of a pipeline writing only here need not save its trades.
func (s *Store) ReadsTrades() bool { return false }
