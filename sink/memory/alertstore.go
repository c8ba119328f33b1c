package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// AlertStore is the in-memory reference hot alert store: the semantics of the embedded and
// DynamoDB stores with none of their machinery. It keeps the latest version of each alert by
// AlertID, of each volume window by (symbol, exchange, window start) and of each spread window by
// (symbol, window start), and filters on every query. Alerts expire at their TTLEpoch and
// aggregates at WindowEnd + ctc.AlertTTL, by the clock given to NewAlertStore; expired records are
// never returned, and are dropped by the next Write.
//
// Like Sink, it can fail on demand: FailWrites and FailQueries make the next calls fail, so that a
// test of the API server can check what a client sees when the store is down. Every method is safe
// for concurrent use.
type AlertStore struct {
	now func() time.Time

	mu     sync.RWMutex
	alerts map[uuid.UUID]ctc.Alert
	// byTime holds the alerts newest first (then by AlertID descending), the order queries
	// return, so that a query stops at its Limit or Since instead of sorting the store: the API
	// benchmarks serve 100,000 alerts from it. Writes only mark it stale; the next query rebuilds it.
	byTime  []ctc.Alert
	stale   bool
	volumes map[volumeKey]ctc.VolumeWindow
	spreads map[spreadKey]ctc.SpreadWindow
	writes  fault
	queries fault
}

var _ ctc.AlertStore = (*AlertStore)(nil)

// The identity of an aggregate: a replay that recomputes a window replaces it. Window starts are
// kept as Unix seconds and nanoseconds so that one instant is one key whatever its time zone.
type volumeKey struct {
	symbol, exchange string
	sec              int64
	nsec             int
}

type spreadKey struct {
	symbol string
	sec    int64
	nsec   int
}

// NewAlertStore returns an empty store that reads the time from now (time.Now if nil) to expire
// records.
func NewAlertStore(now func() time.Time) *AlertStore {
	if now == nil {
		now = time.Now
	}
	return &AlertStore{
		now:     now,
		alerts:  map[uuid.UUID]ctc.Alert{},
		volumes: map[volumeKey]ctc.VolumeWindow{},
		spreads: map[spreadKey]ctc.SpreadWindow{},
	}
}

// Write stores the batch's alerts, volume windows and spread windows, each replacing the one stored
// with its identity; trades, whales, late trades and dead letters are ignored. It returns ctx.Err()
// if ctx is done, or an error injected with FailWrites, and then stores nothing.
func (s *AlertStore) Write(ctx context.Context, b *ctc.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writes.take(); err != nil {
		return err
	}
	for _, a := range b.Output.Alerts {
		s.alerts[a.AlertID] = a
	}
	s.stale = s.stale || len(b.Output.Alerts) > 0
	for _, v := range b.Output.Volumes {
		s.volumes[volumeKey{v.Symbol, v.Exchange, v.WindowStart.Unix(), v.WindowStart.Nanosecond()}] = v
	}
	for _, w := range b.Output.Spreads {
		s.spreads[spreadKey{w.Symbol, w.WindowStart.Unix(), w.WindowStart.Nanosecond()}] = w
	}
	s.dropExpired(s.now().Unix())
	return nil
}

// dropExpired forgets expired records, as the embedded store's janitor does, so that a long test
// does not grow the maps without bound.
func (s *AlertStore) dropExpired(now int64) {
	for id, a := range s.alerts {
		if a.TTLEpoch <= now {
			delete(s.alerts, id)
			s.stale = true
		}
	}
	for k, v := range s.volumes {
		if aggregateTTL(v.WindowEnd) <= now {
			delete(s.volumes, k)
		}
	}
	for k, w := range s.spreads {
		if aggregateTTL(w.WindowEnd) <= now {
			delete(s.spreads, k)
		}
	}
}

// aggregateTTL is when an aggregate ending at windowEnd expires from a hot store, in Unix seconds:
// windowEnd + ctc.AlertTTL, rounded down as the detectors round an alert's TTLEpoch.
func aggregateTTL(windowEnd time.Time) int64 { return windowEnd.Add(ctc.AlertTTL).Unix() }

