package maintain_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// locations
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// On an S3 warehouse (s3rver, with the SQL catalog the deployment's Glue stands for) compaction,
// expiry and orphan removal work through iceberg-go's S3 file IO, listing included.
func TestS3Warehouse(t *testing.T) {
	t.Parallel()
	ep := awstest.S3(t)
	bucket := awstest.Name(t, "lake")
	client := awstest.S3Client(t)
	if _, err := client.CreateBucket(t.Context(), &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatal(err)
	}
	io := iceberg.Properties{
		icebergio.S3EndpointURL: ep.URL, icebergio.S3Region: awstest.Region, icebergio.S3ForceVirtualAddressing: "false",
		icebergio.S3AccessKeyID: awstest.S3AccessKey, icebergio.S3SecretAccessKey: awstest.S3SecretKey,
	}
	catProps := iceberg.Properties{"warehouse": "s3://" + bucket + "/warehouse"}
	for k, v := range io {
		catProps[k] = v
	}
	catPath := filepath.Join(t.TempDir(), "catalog.db")
	cat, closeCat, err := icesink.OpenSQLCatalog(catPath, catProps)
	if err != nil {
		t.Fatal(err)
	}
	defer closeCat()
	s, err := icesink.Open(t.Context(), icesink.Config{Catalog: cat, Warehouse: "s3://" + bucket + "/warehouse", Props: io})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	commits(t, s, "live", 1, 6, 20)
	commits(t, s, "idle", 1, 1, 20)
	commits(t, s, "live", 7, 2, 20)
	tbl, err := s.Table(t.Context(), icesink.RawTrades)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tbl.Location(), "s3://"+bucket+"/") {
		t.Fatalf("raw_trades at %s", tbl.Location())
	}
	state := func() tableState {
		tbl, err := s.Table(t.Context(), icesink.RawTrades)
		if err != nil {
			t.Fatal(err)
		}
		st := tableState{Contents: scanContents(t, tbl), Checkpoints: map[string]ctc.Checkpoint{}}
		for _, id := range []string{"live", "idle"} {
			st.Checkpoints[id], _ = icesink.LastCheckpoint(tbl, id)
		}
		return st
	}
	before := state()

	c, err := maintain.Compact(t.Context(), s, icesink.RawTrades, small)
	if err != nil || c.FilesAfter >= c.FilesBefore {
		t.Fatalf("compact: %+v, %v", c, err)
	}
	e, err := maintain.Expire(t.Context(), s, icesink.RawTrades, maintain.ExpireOptions{Retention: 1, MinSnapshots: 1})
	if err != nil || e.Expired == 0 || len(e.Carried) != 2 { // the head is compaction's: both are carried
		t.Fatalf("expire: %+v, %v", e, err)
	}
	// Every file is young: none is an orphan by the safety age.
	o, err := maintain.RemoveOrphans(t.Context(), s, icesink.RawTrades, maintain.OrphanOptions{Age: maintain.MinOrphanAge})
	if err != nil || o.Orphans != 0 {
		t.Fatalf("orphans: %+v, %v", o, err)
	}
	// S3 modification times cannot be set back, so the deletion through S3 is checked with no age.
	key := "warehouse/" + icesink.DefaultNamespace + ".db/" + icesink.RawTrades + "/data/lost.parquet"
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: bytes.NewReader([]byte("PAR1"))}); err != nil {
		t.Fatal(err)
	}
	o, err = maintain.RemoveOrphansAnyAge(t.Context(), s, icesink.RawTrades, maintain.OrphanOptions{Age: 0})
	if err != nil || o.Removed != 1 || !strings.HasSuffix(o.Files[0], "/data/lost.parquet") {
		t.Fatalf("orphans: %+v, %v", o, err)
	}
	if d := cmp.Diff(before, state()); d != "" {
		t.Fatalf("(-before +after):\n%s", d)
	}
}
