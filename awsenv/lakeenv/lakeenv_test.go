package lakeenv

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/coattailcapital/ctc/awsenv"
	icebergsink "github.com/coattailcapital/ctc/sink/iceberg"
)

func TestCatalogs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		env  awsenv.Env
		want string
	}{
		{awsenv.Env{Catalog: "hive", Warehouse: "s3://b/w"}, "CTC_CATALOG must be glue or sql"},
		{awsenv.Env{Catalog: "glue", Warehouse: "/tmp/w"}, "needs CTC_WAREHOUSE=s3://"},
		{awsenv.Env{Catalog: "sql"}, "CTC_WAREHOUSE is required"},
		{awsenv.Env{Catalog: "sql", Warehouse: "s3://b/w"}, "needs CTC_CATALOG_URI"},
	} {
		if _, _, err := OpenCatalog(ctx, c.env, aws.Config{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want %q", c.env, err, c.want)
		}
	}
	// A local SQL warehouse has the layout of sink/iceberg's Config.Dir, so that either opens it.
	dir := t.TempDir()
	e := awsenv.Env{Catalog: "sql", Warehouse: dir, Namespace: "coattail"}
	cat, closeCat, err := OpenCatalog(ctx, e, aws.Config{})
	if err != nil {
		t.Fatal(err)
	}
	lake, err := icebergsink.Open(ctx, LakeConfig(e, cat))
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
	e = awsenv.Env{Catalog: "sql", Warehouse: "s3://bucket/wh", Region: "us-east-1", S3Endpoint: "http://127.0.0.1:9"}
	lc := LakeConfig(e, nil)
	if lc.Warehouse != "s3://bucket/wh" || lc.Props["s3.endpoint"] != "http://127.0.0.1:9" || lc.Props["s3.region"] != "us-east-1" ||
		lc.Props["s3.force-virtual-addressing"] != "false" {
		t.Fatalf("S3 lake config: %+v", lc)
	}
}
