package embedded

import (
	"context"
	"database/sql"
	"time"
)

// janitor deletes expired records every interval until Close.
func (s *Store) janitor(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// sweep is one run of the janitor: delete what has expired and, if free pages are then half the
// file (and worth a rewrite), vacuum it.
func (s *Store) sweep() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.db == nil {
		return
	}
	ctx := context.Background()
	err := s.removeExpired(ctx)
	if err == nil {
		var free, pages, pageSize int64
		err = s.db.QueryRowContext(ctx, `SELECT (SELECT freelist_count FROM pragma_freelist_count),
			(SELECT page_count FROM pragma_page_count), (SELECT page_size FROM pragma_page_size)`).Scan(&free, &pages, &pageSize)
		if err == nil && free*pageSize >= vacuumMinBytes && 2*free >= pages {
			err = s.vacuum(ctx)
		}
	}
	if err != nil {
		err = s.txError(ctx, err)
	}
	s.stats.JanitorErr = err
}

// removeExpired deletes every expired record, in one transaction.
func (s *Store) removeExpired(ctx context.Context) error {
	now := s.now().Unix()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	w := txStatements{ctx: ctx, tx: tx}
	removed := int64(0)
	for _, stmt := range []*sql.Stmt{s.st.expireAlerts, s.st.expireVolumes, s.st.expireSpreads} {
		n, err := w.execN(stmt, now)
		if err != nil {
			return err
		}
		removed += n
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.stats.Removed += removed
	return nil
}

// vacuum rewrites the database without its free pages, and then checkpoints and truncates the WAL,
// into which VACUUM wrote the whole database. A reader that keeps the checkpoint from finishing
// only delays the truncation to a later checkpoint.
func (s *Store) vacuum(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, "VACUUM"); err != nil {
		return err
	}
	s.stats.Compactions++
	_, err := s.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	return err
}

// Compact deletes expired records now and rewrites the file without free pages (VACUUM), as the
// janitor does when they are half the file. It returns ctx.Err() if ctx is already done and
// ErrClosed after Close. Queries proceed while it runs; writes wait.
func (s *Store) Compact(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.db == nil {
		return ErrClosed
	}
	if err := s.removeExpired(ctx); err != nil {
		return s.txError(ctx, err)
	}
	if err := s.vacuum(ctx); err != nil {
		return s.txError(ctx, err)
	}
	return nil
}
