package awsenv

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	icebergsink "github.com/coattailcapital/ctc/sink/iceberg"
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

func TestCatalogs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		env  Env
		want string
	}{
		{Env{Catalog: "hive", Warehouse: "s3://b/w"}, "CTC_CATALOG must be glue or sql"},
		{Env{Catalog: "glue", Warehouse: "/tmp/w"}, "needs CTC_WAREHOUSE=s3://"},
		{Env{Catalog: "sql"}, "CTC_WAREHOUSE is required"},
		{Env{Catalog: "sql", Warehouse: "s3://b/w"}, "needs CTC_CATALOG_URI"},
	} {
		if _, _, err := c.env.OpenCatalog(ctx, aws.Config{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.env, err, c.want)
		}
	}
	// A local SQL warehouse has the layout of sink/iceberg's Config.Dir, so that either opens it.
	dir := t.TempDir()
	e := Env{Catalog: "sql", Warehouse: dir, Namespace: "coattail"}
	cat, closeCat, err := e.OpenCatalog(ctx, aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	lake, err := icebergsink.Open(ctx, e.LakeConfig(cat))
	if err != nil {
		t.Fatal(err)
	}
	lake.Close(ctx)
	closeCat()
	lake, err = icebergsink.Open(ctx, icebergsink.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := lake.Table(ctx, icebergsink.RawTrades)
	if err != nil {
		t.Fatal(err)
	}
	if loc := tbl.Location(); !strings.HasPrefix(loc, "file://"+filepath.Join(dir, "warehouse")) {
		t.Fatalf("raw_trades at %s, want under %s/warehouse", loc, dir)
	}
	lake.Close(ctx)
	// An S3 warehouse: its tables' location and the file IO of a local S3.
	e = Env{Catalog: "sql", Warehouse: "s3://bucket/wh", Region: "us-east-1", S3Endpoint: "http://127.0.0.1:9"}
	lc := e.LakeConfig(nil)
	if lc.Warehouse != "s3://bucket/wh" || lc.Props["s3.endpoint"] != "http://127.0.0.1:9" || lc.Props["s3.region"] != "us-east-1" ||
		lc.Props["s3.force-virtual-addressing"] != "false" {
		t.Fatalf("S3 lake config: %+v", lc)
	}
}
