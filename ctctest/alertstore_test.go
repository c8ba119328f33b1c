package ctctest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/memory"
)

// fakeAlertStore is a plain alert store with one deliberate defect per mode, to show that each
// subtest of TestAlertStore catches what it claims to.
type fakeAlertStore struct {
	mode   string
	now    func() time.Time
	mu     sync.Mutex
	alerts []ctc.Alert
	refs   [][]ctc.Alert // what mode "alias" keeps
}

func (s *fakeAlertStore) Write(ctx context.Context, b *ctc.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		if s.mode == "half-cancel" && len(b.Output.Alerts) > 0 {
			s.alerts = append(s.alerts, b.Output.Alerts[0])
		}
		return err
	}
	if len(b.Output.Alerts) == 0 && s.mode == "reject-empty" {
		return errors.New("nothing to write")
	}
	if s.mode == "alias" {
		// Keeps the caller's array: the next batch built in it overwrites these alerts.
		s.refs = append(s.refs, b.Output.Alerts)
		return nil
	}
	for _, a := range b.Output.Alerts {
		switch s.mode {
		case "float32":
			a.ActualValue = float64(float32(a.ActualValue))
		case "seconds":
			a.DetectedAt = a.DetectedAt.Truncate(time.Second)
		}
		if i := slices.IndexFunc(s.alerts, func(x ctc.Alert) bool { return x.AlertID == a.AlertID }); i >= 0 && s.mode != "duplicates" {
			s.alerts[i] = a
			continue
		}
		s.alerts = append(s.alerts, a)
	}
	return nil
}

func (s *fakeAlertStore) QueryAlerts(ctx context.Context, q ctc.AlertQuery) ([]ctc.Alert, error) {
	if err := ctx.Err(); err != nil && s.mode != "ignore-cancel" {
		return nil, err
	}
	if q.Limit < 1 && s.mode != "accept-zero-limit" {
		return nil, errors.New("limit must be >= 1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var out []ctc.Alert
	if s.mode != "nil-empty" {
		out = []ctc.Alert{}
	}
	for _, a := range slices.Concat(append(s.refs, s.alerts)...) {
		typeOK := q.Type == "" || a.AlertType == q.Type || s.mode == "no-type-filter"
		symOK := q.Symbol == "" || a.Symbol == q.Symbol ||
			s.mode == "symbol-prefix" && strings.HasPrefix(a.Symbol, q.Symbol) ||
			s.mode == "type-wins" && q.Type != ""
		sinceOK := q.Since.IsZero() || !a.DetectedAt.Before(q.Since) ||
			s.mode == "type-ignores-since" && q.Type != ""
		if s.mode == "since-exclusive" && !q.Since.IsZero() && !a.DetectedAt.After(q.Since) {
			sinceOK = false
		}
		beforeOK := q.Before.After(&a) || s.mode == "ignore-before" ||
			s.mode == "before-inclusive" && a.DetectedAt.Equal(q.Before.DetectedAt) && a.AlertID == q.Before.AlertID
		live := a.TTLEpoch > now.Unix()
		switch s.mode {
		case "no-expiry":
			live = true
		case "expire-by-detected-at":
			live = a.DetectedAt.Add(ctc.AlertTTL).After(now)
		}
		if typeOK && symOK && sinceOK && beforeOK && live {
			out = append(out, a)
		}
	}
	switch s.mode {
	case "no-tiebreak":
		slices.SortStableFunc(out, func(a, b ctc.Alert) int { return b.DetectedAt.Compare(a.DetectedAt) })
	case "all-oldest-first":
		slices.SortFunc(out, newestFirst)
		if q.Type == "" && q.Symbol == "" {
			slices.Reverse(out)
		}
	default:
		slices.SortFunc(out, newestFirst)
	}
	limit := q.Limit
	if s.mode == "limit-off-by-one" && limit > 1 {
		limit--
	}
	if s.mode == "accept-zero-limit" {
		limit = max(limit, 0)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	if s.mode == "alias" {
		return out, nil
	}
	return slices.Clone(out), nil
}

func runFakeAlertStore(t *testing.T, mode string) {
	TestAlertStore(t, AlertStoreFeatures{NoAggregates: true}, func(t *testing.T, now func() time.Time) ctc.AlertStore {
		return &fakeAlertStore{mode: mode, now: now}
	})
}

func TestAlertStorePassesCorrectStores(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		TestAlertStore(t, AlertStoreFeatures{}, func(t *testing.T, now func() time.Time) ctc.AlertStore {
			return memory.NewAlertStore(now)
		})
	})
	t.Run("fake", func(t *testing.T) { runFakeAlertStore(t, "") })
}

// TestAlertStoreCatchesBrokenStores runs TestAlertStore on a defective store in a child process
// and checks that the subtest meant to catch the defect fails.
func TestAlertStoreCatchesBrokenStores(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ mode, subtest string }{
		{"no-type-filter", "ByType"},
		{"symbol-prefix", "BySymbol"},
		{"type-ignores-since", "ByTypeSince"},
		{"all-oldest-first", "All"},
		{"type-wins", "TypeAndSymbol"},
		{"since-exclusive", "SinceInclusive"},
		{"limit-off-by-one", "Limit"},
		{"accept-zero-limit", "InvalidLimit"},
		{"no-tiebreak", "Order"},
		{"ignore-before", "Paging"},
		{"before-inclusive", "Paging"},
		{"duplicates", "Idempotent"},
		{"no-expiry", "Expiry"},
		{"expire-by-detected-at", "Expiry"},
		{"nil-empty", "UnknownSymbol"},
		{"reject-empty", "EmptyBatch"},
		{"alias", "Copies"},
		{"half-cancel", "CancelledContext"},
		{"ignore-cancel", "CancelledContext"},
		{"float32", "ExactValues"},
		{"seconds", "ExactValues"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenAlertStore$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "CTCTEST_BROKEN_ALERT_STORE="+c.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("TestAlertStore passed a store with defect %q:\n%s", c.mode, out)
			}
			if want := "--- FAIL: TestBrokenAlertStore/" + c.subtest + " "; !bytes.Contains(out, []byte(want)) {
				t.Fatalf("defect %q: want subtest %s to fail; output:\n%s", c.mode, c.subtest, out)
			}
		})
	}
}

