package awstest

import (
	"context"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// The servers answer the real SDK clients.
func TestServers(t *testing.T) {
	ctx := context.Background()
	k := KinesisClient(t)
	name := Name(t, "s")
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatalf("kinesis CreateStream: %v", err)
	}
	ls, err := k.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(name)})
	if err != nil || len(ls.Shards) != 2 {
		t.Fatalf("kinesis ListShards: %v, %d shards", err, len(ls.Shards))
	}
	d := DynamoDBClient(t)
	if _, err := d.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("dynamodb ListTables: %v", err)
	}
	s := S3Client(t)
	b := Name(t, "b")
	if _, err := s.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
		t.Fatalf("s3 CreateBucket: %v", err)
	}
}
