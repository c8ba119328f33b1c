package memory_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/sink/memory"
)

func TestAlertStoreConformance(t *testing.T) {
	t.Parallel()
	ctctest.TestAlertStore(t, ctctest.AlertStoreFeatures{}, func(t *testing.T, now func() time.Time) ctc.AlertStore {
		return memory.NewAlertStore(now)
	})
}

// The alert store is also a sink of alerts that deduplicates them.
func TestAlertStoreIsASink(t *testing.T) {
	t.Parallel()
	epoch := func() time.Time { return time.Unix(0, 0) } // before every sample alert's ttl_epoch
	ctctest.TestSink(t, ctctest.SinkFeatures{Alerts: true, IdempotentAlerts: true, Unordered: true},
		func(t *testing.T) ctc.Sink { return memory.NewAlertStore(epoch) },
		func(t *testing.T, s ctc.Sink) *ctc.Batch {
			alerts, err := s.(*memory.AlertStore).QueryAlerts(t.Context(), ctc.AlertQuery{Limit: math.MaxInt})
			if err != nil {
				t.Fatal(err)
			}
			return &ctc.Batch{Output: ctc.Output{Alerts: alerts}}
		})
}

func TestAlertStoreFaults(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := memory.NewAlertStore(nil)
	now := time.Now().UTC().Truncate(time.Millisecond)
	b := &ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{{
		AlertType: ctc.Whale, Symbol: "BTC-USDT", DetectedAt: now, TTLEpoch: now.Add(ctc.AlertTTL).Unix(),
	}}}}
	boom := errors.New("throttled")
	s.FailWrites(1, boom)
	if err := s.Write(ctx, b); !errors.Is(err, boom) {
		t.Fatalf("Write: got %v, want the injected failure", err)
	}
	s.FailQueries(1, nil)
	if _, err := s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 1}); !errors.Is(err, memory.ErrInjected) {
		t.Fatalf("QueryAlerts: got %v, want ErrInjected", err)
	}
	if got, err := s.QueryAlerts(ctx, ctc.AlertQuery{Limit: 1}); err != nil || len(got) != 0 {
		t.Fatalf("after the failures: %d alerts, %v; want none stored by the failed write", len(got), err)
	}
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	s.FailQueries(-1, boom)
	for range 3 {
		if _, err := s.Symbols(ctx); !errors.Is(err, boom) {
			t.Fatalf("Symbols: got %v, want the injected failure", err)
		}
	}
	s.FailQueries(0, nil)
	if syms, err := s.Symbols(ctx); err != nil || len(syms) != 1 || syms[0] != "BTC-USDT" {
		t.Fatalf("Symbols = %q, %v; want [BTC-USDT]", syms, err)
	}
}
