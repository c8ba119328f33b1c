package embedded_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// open opens a store in a fresh directory and closes it when the test ends.
func open(t testing.TB, opts ...embedded.Option) (*embedded.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hot.ctc")
	s, err := embedded.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

func TestConformance(t *testing.T) {
	t.Parallel()
	ctctest.TestAlertStore(t, ctctest.AlertStoreFeatures{}, func(t *testing.T, now func() time.Time) ctc.AlertStore {
		s, _ := open(t, embedded.WithClock(now), embedded.WithJanitorInterval(time.Millisecond))
		return s
	})
}

// The same store reopened before every query: what it answers must come from the file.
func TestConformanceAfterReopen(t *testing.T) {
	t.Parallel()
	ctctest.TestAlertStore(t, ctctest.AlertStoreFeatures{}, func(t *testing.T, now func() time.Time) ctc.AlertStore {
		path := filepath.Join(t.TempDir(), "hot.ctc")
		r := &reopening{t: t, path: path, now: now}
		r.reopen()
		t.Cleanup(func() { r.s.Close(context.Background()) })
		return r
	})
}

// reopening closes and reopens its store before every query.
type reopening struct {
	mu   sync.Mutex
	t    *testing.T
	path string
	now  func() time.Time
	s    *embedded.Store
}

func (r *reopening) reopen() {
	if r.s != nil {
		if err := r.s.Close(context.Background()); err != nil {
			r.t.Errorf("Close: %v", err)
		}
	}
	s, err := embedded.Open(r.path, embedded.WithClock(r.now), embedded.WithJanitorInterval(0))
	if err != nil {
		r.t.Errorf("reopen: %v", err) // not Fatal: queries run on other goroutines too
		return
	}
	r.s = s
}

func (r *reopening) Write(ctx context.Context, b *ctc.Batch) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.s.Write(ctx, b)
}

func (r *reopening) QueryAlerts(ctx context.Context, q ctc.AlertQuery) ([]ctc.Alert, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Err() == nil {
		r.reopen()
	}
	return r.s.QueryAlerts(ctx, q)
}

// The aggregates the API reads come from the file too.
func (r *reopening) Volumes(ctx context.Context, symbol string, since time.Time) ([]ctc.VolumeWindow, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reopen()
	return r.s.Volumes(ctx, symbol, since)
}

func (r *reopening) Spreads(ctx context.Context, symbol string, since time.Time) ([]ctc.SpreadWindow, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reopen()
	return r.s.Spreads(ctx, symbol, since)
}

func (r *reopening) Symbols(ctx context.Context) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reopen()
	return r.s.Symbols(ctx)
}

// The store is a sink of alerts too; read checks what reached the file.
func TestSinkConformance(t *testing.T) {
	t.Parallel()
	epoch := func() time.Time { return time.Unix(0, 0) } // before every sample alert's ttl_epoch
	paths := map[ctc.Sink]string{}
	ctctest.TestSink(t, ctctest.SinkFeatures{Alerts: true, IdempotentAlerts: true, Unordered: true},
		func(t *testing.T) ctc.Sink {
			s, path := open(t, embedded.WithClock(epoch))
			paths[s] = path
			return s
		},
		func(t *testing.T, s ctc.Sink) *ctc.Batch {
			out, err := embedded.ReadFile(paths[s])
			if err != nil {
				t.Fatal(err)
			}
			return &ctc.Batch{Output: ctc.Output{Alerts: out.Alerts}}
		})
}