// QueryAlerts returns the live alerts q selects, newest first. It returns ctx.Err() if ctx is done,
// an error if q.Limit < 1, or an error injected with FailQueries.
func (s *AlertStore) QueryAlerts(ctx context.Context, q ctc.AlertQuery) ([]ctc.Alert, error) {
	if err := s.startQuery(ctx); err != nil {
		return nil, err
	}
	if q.Limit < 1 {
		return nil, fmt.Errorf("memory: limit must be >= 1, got %d", q.Limit)
	}
	now := s.now().Unix()
	unlock := s.ordered()
	defer unlock()
	out := make([]ctc.Alert, 0, min(q.Limit, len(s.byTime), 64))
	start := 0
	if !q.Before.IsZero() { // byTime is newest first: skip to the first alert after Before
		start, _ = slices.BinarySearchFunc(s.byTime, q.Before, func(a ctc.Alert, k ctc.AlertKey) int {
			if k.After(&a) {
				return 1
			}
			return -1
		})
	}
	for i := start; i < len(s.byTime); i++ {
		a := &s.byTime[i]
		if !q.Since.IsZero() && a.DetectedAt.Before(q.Since) {
			break // newest first: every alert after it is older still
		}
		if a.TTLEpoch > now && (q.Type == "" || a.AlertType == q.Type) && (q.Symbol == "" || a.Symbol == q.Symbol) {
			out = append(out, *a)
			if len(out) == q.Limit {
				break
			}
		}
	}
	return out, nil
}

// ordered locks the store for reading with byTime up to date, and returns the unlock.
func (s *AlertStore) ordered() (unlock func()) {
	s.mu.RLock()
	if !s.stale {
		return s.mu.RUnlock
	}
	s.mu.RUnlock()
	s.mu.Lock()
	if s.stale {
		s.byTime = slices.Grow(s.byTime[:0], len(s.alerts))
		for _, a := range s.alerts {
			s.byTime = append(s.byTime, a)
		}
		slices.SortFunc(s.byTime, func(a, b ctc.Alert) int {
			return cmp.Or(b.DetectedAt.Compare(a.DetectedAt), slices.Compare(b.AlertID[:], a.AlertID[:]))
		})
		s.stale = false
	}
	return s.mu.Unlock
}

// startQuery checks the context and takes an injected query failure.
func (s *AlertStore) startQuery(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries.take()
}

// Volumes returns the live volume windows of symbol (of every symbol if symbol is ""), on every
// exchange, that start at or after since (the zero time: no bound), oldest first, then by symbol
// and exchange.
func (s *AlertStore) Volumes(ctx context.Context, symbol string, since time.Time) ([]ctc.VolumeWindow, error) {
	if err := s.startQuery(ctx); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []ctc.VolumeWindow{}
	for _, v := range s.volumes {
		if aggregateTTL(v.WindowEnd) > now && (symbol == "" || v.Symbol == symbol) && !v.WindowStart.Before(since) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b ctc.VolumeWindow) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Exchange, b.Exchange))
	})
	return out, nil
}

// Spreads returns the live spread windows of symbol (an instrument such as BTC; every one if
// symbol is "") that start at or after since, oldest first, then by symbol.
func (s *AlertStore) Spreads(ctx context.Context, symbol string, since time.Time) ([]ctc.SpreadWindow, error) {
	if err := s.startQuery(ctx); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []ctc.SpreadWindow{}
	for _, w := range s.spreads {
		if aggregateTTL(w.WindowEnd) > now && (symbol == "" || w.Symbol == symbol) && !w.WindowStart.Before(since) {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b ctc.SpreadWindow) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol))
	})
	return out, nil
}

// Symbols returns, sorted, every symbol that a live alert, volume window or spread window carries.
// Spread windows and spread alerts carry an instrument (BTC), volume windows and other alerts a
// market symbol (BTC-USDT).
func (s *AlertStore) Symbols(ctx context.Context) ([]string, error) {
	if err := s.startQuery(ctx); err != nil {
		return nil, err
	}
	now := s.now().Unix()
	s.mu.RLock()
	defer s.mu.RUnlock()
	set := map[string]bool{}
	for _, a := range s.alerts {
		if a.TTLEpoch > now {
			set[a.Symbol] = true
		}
	}
	for _, v := range s.volumes {
		if aggregateTTL(v.WindowEnd) > now {
			set[v.Symbol] = true
		}
	}
	for _, w := range s.spreads {
		if aggregateTTL(w.WindowEnd) > now {
			set[w.Symbol] = true
		}
	}
	out := make([]string, 0, len(set))
	for sym := range set {
		out = append(out, sym)
	}
	slices.Sort(out)
	return out, nil
}

// FailWrites makes the next n Write calls fail with err (ErrInjected if err is nil) and store
// nothing, with the meaning of n of Sink.FailWrites.
func (s *AlertStore) FailWrites(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = fault{n, err}
}

// FailQueries makes the next n calls of QueryAlerts, Volumes, Spreads and Symbols fail with err
// (ErrInjected if err is nil), with the meaning of n of Sink.FailWrites.
func (s *AlertStore) FailQueries(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries = fault{n, err}
}
