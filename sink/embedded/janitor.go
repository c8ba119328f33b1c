package embedded

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// janitor removes expired records every interval until Close.
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

// sweep is one run of the janitor: remove what has expired and, if the file is then at least half
// dead weight (and that weight worth a rewrite), compact it.
func (s *Store) sweep() {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.f == nil {
		return
	}
	s.removeExpiredLocked(s.now().Unix())
	var err error
	if dead := s.size - headerSize - s.st.live; dead >= compactMinBytes && dead >= s.st.live {
		err = s.compactLocked()
	}
	s.stats.JanitorErr = err
}

// removeExpiredLocked drops expired records from the state. Finding them needs only wmu; readers
// wait only while something is removed.
func (s *Store) removeExpiredLocked(now int64) {
	if !s.st.expiredAny(now) {
		return
	}
	s.mu.Lock()
	n := s.st.removeExpired(now)
	s.mu.Unlock()
	s.stats.Removed += int64(n)
}

// Compact removes expired records now and rewrites the file with the live records only, as the
// janitor does when half the file is dead weight. It returns ctx.Err() if ctx is already done and
// ErrClosed after Close. Queries proceed while it runs; writes wait.
func (s *Store) Compact(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.f == nil {
		return ErrClosed
	}
	if s.broken != nil {
		return s.broken
	}
	s.removeExpiredLocked(s.now().Unix())
	return s.compactLocked()
}

// compactLocked writes the live records to a temporary file, fsyncs it and renames it over the
// store file, so that a crash at any point leaves either the old file or the new one, whole. The
// new file is written from memory, in key order, so that a reopen sorts little; its records encode
// exactly as before, so the entries' sizes stay right. The new file's handle is opened before the
// rename, so that no failure after the rename can leave the store without a file.
func (s *Store) compactLocked() error {
	tmp := s.tmpPath()
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("embedded: compact: %w", err)
	}
	size, err := s.writeLive(f)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("embedded: compact %s: %w", s.path, err)
	}
	old := s.f
	s.f, s.size, s.dirty = f, size, false
	s.stats.Compactions++
	err = syncDir(filepath.Dir(s.path))
	if cerr := old.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("embedded: %w", cerr)
	}
	return err
}

// writeLive writes the header and every record the state holds to f and returns the size.
func (s *Store) writeLive(f *os.File) (int64, error) {
	w := bufio.NewWriterSize(f, 1<<20)
	size := int64(0)
	n, err := w.WriteString(magic)
	size += int64(n)
	buf := s.buf[:0]
	flush := func(force bool) {
		if err == nil && (force || len(buf) >= 64<<10) {
			n, err = w.Write(buf)
			size += int64(n)
			buf = buf[:0]
		}
	}
	var eerr error
	s.st.all.ascend(alertKey{}, false, func(e *alertEntry) bool {
		buf, eerr = appendAlert(buf, &e.a)
		flush(false)
		return eerr == nil
	})
	s.st.volumesAll.ascend(aggKey{}, false, func(e *volumeEntry) bool {
		buf, eerr = appendVolume(buf, &e.v)
		flush(false)
		return eerr == nil
	})
	s.st.spreadsAll.ascend(aggKey{}, false, func(e *spreadEntry) bool {
		buf, eerr = appendSpread(buf, &e.w)
		flush(false)
		return eerr == nil
	})
	flush(true)
	s.buf = buf
	if err == nil {
		err = w.Flush()
	}
	if err == nil && eerr != nil {
		err = eerr // cannot happen: every record held was encoded once already
	}
	if err == nil && size != headerSize+s.st.live {
		err = errors.New("embedded: compaction wrote a different size than the records held; this is a bug")
	}
	return size, err
}
