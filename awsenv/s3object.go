package awsenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// S3Object is one S3 object, named by the URI s3://Bucket/Key.
type S3Object struct{ Bucket, Key string }

// ParseS3URI parses s3://bucket/key. The key must name an object: not empty, not ending in "/".
func ParseS3URI(uri string) (S3Object, error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	bucket, key, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" || key == "" || strings.HasSuffix(key, "/") {
		return S3Object{}, fmt.Errorf("awsenv: %q does not name an S3 object: want s3://bucket/key, like s3://my-bucket/evidence/latest.json", uri)
	}
	return S3Object{Bucket: bucket, Key: key}, nil
}

// String returns the object's URI, s3://Bucket/Key.
func (o S3Object) String() string { return "s3://" + o.Bucket + "/" + o.Key }

// Open starts reading the object with c; the caller closes the body. A missing object (NoSuchKey)
// is an error that is fs.ErrNotExist (errors.Is), so api.EvidenceReader serves it as no report; a
// missing bucket, a denied read or any other failure is another error.
//
// S3 answers a GetObject of a missing key with 403 AccessDenied instead of 404 NoSuchKey when the
// caller may not s3:ListBucket the bucket: a reader that must tell a missing object from a denied
// one needs that permission too.
func (o S3Object) Open(ctx context.Context, c *s3.Client) (io.ReadCloser, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)})
	if err != nil {
		var nsk *types.NoSuchKey
		var api smithy.APIError
		if errors.As(err, &nsk) || errors.As(err, &api) && api.ErrorCode() == "NoSuchKey" {
			return nil, fmt.Errorf("awsenv: %s: %w (%w)", o, fs.ErrNotExist, err)
		}
		return nil, fmt.Errorf("awsenv: read %s: %w", o, err)
	}
	return out.Body, nil
}

// Put writes body as the object with c, in one PutObject with its Content-Type: a reader gets the
// previous object or this one, whole, never a part of it.
func (o S3Object) Put(ctx context.Context, c *s3.Client, body []byte, contentType string) error {
	in := &s3.PutObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body)))}
	if contentType != "" {
		in.ContentType = aws.String(contentType)
	}
	if _, err := c.PutObject(ctx, in); err != nil {
		return fmt.Errorf("awsenv: write %s: %w", o, err)
	}
	return nil
}