// TestBrokenAlertStore is run by TestAlertStoreCatchesBrokenStores in a child process.
func TestBrokenAlertStore(t *testing.T) {
	mode := os.Getenv("CTCTEST_BROKEN_ALERT_STORE")
	if mode == "" {
		t.Skip("run by TestAlertStoreCatchesBrokenStores")
	}
	runFakeAlertStore(t, mode)
}

// The generated history must hold what TestAlertStore's doc comment promises.
func TestAlertHistoryCoverage(t *testing.T) {
	t.Parallel()
	h := alertHistory(1, 600, alertNow)
	if !slices.Equal(alertIDs(h), alertIDs(alertHistory(1, 600, alertNow))) {
		t.Fatal("alertHistory is not deterministic")
	}
	types := map[ctc.AlertType]int{}
	ties, expiredN, zeroEmitted, unicode := 0, 0, 0, 0
	ids := map[[16]byte]bool{}
	for i, a := range h {
		types[a.AlertType]++
		if ids[a.AlertID] {
			t.Errorf("alert id %s repeats", a.AlertID)
		}
		ids[a.AlertID] = true
		if i > 0 && a.DetectedAt.Equal(h[i-1].DetectedAt) {
			ties++
		}
		if i > 0 && newestFirst(h[i-1], a) <= 0 {
			t.Errorf("history not oldest first at %d", i)
		}
		if expired(a, alertNow) {
			expiredN++
		}
		if a.EmittedAt.IsZero() {
			zeroEmitted++
		}
		if strings.ContainsAny(a.Message, "σ🐋↔") {
			unicode++
		}
		if a.TTLEpoch != a.DetectedAt.Add(ctc.AlertTTL).Unix() || a.DetectedAt.After(alertNow) || a.WindowStart.After(a.DetectedAt) {
			t.Errorf("unrealistic alert times: %+v", a)
		}
		if a.DetectedAt.Nanosecond()%1e6 != 0 {
			t.Errorf("detected_at has sub-millisecond precision: %v", a.DetectedAt)
		}
	}
	for _, typ := range historyTypes {
		if types[typ] < 40 {
			t.Errorf("only %d alerts of type %s", types[typ], typ)
		}
	}
	if ties < 20 || expiredN < 60 || expiredN > 200 || zeroEmitted < 60 || unicode < 100 {
		t.Errorf("history misses a case: ties=%d expired=%d zeroEmitted=%d unicode=%d", ties, expiredN, zeroEmitted, unicode)
	}
	// Limit needs more than 200 live alerts of one access pattern.
	counts := map[string]int{}
	for _, a := range h {
		if !expired(a, alertNow) {
			counts["all"]++
		}
	}
	if c := counts["all"]; c <= 200 {
		t.Errorf("only %d live alerts", c)
	}
	// ExactValues covers the zero emitted_at and non-UTC zones.
	var zero, zoned bool
	for _, a := range exactAlerts() {
		zero = zero || a.EmittedAt.IsZero()
		zoned = zoned || a.DetectedAt.Location() != time.UTC
	}
	if !zero || !zoned {
		t.Errorf("exactAlerts misses a case: zero emitted_at=%v zoned=%v", zero, zoned)
	}
}

