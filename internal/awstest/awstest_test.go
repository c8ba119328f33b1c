package awstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

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

// A client that hangs up in the middle of a request (a cancelled context, a killed process) does
// not take the server down: kinesalite and dynalite rethrow the request's error.
func TestServersSurviveHungUpClients(t *testing.T) {
	for _, ep := range []Endpoint{Kinesis(t), DynamoDB(t)} {
		c, err := net.Dial("tcp", strings.TrimPrefix(ep.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 1000\r\n\r\n{\"Stream")
		c.Close()
	}
	time.Sleep(200 * time.Millisecond) // let the servers see the hang-up
	ctx := context.Background()
	if _, err := KinesisClient(t).ListStreams(ctx, &kinesis.ListStreamsInput{}); err != nil {
		t.Fatalf("kinesalite after a hung-up client: %v", err)
	}
	if _, err := DynamoDBClient(t).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("dynalite after a hung-up client: %v", err)
	}
}
