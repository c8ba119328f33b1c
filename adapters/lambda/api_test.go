package lambda_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/api"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/internal/awstest"
)

// apiEvent is the event API Gateway sends for GET path?query with payload format 2.0.
func apiEvent(method, path, query string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query,
		Headers: map[string]string{"accept": "*/*", "host": "abc123.execute-api.us-east-1.amazonaws.com",
			"user-agent": "curl/8.5.0", "x-forwarded-proto": "https"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID: "000000000000", APIID: "abc123", DomainName: "abc123.execute-api.us-east-1.amazonaws.com",
			DomainPrefix: "abc123", RequestID: "req-1", RouteKey: "$default", Stage: "$default",
			Time: "25/Nov/2026:21:00:00 +0000", TimeEpoch: 1795640400000,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1",
				SourceIP: "192.0.2.10", UserAgent: "curl/8.5.0"},
		},
	}
}

// The built API Lambda answers API Gateway events from the alerts in dynalite exactly as the local
// server's handler answers the same requests over the same store.
func TestAPILambda(t *testing.T) {
	ctx := context.Background()
	store, cfg := tables(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var b ctc.Batch
	for i, sym := range []string{"BTC-USDT", "ETH-USDT", "BTC-USDT", "SOL-USDT", "BTC-USDT", "BTC-USDT", "BTC-USDT", "ETH-USDT"} {
		at := now.Add(-time.Duration(i+1) * 7 * time.Minute)
		typ := ctc.Whale
		if i%3 == 2 {
			typ = ctc.VolumeSpike
		}
		b.Output.Alerts = append(b.Output.Alerts, ctc.Alert{
			AlertID: ctc.NewEventIDInt("test", sym, int64(i)), AlertType: typ, Symbol: sym, Exchange: ctc.Binance,
			Severity: ctc.High, ThresholdValue: 100_000, ActualValue: 150_000 + float64(i), WindowStart: at, DetectedAt: at,
			Message: "test alert", TTLEpoch: at.Add(ctc.AlertTTL).Unix(), EmittedAt: at,
		})
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{Symbol: sym, Exchange: ctc.Binance,
			WindowStart: at.Truncate(time.Minute), WindowEnd: at.Truncate(time.Minute).Add(time.Minute),
			TradeCount: 10, TotalVolume: 1000, AvgPrice: 100, MaxPrice: 101, MinPrice: 99, BuyVolume: 600, SellVolume: 400})
	}
	if err := store.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	local, err := api.New(api.Config{Store: store, Incidents: &incident.Policy{}}) // as the Lambda lists alerts
	if err != nil {
		t.Fatal(err)
	}
	l := awstest.StartLambda(t, bootstrap(t, "api"), awsEnv(t,
		"CTC_ALERTS_TABLE="+cfg.AlertsTable, "CTC_AGGREGATES_TABLE="+cfg.AggregatesTable)...)

	for _, c := range []struct {
		name, method, path, query string
		status                    int
		// volatile lists the fields of a JSON body that depend on the request's time.
		volatile []string
		contains string
	}{
		{"whales", "GET", "/alerts", "type=whale&limit=5", 200, nil, `"alert_type":"whale"`},
		{"every alert", "GET", "/alerts", "", 200, nil, `"count":8`},
		{"symbol", "GET", "/alerts", "symbol=eth-usdt", 200, nil, `"count":2`},
		{"limit too large", "GET", "/alerts", "limit=500", 400, nil, `limit must be 1..200, got 500`},
		{"ill-formed type", "GET", "/alerts", "type=Tsunami!", 400, nil, `"parameter":"type"`},
		{"a detector's own type", "GET", "/alerts", "type=tsunami", 200, nil, `"alerts":[]`},
		{"parameter twice", "GET", "/alerts", "limit=5&limit=6", 400, nil, `"parameter":"limit"`},
		{"bad escape", "GET", "/alerts", "symbol=%zz", 400, nil, `"error"`},
		{"metrics", "GET", "/metrics/BTC-USDT", "", 200, []string{"as_of", "since"}, `"symbol":"BTC-USDT"`},
		{"unknown path", "GET", "/nope", "", 404, nil, `"/alerts`},
		{"method", "POST", "/alerts", "", 405, nil, `use GET`},
		{"dashboard", "GET", "/", "", 200, nil, `<html`},
		{"favicon", "GET", "/static/favicon.svg", "", 200, nil, `<svg`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var resp events.APIGatewayV2HTTPResponse
			invoke(t, l, apiEvent(c.method, c.path, c.query), &resp)
			body := resp.Body
			if resp.IsBase64Encoded {
				raw, err := base64.StdEncoding.DecodeString(body)
				if err != nil {
					t.Fatal(err)
				}
				body = string(raw)
			}
			if resp.StatusCode != c.status || !strings.Contains(body, c.contains) {
				t.Fatalf("got %d %s\nwant %d containing %s", resp.StatusCode, body, c.status, c.contains)
			}
			target := c.path
			if c.query != "" {
				target += "?" + c.query
			}
			rec := httptest.NewRecorder()
			local.ServeHTTP(rec, httptest.NewRequest(c.method, target, nil))
			if rec.Code != resp.StatusCode {
				t.Fatalf("the local handler answers %d, the Lambda %d", rec.Code, resp.StatusCode)
			}
			for k, v := range rec.Header() {
				if k == "Date" || k == "X-Request-Id" { // a new id per request
					if k == "X-Request-Id" && resp.Headers[k] == "" {
						t.Errorf("the Lambda's answer has no %s", k)
					}
					continue
				}
				if got := resp.Headers[k]; got != strings.Join(v, ", ") {
					t.Errorf("header %s: Lambda %q, local %q", k, got, strings.Join(v, ", "))
				}
			}
			want := rec.Body.String()
			if len(c.volatile) > 0 {
				body, want = withoutFields(t, body, c.volatile), withoutFields(t, want, c.volatile)
			}
			if d := cmp.Diff(want, body); d != "" {
				t.Fatalf("body differs from the local handler's (-local +lambda):\n%s", d)
			}
		})
	}
}

func withoutFields(t *testing.T, body string, fields []string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			t.Fatalf("%s has no field %s", body, f)
		}
		delete(m, f)
	}
	b, _ := json.Marshal(m)
	return string(b)
}
