package embedded

import (
	"context"
	"errors"
	"fmt"
	"github.com/coattailcapital/ctc/internal/binx"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// ErrClosed (which wraps ctc.ErrClosed) is returned by every method of a Store after Close.
var ErrClosed = fmt.Errorf("embedded: store is closed: %w", ctc.ErrClosed)

// ErrLocked is returned by Open when another Store, in this process or another, has the file open.
var ErrLocked = errors.New("embedded: store file is in use by another Store")

// DefaultJanitorInterval is how often the janitor removes expired records unless
// WithJanitorInterval says otherwise.
const DefaultJanitorInterval = time.Minute

// compactMinBytes is the least dead weight worth a rewrite: below it the janitor leaves the file be.
const compactMinBytes = 64 << 10

// Store is the embedded hot store: alerts and the latest aggregates in one local file, with
// in-memory indexes for the queries of DESIGN §3.4. Create it with Open; it is safe for concurrent
// use (see the package documentation).
type Store struct {
	path string
	now  func() time.Time

	closed atomic.Bool

	// wmu serialises everything that changes the file or the state: Write, Flush, Compact, the
	// janitor and Close. Those hold mu too while they change the state, so that code holding wmu
	// may read the state without mu.
	wmu    sync.Mutex
	f      *os.File // nil once closed
	lock   *os.File
	size   int64 // bytes in the file
	dirty  bool  // written since the last fsync
	broken error // set when the file may no longer match the state; every later change fails
	buf    []byte
	ops    []op
	seen   map[any]struct{} // identities written earlier in the current batch
	intern map[string]string
	stats  Stats // the counters; the sizes are filled in by Stats

	mu sync.RWMutex
	st *state // nil once closed

	stop chan struct{}
	done chan struct{}
}

var (
	_ ctc.AlertStore = (*Store)(nil)
	_ ctc.Flusher    = (*Store)(nil)
	_ ctc.Closer     = (*Store)(nil)
)

// op is one record of a batch, encoded and waiting to be applied once the write succeeded.
type op struct {
	alert  *alertEntry
	volume *volumeEntry
	spread *spreadEntry
}

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

// WithJanitorInterval sets how often the janitor goroutine removes expired records and, when they
// make up half the file, compacts it (DefaultJanitorInterval if not given). d <= 0 runs no
// janitor: expired records are then still never returned, and removed only by Compact.
func WithJanitorInterval(d time.Duration) Option {
	return func(o *options) { o.interval = d }
}

// Open opens the store file at path, creating it if it does not exist, and rebuilds the indexes
// from it, dropping what has expired. A torn last record, left by a crash during a write, is cut off;
// a damaged record followed by intact ones is skipped (Stats counts both). The file is locked
// against a second Store until Close; the lock lives in path + ".lock", which stays behind.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{now: time.Now, interval: DefaultJanitorInterval}
	for _, opt := range opts {
		opt(&o)
	}
	lock, err := lockFile(path + ".lock")
	if err != nil {
		return nil, err
	}
	s := &Store{path: path, now: o.now, lock: lock, seen: map[any]struct{}{}, intern: map[string]string{}}
	if err := s.open(); err != nil {
		if s.f != nil {
			s.f.Close()
		}
		unlockFile(lock)
		return nil, err
	}
	if o.interval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.janitor(o.interval)
	}
	return s, nil
}