func TestClosed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, _ := open(t)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	calls := map[string]error{
		"Write":         s.Write(ctx, &ctc.Batch{Output: ctc.Output{Alerts: make([]ctc.Alert, 1)}}),
		"Write (empty)": s.Write(ctx, &ctc.Batch{}),
		"Flush":         s.Flush(ctx),
		"Compact":       s.Compact(ctx),
	}
	_, calls["QueryAlerts"] = s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 1})
	_, calls["Volumes"] = s.Volumes(ctx, "", time.Time{})
	_, calls["Spreads"] = s.Spreads(ctx, "", time.Time{})
	_, calls["Symbols"] = s.Symbols(ctx)
	for name, err := range calls {
		if !errors.Is(err, embedded.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// Two Stores may share a file, in one process as in two (the consumer writing, an API server
// reading): each sees what the other committed.
func TestSharedFile(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	path := filepath.Join(t.TempDir(), "alerts.db")
	w := mustOpen(t, path, c)
	r := mustOpen(t, path, c)
	alerts := genAlerts(3, 20, testNow, time.Hour)
	mustWrite(t, w, batchOf(alerts[:10]...))
	mustWrite(t, r, batchOf(alerts[10:]...))
	for name, s := range map[string]*embedded.Store{"writer": w, "reader": r} {
		if got, err := s.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: 100}); err != nil || len(got) != 20 {
			t.Errorf("%s: %d alerts, %v; want 20", name, len(got), err)
		}
	}
	mustClose(t, w)
	if got, err := r.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: 100}); err != nil || len(got) != 20 {
		t.Errorf("after the writer closed: %d alerts, %v; want 20", len(got), err)
	}
}

func TestInvalidLimitMessage(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	_, err := s.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: 0})
	if err == nil || err.Error() != "embedded: limit must be >= 1, got 0" {
		t.Errorf("got %v", err)
	}
	if _, err := s.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: math.MaxInt}); err != nil {
		t.Errorf("huge limit on an empty store: %v", err)
	}
}

func TestReopen(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	path := filepath.Join(t.TempDir(), "hot.ctc")
	s := mustOpen(t, path, c)
	alerts := genAlerts(1, 300, testNow, 20*time.Hour)
	for i := 0; i < len(alerts); i += 30 {
		mustWrite(t, s, batchOf(alerts[i:i+30]...))
	}
	mustWrite(t, s, aggregates(testNow))
	// A reprocessing run rewrites some alerts with other values.
	changed := slices.Clone(alerts[:50])
	for i := range changed {
		changed[i].Message, changed[i].Severity = "reprocessed", ctc.Critical
	}
	mustWrite(t, s, batchOf(changed...))
	before := snap(t, s)
	if len(before.Alerts) != 300 || len(before.Volumes) != 20 || len(before.Spreads) != 20 {
		t.Fatalf("before reopen: %d alerts, %d volumes, %d spreads", len(before.Alerts), len(before.Volumes), len(before.Spreads))
	}
	mustClose(t, s)

	s = mustOpen(t, path, c)
	if diff := cmp.Diff(before, snap(t, s)); diff != "" {
		t.Fatalf("after reopen (-before +after):\n%s", diff)
	}
	// Idempotency survives the reopen: the replay after a restart writes everything again.
	mustWrite(t, s, batchOf(alerts...))
	mustWrite(t, s, batchOf(changed...))
	mustWrite(t, s, aggregates(testNow))
	if diff := cmp.Diff(before, snap(t, s)); diff != "" {
		t.Fatalf("after rewriting everything (-before +after):\n%s", diff)
	}
	st := s.Stats()
	if st.Alerts != 300 || st.Volumes != 20 || st.Spreads != 20 || st.Writes != 3 || st.Err != nil {
		t.Errorf("stats after the rewrites: %+v", st)
	}
	mustClose(t, s)
	s = mustOpen(t, path, c)
	if diff := cmp.Diff(before, snap(t, s)); diff != "" {
		t.Fatalf("after the second reopen (-before +after):\n%s", diff)
	}
	if got := s.Stats(); got.FreeBytes != st.FreeBytes || got.FileBytes != st.FileBytes {
		t.Errorf("reopened stats %+v, want the sizes of %+v", got, st)
	}

	// What has expired while the store was closed is not returned, and Compact deletes it.
	mustClose(t, s)
	c.add(ctc.AlertTTL - 10*time.Hour)
	s = mustOpen(t, path, c)
	got, err := s.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: math.MaxInt})
	if err != nil || len(got) >= 300 || len(got) == 0 {
		t.Fatalf("after 14 h: %d alerts returned (%v); want some but not all", len(got), err)
	}
	if err := s.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Alerts != len(got) || st.Removed != int64(300-len(got)) {
		t.Errorf("after Compact: %+v; want the %d alerts returned held", st, len(got))
	}
}
