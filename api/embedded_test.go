package api

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

var _ Store = (*embedded.Store)(nil)

// TestEmbeddedStore serves the fixture from the embedded store and from the memory store: every
// answer must be the same bytes, so the store the other tests use behaves as the one the
// consumer runs.
func TestEmbeddedStore(t *testing.T) {
	t.Parallel()
	f := newFixture(testNow)
	st, err := embedded.Open(filepath.Join(t.TempDir(), "alerts.db"), embedded.WithClock(func() time.Time { return f.now }),
		embedded.WithJanitorInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	b := &ctc.Batch{Output: ctc.Output{Alerts: f.alerts, Volumes: f.volumes, Spreads: f.spreads}}
	if err := st.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	real := newTestHandler(t, Config{Store: st})
	mem := newTestHandler(t, Config{Store: f.store(t)})
	for _, target := range []string{
		"/alerts", "/alerts?limit=2", "/alerts?type=whale", "/alerts?symbol=BTC", "/alerts?since=2000-01-01T00:00:00Z",
		"/metrics/BTC-USDT", "/metrics/BTC", "/metrics/ETH-USD", "/metrics/NOPE",
		"/volumes?symbol=BTC-USDT", "/volumes?symbol=BTC", "/spreads?symbol=BTC-USD", "/symbols",
	} {
		want, got := get(t, mem, target), get(t, real, target)
		if got.code != 200 || string(got.body) != string(want.body) {
			t.Errorf("GET %s from the embedded store: %d\n%s\nwant\n%s", target, got.code, got.body, want.body)
		}
	}
}