func (s *Store) open() error {
	// A compaction that crashed before its rename leaves its temporary file; the store file is
	// intact.
	if err := os.Remove(s.tmpPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("embedded: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	s.f = f
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	st := newState()
	sc := newScanner(s.path, f, fi.Size())
	empty, err := sc.header()
	if err != nil {
		return err
	}
	if empty {
		return s.create(st)
	}
	now := s.now().Unix()
	for {
		k, body, err := sc.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errTorn) {
			s.stats.TornBytes = sc.size - sc.off
			if err := s.cut(sc.off); err != nil {
				return err
			}
			break
		}
		if err != nil {
			return err
		}
		size := int64(frameSize + 1 + len(body))
		d := decoder{Reader: binx.Reader{B: body}, intern: s.internBytes}
		switch k {
		case kindAlert:
			a, err := d.alert()
			if err != nil {
				return corrupt(s.path, sc.off-size, "alert: %v", err)
			}
			st.putAlert(&alertEntry{a: a, key: newAlertKey(a.DetectedAt, a.AlertID), size: size}, now, false)
		case kindVolume:
			v, err := d.volume()
			if err != nil {
				return corrupt(s.path, sc.off-size, "volume window: %v", err)
			}
			st.putVolume(&volumeEntry{v: v, key: newAggKey(v.WindowStart, v.Symbol, v.Exchange), ttl: aggregateTTL(v.WindowEnd), size: size}, now, false)
		case kindSpread:
			w, err := d.spread()
			if err != nil {
				return corrupt(s.path, sc.off-size, "spread window: %v", err)
			}
			st.putSpread(&spreadEntry{w: w, key: newAggKey(w.WindowStart, w.Symbol, ""), ttl: aggregateTTL(w.WindowEnd), size: size}, now, false)
		default:
			return corrupt(s.path, sc.off-size, "unknown record kind %d (written by a newer build?)", k)
		}
	}
	s.stats.SkippedBytes = sc.skipped
	s.size = sc.off
	st.buildIndexes()
	s.st = st
	return nil
}

// create writes the header of a new (or never completed) file.
func (s *Store) create(st *state) error {
	if err := s.f.Truncate(0); err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	if _, err := s.f.WriteAt([]byte(magic), 0); err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return err
	}
	s.size = headerSize
	s.st = st
	return nil
}