// brokenAggregates is the in-memory store with one defect in what the API reads besides alerts.
type brokenAggregates struct {
	*memory.AlertStore
	mode string
}

func (b brokenAggregates) Volumes(ctx context.Context, symbol string, since time.Time) ([]ctc.VolumeWindow, error) {
	if b.mode == "volumes-ignore-since" {
		since = time.Time{}
	}
	v, err := b.AlertStore.Volumes(ctx, symbol, since)
	if b.mode == "volumes-newest-first" {
		slices.Reverse(v)
	}
	return v, err
}

func (b brokenAggregates) Spreads(ctx context.Context, symbol string, since time.Time) ([]ctc.SpreadWindow, error) {
	if b.mode == "spreads-all-instruments" {
		symbol = ""
	}
	return b.AlertStore.Spreads(ctx, symbol, since)
}

func (b brokenAggregates) Symbols(ctx context.Context) ([]string, error) {
	s, err := b.AlertStore.Symbols(ctx)
	if b.mode == "symbols-unsorted" && len(s) > 1 {
		s[0], s[1] = s[1], s[0]
	}
	return s, err
}

// TestAggregatesCatchBrokenStores runs TestAlertStore on a store whose aggregates have a defect,
// in a child process, and checks that the Aggregates subtest fails.
func TestAggregatesCatchBrokenStores(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"volumes-ignore-since", "volumes-newest-first", "spreads-all-instruments", "symbols-unsorted"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenAggregateStore$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "CTCTEST_BROKEN_AGGREGATES="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("TestAlertStore passed a store with defect %q:\n%s", mode, out)
			}
			if !bytes.Contains(out, []byte("--- FAIL: TestBrokenAggregateStore/Aggregates ")) {
				t.Fatalf("defect %q: want the Aggregates subtest to fail; output:\n%s", mode, out)
			}
		})
	}
}

// TestBrokenAggregateStore is run by TestAggregatesCatchBrokenStores in a child process.
func TestBrokenAggregateStore(t *testing.T) {
	mode := os.Getenv("CTCTEST_BROKEN_AGGREGATES")
	if mode == "" {
		t.Skip("run by TestAggregatesCatchBrokenStores")
	}
	TestAlertStore(t, AlertStoreFeatures{}, func(t *testing.T, now func() time.Time) ctc.AlertStore {
		return brokenAggregates{memory.NewAlertStore(now), mode}
	})
}
