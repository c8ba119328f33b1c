package awsenv

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	t.Parallel()
	got := FromEnv(env(nil))
	want := Env{Stream: "coattail-trades", AlertsTable: "coattail-alerts", AggregatesTable: "coattail-aggregates",
		StateTable: "coattail-shard-state", Catalog: "glue", Namespace: "coattail", QualityNS: "CoatTail/Quality",
		AlertsNS: "CoatTail/Alerts", BatchNS: "CoatTail/Batch", Binance: "https://api.binance.com"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("defaults (-want +got):\n%s", d)
	}
	got = FromEnv(env(map[string]string{"CTC_STREAM": "s", "CTC_DLQ_STREAM": "d", "CTC_CORS_ORIGINS": " https://a.example , ,https://b.example",
		"AWS_REGION": "eu-west-1", "CTC_S3_ENDPOINT": "http://127.0.0.1:1", "CTC_METRICS_NAMESPACE_BATCH": "X/Batch", "CTC_CATALOG": "sql"}))
	if got.Stream != "s" || got.DLQStream != "d" || got.Region != "eu-west-1" || got.BatchNS != "X/Batch" || got.Catalog != "sql" ||
		!cmp.Equal(got.CORSOrigins, []string{"https://a.example", "https://b.example"}) {
		t.Fatalf("overrides: %+v", got)
	}
}