// cut truncates a torn tail away, durably, so that the next write follows the last intact record.
func (s *Store) cut(off int64) error {
	if err := s.f.Truncate(off); err != nil {
		return fmt.Errorf("embedded: cut the torn end of %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	return nil
}

func (s *Store) tmpPath() string { return s.path + ".compact" }

// internBytes returns one shared string per distinct symbol, exchange or type. The table is
// bounded so that junk values cannot grow it; past the bound, strings are simply allocated.
func (s *Store) internBytes(b []byte) string {
	if v, ok := s.intern[string(b)]; ok {
		return v
	}
	v := string(b)
	if len(s.intern) < 4096 {
		s.intern[v] = v
	}
	return v
}

func (s *Store) internString(v string) string {
	if w, ok := s.intern[v]; ok {
		return w
	}
	if len(s.intern) < 4096 {
		s.intern[v] = v
	}
	return v
}

// utc returns t as the store keeps it, and as a reopened store decodes it: UTC, no monotonic reading.
func utc(t time.Time) time.Time { return time.Unix(t.Unix(), int64(t.Nanosecond())).UTC() }

// Write stores the batch's alerts, volume windows and spread windows; the rest of the batch (trades,
// whale records, late trades, dead letters) is not the hot store's. A record replaces the stored
// one with its identity: an alert's AlertID, a volume window's (symbol, exchange, window start), a
// spread window's (symbol, window start). A record already expired is not stored, and only removes
// its predecessor if there was one.
//
// The records reach the file (the operating system) before Write returns, in one write per batch;
// Flush makes them durable. A batch with none of those records costs nothing. Write returns
// ctx.Err() if ctx is already done, and then stores nothing.
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
	now := s.now().Unix()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.f == nil {
		return ErrClosed
	}
	if s.broken != nil {
		return s.broken
	}
	buf := s.buf[:0]
	s.ops = s.ops[:0]
	if n := len(s.seen); n > 1024 {
		s.seen = map[any]struct{}{} // clearing keeps the buckets a replay grew, and costs them every time
	} else if n > 0 {
		clear(s.seen)
	}
	var err error
	for i := range o.Alerts {
		a := o.Alerts[i]
		if a.TTLEpoch <= now && !s.known(a.AlertID, s.st.alerts[a.AlertID] != nil) {
			continue
		}
		start := len(buf)
		if buf, err = appendAlert(buf, &a); err != nil {
			return fmt.Errorf("%w (alert %s)", err, a.AlertID)
		}
		a.AlertType = ctc.AlertType(s.internString(string(a.AlertType)))
		a.Symbol, a.Exchange = s.internString(a.Symbol), s.internString(a.Exchange)
		a.WindowStart, a.DetectedAt, a.EmittedAt = utc(a.WindowStart), utc(a.DetectedAt), utc(a.EmittedAt)
		s.ops = append(s.ops, op{alert: &alertEntry{a: a, key: newAlertKey(a.DetectedAt, a.AlertID), size: int64(len(buf) - start)}})
		s.note(a.AlertID)
	}
	for i := range o.Volumes {
		v := o.Volumes[i]
		key := newAggKey(v.WindowStart, v.Symbol, v.Exchange)
		ttl := aggregateTTL(v.WindowEnd)
		if ttl <= now && !s.known(key, s.st.volumes[key] != nil) {
			continue
		}
		start := len(buf)
		if buf, err = appendVolume(buf, &v); err != nil {
			return err
		}
		v.Symbol, v.Exchange = s.internString(v.Symbol), s.internString(v.Exchange)
		v.WindowStart, v.WindowEnd = utc(v.WindowStart), utc(v.WindowEnd)
		key.symbol, key.exchange = v.Symbol, v.Exchange
		s.ops = append(s.ops, op{volume: &volumeEntry{v: v, key: key, ttl: ttl, size: int64(len(buf) - start)}})
		s.note(key)
	}
	for i := range o.Spreads {
		w := o.Spreads[i]
		key := newAggKey(w.WindowStart, w.Symbol, "")
		ttl := aggregateTTL(w.WindowEnd)
		if ttl <= now && !s.known(key, s.st.spreads[key] != nil) {
			continue
		}
		start := len(buf)
		if buf, err = appendSpread(buf, &w); err != nil {
			return err
		}
		w.Symbol = s.internString(w.Symbol)
		w.WindowStart, w.WindowEnd = utc(w.WindowStart), utc(w.WindowEnd)
		key.symbol = w.Symbol
		s.ops = append(s.ops, op{spread: &spreadEntry{w: w, key: key, ttl: ttl, size: int64(len(buf) - start)}})
		s.note(key)
	}
	s.buf = buf
	if len(buf) == 0 {
		return nil
	}
	if err := s.append(buf); err != nil {
		return err
	}
	s.mu.Lock()
	for _, op := range s.ops {
		switch {
		case op.alert != nil:
			s.st.putAlert(op.alert, now, true)
		case op.volume != nil:
			s.st.putVolume(op.volume, now, true)
		default:
			s.st.putSpread(op.spread, now, true)
		}
	}
	s.mu.Unlock()
	clear(s.ops) // the entries belong to the state now
	s.stats.Writes++
	return nil
}

// known reports whether a record with this identity is stored or came earlier in the batch: only
// then must an expired record be written, to replace it. The batch's identities are collected from
// its first expired record on (see note), so that a batch of live records never pays for them.
func (s *Store) known(id any, stored bool) bool {
	if stored {
		return true
	}
	if len(s.seen) == 0 {
		for _, op := range s.ops {
			switch {
			case op.alert != nil:
				s.seen[op.alert.a.AlertID] = struct{}{}
			case op.volume != nil:
				s.seen[op.volume.key] = struct{}{}
			default:
				s.seen[op.spread.key] = struct{}{}
			}
		}
		s.seen[nil] = struct{}{} // marks the set as built, even for a batch that began expired
	}
	_, ok := s.seen[id]
	return ok
}

// note remembers the identity of a record just added to the batch, once known has started collecting.
func (s *Store) note(id any) {
	if len(s.seen) > 0 {
		s.seen[id] = struct{}{}
	}
}

// append writes buf at the end of the file. A failed write is cut off again, so that the file
// stays a sequence of whole records; if even that fails the store refuses further changes.
func (s *Store) append(buf []byte) error {
	if _, err := s.f.WriteAt(buf, s.size); err != nil {
		werr := fmt.Errorf("embedded: write %s: %w", s.path, err)
		if terr := s.f.Truncate(s.size); terr != nil {
			s.broken = fmt.Errorf("%w; cutting the partial write off failed too (%v): reopen the store", werr, terr)
			return s.broken
		}
		return werr
	}
	s.size += int64(len(buf))
	s.dirty = true
	return nil
}

// QueryAlerts returns the live alerts q selects, newest first (by DetectedAt, then AlertID
// descending), at most q.Limit of them: a binary search for q.Since in the index of q's type and
// symbol, then a walk of Limit entries, skipping expired ones. The result is a copy; it is empty,
// not nil, when nothing matches.
func (s *Store) QueryAlerts(ctx context.Context, q ctc.AlertQuery) ([]ctc.Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit < 1 {
		return nil, fmt.Errorf("embedded: limit must be >= 1, got %d", q.Limit)
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	if st == nil {
		return nil, ErrClosed
	}
	var x *index[alertKey, alertEntry]
	switch {
	case q.Type != "" && q.Symbol != "":
		x = st.byPair[typeSymbol{q.Type, q.Symbol}]
	case q.Type != "":
		x = st.byType[q.Type]
	case q.Symbol != "":
		x = st.bySymbol[q.Symbol]
	default:
		x = &st.all
	}
	if x == nil {
		return []ctc.Alert{}, nil
	}
	since := alertKey{sec: q.Since.Unix(), nsec: int32(q.Since.Nanosecond())}
	out := make([]ctc.Alert, 0, min(q.Limit, x.len()))
	x.descend(since, !q.Since.IsZero(), func(e *alertEntry) bool {
		if e.a.TTLEpoch > now {
			out = append(out, e.a)
		}
		return len(out) < q.Limit
	})
	return out, nil
}

// Volumes returns the live volume windows of symbol on every exchange (of every symbol if symbol is
// ""), that start at or after since (the zero time: no bound), oldest first, then by symbol and
// exchange: what a chart of the last hours plots.
func (s *Store) Volumes(ctx context.Context, symbol string, since time.Time) ([]ctc.VolumeWindow, error) {
	return series(ctx, s, symbol, since,
		func(st *state) (*index[aggKey, volumeEntry], indexes[string, aggKey, volumeEntry]) {
			return &st.volumesAll, st.volumesSymbol
		},
		func(e *volumeEntry, now int64) (ctc.VolumeWindow, bool) { return e.v, e.ttl > now })
}

// Spreads returns the live spread windows of symbol (an instrument, such as BTC; every one if
// symbol is "") that start at or after since, oldest first, then by symbol.
func (s *Store) Spreads(ctx context.Context, symbol string, since time.Time) ([]ctc.SpreadWindow, error) {
	return series(ctx, s, symbol, since,
		func(st *state) (*index[aggKey, spreadEntry], indexes[string, aggKey, spreadEntry]) {
			return &st.spreadsAll, st.spreadsSymbol
		},
		func(e *spreadEntry, now int64) (ctc.SpreadWindow, bool) { return e.w, e.ttl > now })
}

// series lists the live entries of one aggregate's index — every symbol's, or one symbol's —
// that start at or after since (the zero time: no bound), oldest first.
func series[E, V any](ctx context.Context, s *Store, symbol string, since time.Time,
	pick func(*state) (*index[aggKey, E], indexes[string, aggKey, E]), live func(e *E, now int64) (V, bool)) ([]V, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.st == nil {
		return nil, ErrClosed
	}
	x, bySymbol := pick(s.st)
	if symbol != "" {
		if x = bySymbol[symbol]; x == nil {
			return []V{}, nil
		}
	}
	out := []V{}
	x.ascend(aggKey{sec: since.Unix(), nsec: int32(since.Nanosecond())}, !since.IsZero(), func(e *E) bool {
		if v, ok := live(e, now); ok {
			out = append(out, v)
		}
		return true
	})
	return out, nil
}

// Symbols returns, sorted, every symbol that a live alert, volume window or spread window carries:
// the choices of the dashboard's picker. Spread windows and spread alerts carry an instrument
// (BTC), the others a market symbol (BTC-USDT).
func (s *Store) Symbols(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	if st == nil {
		return nil, ErrClosed
	}
	out := []string{}
	// Walking from the newest entry finds a live one at once unless the symbol is all expired.
	for sym, x := range st.bySymbol {
		if anyLive(x, func(e *alertEntry) bool { return e.a.TTLEpoch > now }) {
			out = append(out, sym)
		}
	}
	for sym, x := range st.volumesSymbol {
		if anyLive(x, func(e *volumeEntry) bool { return e.ttl > now }) {
			out = append(out, sym)
		}
	}
	for sym, x := range st.spreadsSymbol {
		if anyLive(x, func(e *spreadEntry) bool { return e.ttl > now }) {
			out = append(out, sym)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func anyLive[K interface{ compare(K) int }, E any](x *index[K, E], live func(*E) bool) bool {
	found := false
	var zero K
	x.descend(zero, false, func(e *E) bool {
		found = live(e)
		return !found
	})
	return found
}

// Flush makes every write so far durable (fsync). It returns ctx.Err() if ctx is already done and
// ErrClosed after Close. If fsync fails, the store refuses every later change, since the kernel may
// have dropped the unsynced data: reopen it to continue from what reached the disk.
func (s *Store) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.f == nil {
		return ErrClosed
	}
	return s.syncLocked()
}

func (s *Store) syncLocked() error {
	if s.broken != nil {
		return s.broken
	}
	if !s.dirty {
		return nil
	}
	if err := s.f.Sync(); err != nil {
		s.broken = fmt.Errorf("embedded: fsync %s: %w; reopen the store to continue from what reached the disk", s.path, err)
		return s.broken
	}
	s.dirty = false
	return nil
}

// Close stops the janitor, makes every write durable, closes the file and releases its lock and the
// memory. Later calls of every method return ErrClosed, except Close, which returns nil.
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
	err := s.syncLocked()
	if cerr := s.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("embedded: %w", cerr)
	}
	s.f = nil
	unlockFile(s.lock)
	s.mu.Lock()
	s.st = nil
	s.mu.Unlock()
	return err
}

// Stats describes a store's contents and what its janitor and recovery did.
type Stats struct {
	// Alerts, Volumes and Spreads count the records held: live ones, and expired ones the janitor
	// has not removed yet.
	Alerts, Volumes, Spreads int
	// FileBytes is the size of the file; DeadBytes the part of it that holds records replaced,
	// expired or damaged, which compaction would drop.
	FileBytes, DeadBytes int64
	// Writes counts Write calls that wrote something; Removed the records the janitor and Compact
	// removed as expired; Compactions the rewrites of the file.
	Writes, Removed, Compactions int64
	// TornBytes is the size of the torn last record Open cut off; SkippedBytes the size of damaged
	// records it skipped in the middle of the file.
	TornBytes, SkippedBytes int64
	// JanitorErr is the error of the janitor's last run, nil if it succeeded. The janitor keeps
	// running; a failed compaction leaves the file as it was.
	JanitorErr error
}

// Stats returns the store's counters. After Close it returns the zero Stats.
func (s *Store) Stats() Stats {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.f == nil {
		return Stats{}
	}
	st := s.stats
	st.Alerts, st.Volumes, st.Spreads = len(s.st.alerts), len(s.st.volumes), len(s.st.spreads)
	st.FileBytes = s.size
	st.DeadBytes = s.size - headerSize - s.st.live
	return st
}

// syncDir makes a new or renamed file's directory entry durable.
func syncDir(dir string) error {
	if err := fsx.SyncDir(dir); err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	return nil
}

// ReadsTrades implements ctc.TradeReader: only alerts (and what they are about) are kept here,
// so a checkpoint of a pipeline writing only here need not save its trades.
func (s *Store) ReadsTrades() bool { return false }

var _ ctc.TradeReader = (*Store)(nil)
