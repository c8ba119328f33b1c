package dynamodb_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/api"
	"github.com/coattailcapital/ctc/sink/dynamodb"
	"github.com/coattailcapital/ctc/sink/embedded"
)

var _ api.Store = (*dynamodb.Store)(nil)

// TestAPI serves the same data from DynamoDB and from the embedded store, the default the API was
// built on: every answer must be the same bytes.
func TestAPI(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return testNow }
	st := newStore(t, nil, dynamodb.Config{Now: now, PageSize: 10})
	emb, err := embedded.Open(filepath.Join(t.TempDir(), "alerts.db"), embedded.WithClock(now), embedded.WithJanitorInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close(context.Background())
	vs, ss := aggregates()
	as := alerts(40, "api")
	as[3].TTLEpoch = testNow.Unix() // expired
	b := &ctc.Batch{Output: ctc.Output{Alerts: as, Volumes: vs, Spreads: ss}}
	write(t, st, b)
	if err := emb.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	serve := func(s api.Store) *httptest.Server {
		h, err := api.New(api.Config{Store: s, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	dyn, ref := serve(st), serve(emb)
	get := func(srv *httptest.Server, target string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	for _, target := range []string{
		"/alerts", "/alerts?limit=2", "/alerts?type=whale", "/alerts?symbol=BTC", "/alerts?type=spread&symbol=ETH-USDT",
		"/alerts?since=2024-03-13T09:29:40Z", "/metrics/BTC-USDT", "/metrics/BTC", "/metrics/ETH-USDT", "/metrics/NOPE",
		"/volumes?symbol=BTC-USDT", "/spreads?symbol=BTC", "/symbols",
	} {
		code, body := get(dyn, target)
		wantCode, want := get(ref, target)
		if code != http.StatusOK || code != wantCode || body != want {
			t.Errorf("GET %s from DynamoDB: %d\n%s\nthe embedded store answers %d\n%s", target, code, body, wantCode, want)
		}
	}
	// And the answers are not vacuous.
	_, body := get(dyn, "/alerts")
	var got struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Alerts) != 39 {
		t.Errorf("GET /alerts: %d alerts (%v), want the 39 live ones:\n%.300s", len(got.Alerts), err, body)
	}
	if _, body := get(dyn, "/metrics/BTC-USDT"); len(body) < 200 {
		t.Errorf("GET /metrics/BTC-USDT: %s", body)
	}
}
