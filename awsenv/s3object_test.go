package awsenv

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coattailcapital/ctc/internal/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestParseS3URI(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		uri  string
		want S3Object
		ok   bool
	}{
		{"s3://b/evidence/latest.json", S3Object{"b", "evidence/latest.json"}, true},
		{"s3://b/k", S3Object{"b", "k"}, true},
		{"s3://b/", S3Object{}, false},
		{"s3://b", S3Object{}, false},
		{"s3:///k", S3Object{}, false},
		{"s3://b/evidence/", S3Object{}, false},
		{"https://b.s3.amazonaws.com/k", S3Object{}, false},
		{"b/k", S3Object{}, false},
		{"", S3Object{}, false},
	} {
		got, err := ParseS3URI(c.uri)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseS3URI(%q) = %+v, %v", c.uri, got, err)
		}
		if err == nil && got.String() != c.uri {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), c.uri)
		}
		if err != nil && !strings.Contains(err.Error(), "s3://bucket/key") {
			t.Errorf("ParseS3URI(%q): %v does not say what is wanted", c.uri, err)
		}
	}
}

// Against s3rver: a missing key is fs.ErrNotExist, a missing bucket is not; Put replaces the object
// whole.
func TestS3ObjectOpenPut(t *testing.T) {
	ctx := context.Background()
	c := awstest.S3Client(t)
	bucket := awstest.Name(t, "b")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	o := S3Object{Bucket: bucket, Key: "evidence/latest.json"}
	if _, err := o.Open(ctx, c); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key: %v, want fs.ErrNotExist", err)
	}
	if _, err := (S3Object{Bucket: awstest.Name(t, "none"), Key: "k"}).Open(ctx, c); err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing bucket: %v, want an error that is not fs.ErrNotExist", err)
	}
	for _, body := range []string{`{"alerts":1}`, `{"alerts":2,"groups":[]}`} {
		if err := o.Put(ctx, c, []byte(body), "application/json"); err != nil {
			t.Fatal(err)
		}
		r, err := o.Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != body {
			t.Fatalf("read back %q, %v; want %q", got, err, body)
		}
	}
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(o.Key)})
	if err != nil || aws.ToString(head.ContentType) != "application/json" {
		t.Fatalf("Content-Type %q, %v", aws.ToString(head.ContentType), err)
	}
}
