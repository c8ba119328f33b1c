package lambda_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/adapters/lambda/internal/batchfn"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/evidence"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/source/sim"
)

// simulatedWarehouse writes an hour of the simulator's trades and alerts (whales, spread
// dislocations, volume spikes), from 23:20 UTC on 2024-01-15, to a local warehouse in dir.
func simulatedWarehouse(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	src, err := sim.New(sim.Config{Seed: 11, Start: time.Date(2024, 1, 15, 23, 20, 0, 0, time.UTC), Duration: time.Hour, InjectEvery: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	lake, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer lake.Close(ctx)
	chain, _ := quality.New(quality.Config{})
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...), ctc.WithSinks(lake))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func getObject(t *testing.T, c *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(out.Body); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func putObject(t *testing.T, c *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// The hosted evidence path, through the built Lambdas: the batch Lambda's evidence task judges the
// alerts of a warehouse and writes the report to S3 (s3rver), byte for byte what adapters/evidence
// prints over the same warehouse and window; the API Lambda serves it at /evidence, answers 404
// before it exists, and 500 (not a crash) for an object that is too large or not a report.
func TestEvidenceLambdas(t *testing.T) {
	dir := t.TempDir()
	simulatedWarehouse(t, dir)
	c := awstest.S3Client(t)
	bucket := awstest.Name(t, "evidence")
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	const key = "evidence/latest.json"
	uri := "s3://" + bucket + "/" + key
	s3env := []string{"CTC_S3_ENDPOINT=" + awstest.S3(t).URL, "CTC_EVIDENCE_URI=" + uri}

	_, cfg := tables(t)
	apiFn := awstest.StartLambda(t, bootstrap(t, "api"), awsEnv(t, append(s3env,
		"CTC_ALERTS_TABLE="+cfg.AlertsTable, "CTC_AGGREGATES_TABLE="+cfg.AggregatesTable)...)...)
	get := func(t *testing.T) (int, string) {
		t.Helper()
		var resp events.APIGatewayV2HTTPResponse
		invoke(t, apiFn, apiEvent("GET", "/evidence", ""), &resp)
		body := resp.Body
		if resp.IsBase64Encoded {
			raw, err := base64.StdEncoding.DecodeString(body)
			if err != nil {
				t.Fatal(err)
			}
			body = string(raw)
		}
		return resp.StatusCode, body
	}
	if code, body := get(t); code != 404 || !strings.Contains(body, "no evidence report yet") {
		t.Fatalf("before the first report: %d %s, want 404", code, body)
	}

	batch := awstest.StartLambda(t, bootstrap(t, "batch"), awsEnv(t, append(s3env, "CTC_CATALOG=sql", "CTC_WAREHOUSE="+dir)...)...)
	cli := awstest.BuildBootstrap(t, "../evidence") // adapters/evidence
	for _, c2 := range []struct {
		name     string
		in       map[string]any
		from, to string
	}{
		{"the default week", map[string]any{"task": "evidence", "day": "2024-01-16"}, "2024-01-10T00:00:00Z", "2024-01-17T00:00:00Z"},
		{"one day", map[string]any{"task": "evidence", "day": "2024-01-16", "days": 1}, "2024-01-16T00:00:00Z", "2024-01-17T00:00:00Z"},
	} {
		t.Run(c2.name, func(t *testing.T) {
			var out batchfn.EvidenceResult
			if err := task(t, batch, c2.in, &out); err != nil {
				t.Fatal(err)
			}
			report := getObject(t, c, bucket, key)
			var rep evidence.Report
			if err := json.Unmarshal(report, &rep); err != nil {
				t.Fatalf("the object is not a report: %v", err)
			}
			if out.Alerts == 0 || out.Alerts != rep.Alerts || out.Trades != rep.Trades || out.URI != uri || out.Bytes != len(report) ||
				out.From.Format(time.RFC3339) != c2.from || out.To.Format(time.RFC3339) != c2.to {
				t.Fatalf("output %+v; the report judged %d alerts over %d trades, %d bytes", out, rep.Alerts, rep.Trades, len(report))
			}

			// The same evaluation run directly: adapters/evidence over the same warehouse and window.
			cmd := exec.Command(cli, "-warehouse", dir, "-from", c2.from, "-to", c2.to, "-json")
			cmd.Env = []string{"HOME=" + t.TempDir()}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			want, err := cmd.Output()
			if err != nil {
				t.Fatalf("adapters/evidence: %v\n%s", err, stderr.Bytes())
			}
			if !bytes.Equal(report, want) {
				t.Fatalf("the report in S3 differs from adapters/evidence's:\n%s\n---\n%s", report, want)
			}

			// Run again: the same bytes (nothing in the report depends on when it ran).
			if err := task(t, batch, c2.in, &out); err != nil {
				t.Fatal(err)
			}
			if again := getObject(t, c, bucket, key); !bytes.Equal(again, report) {
				t.Fatal("a second run over the same warehouse wrote a different report")
			}

			if code, body := get(t); code != 200 || body != string(report) {
				t.Fatalf("/evidence: %d, %d bytes; want 200 and the %d bytes of the report", code, len(body), len(report))
			}
		})
	}
	report := getObject(t, c, bucket, key)

	t.Run("refused", func(t *testing.T) {
		oversized := append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 8<<20)...)
		oversized = append(oversized, `"}`...)
		for name, body := range map[string][]byte{"oversized": oversized, "not JSON": []byte("<html>evidence</html>"), "an array": []byte("[1,2]")} {
			putObject(t, c, bucket, key, body)
			if code, resp := get(t); code != 500 || !strings.Contains(resp, "could not be read") {
				t.Errorf("%s: %d %.200s; want 500", name, code, resp)
			}
		}
		// The function is still serving: the report again.
		putObject(t, c, bucket, key, report)
		if code, body := get(t); code != 200 || body != string(report) {
			t.Fatalf("after the refusals: %d %.200s", code, body)
		}
	})

	t.Run("failures", func(t *testing.T) {
		var out map[string]any
		if err := task(t, batch, map[string]any{"task": "evidence", "days": 90}, &out); err == nil || !strings.Contains(err.Error(), "days must be 1..31") {
			t.Errorf("90 days: %v", err)
		}
		// A bucket that does not exist: the write fails, and the task with it.
		nowhere := awstest.StartLambda(t, bootstrap(t, "batch"), awsEnv(t, "CTC_S3_ENDPOINT="+awstest.S3(t).URL,
			"CTC_EVIDENCE_URI=s3://"+awstest.Name(t, "none")+"/evidence/latest.json", "CTC_CATALOG=sql", "CTC_WAREHOUSE="+dir)...)
		if err := task(t, nowhere, map[string]any{"task": "evidence", "day": "2024-01-16", "days": 1}, &out); err == nil || !strings.Contains(err.Error(), "NoSuchBucket") {
			t.Errorf("a missing bucket: %v", err)
		}
	})
}
