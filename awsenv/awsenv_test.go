package awsenv

import (
	"flag"
	"github.com/coattailcapital/ctc/source/coinbase"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnv(t *testing.T) {
	t.Parallel()
	got := FromEnv(env(nil))
	want := Env{Stream: "coattail-trades", AlertsTable: "coattail-alerts", AggregatesTable: "coattail-aggregates",
		App: "coattail-consumer", StateTable: "coattail-shard-state", LeasesTable: "coattail-shard-leases", Start: "trim_horizon",
		QualityNS: "CoatTail/Quality", AlertsNS: "CoatTail/Alerts", BatchNS: "CoatTail/Batch", Binance: "https://api.binance.com", Coinbase: "https://api.exchange.coinbase.com",
		Symbols: "BTC,ETH,SOL"}
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

// A flag wins over its variable, which wins over the default; only the groups asked for are added.
func TestRegisterFlags(t *testing.T) {
	t.Parallel()
	e := FromEnv(env(map[string]string{"CTC_STREAM": "from-env", "CTC_ALERTS_TABLE": "env-alerts", "CTC_RAW_BUCKET": "raw"}))
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	e.RegisterFlags(fs, Stream|Store|Shards)
	if err := fs.Parse([]string{"-stream", "from-flag", "-kinesis-endpoint", "http://k"}); err != nil {
		t.Fatal(err)
	}
	if e.Stream != "from-flag" || e.AlertsTable != "env-alerts" || e.KinesisEndpoint != "http://k" || e.StateBucket != "raw" ||
		e.AggregatesTable != "coattail-aggregates" {
		t.Fatalf("%+v", e)
	}
	if fs.Lookup("warehouse") != nil || fs.Lookup("region") != nil {
		t.Fatal("flags of groups not asked for were added")
	}
	if f := fs.Lookup("alerts-table"); f == nil || !strings.Contains(f.Usage, "CTC_ALERTS_TABLE") || f.DefValue != "env-alerts" {
		t.Fatalf("alerts-table flag %+v", f)
	}
}

func TestCatalogKindAndStart(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		e    Env
		want string
	}{
		{Env{Warehouse: "s3://b/w"}, "glue"},
		{Env{Warehouse: "s3://b/w", CatalogURI: "/tmp/c.db"}, "sql"},
		{Env{Warehouse: "/tmp/w"}, "sql"},
		{Env{Warehouse: "/tmp/w", Catalog: "glue"}, "glue"},
	} {
		if got := c.e.CatalogKind(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.e, got, c.want)
		}
	}
	if p, err := (Env{Start: "LATEST"}).StartPosition(); err != nil || p != "LATEST" {
		t.Errorf("latest: %q %v", p, err)
	}
	if _, err := (Env{Start: "middle"}).StartPosition(); err == nil {
		t.Error("a bad start was accepted")
	}
}

// The default Coinbase endpoint is package coinbase's, written out here to keep awsenv light.
func TestDefaultCoinbaseIsTheSource(t *testing.T) {
	if DefaultCoinbase != coinbase.DefaultRESTURL {
		t.Errorf("DefaultCoinbase %q, coinbase.DefaultRESTURL %q", DefaultCoinbase, coinbase.DefaultRESTURL)
	}
}
