package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// ShardRecords is what GetRecords returns for one shard, read from its start to its current end.
type ShardRecords struct {
	Shard   string
	Records []types.Record
}

// ReadShards reads every shard of a stream from TRIM_HORIZON until a read comes back empty.
func ReadShards(t testing.TB, c *kinesis.Client, stream string) []ShardRecords {
	t.Helper()
	ctx := context.Background()
	ls, err := c.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var out []ShardRecords
	for _, sh := range ls.Shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId,
			ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		s := ShardRecords{Shard: aws.ToString(sh.ShardId)}
		for iter := it.ShardIterator; iter != nil; {
			res, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			s.Records = append(s.Records, res.Records...)
			if len(res.Records) == 0 {
				break
			}
			iter = res.NextShardIterator
		}
		out = append(out, s)
	}
	return out
}

// KinesisEvent wraps records of one shard of the stream arn as a Lambda event-source mapping
// delivers them.
func KinesisEvent(arn, shard string, recs []types.Record) events.KinesisEvent {
	var ev events.KinesisEvent
	for _, r := range recs {
		ev.Records = append(ev.Records, events.KinesisEventRecord{
			AwsRegion: Region, EventID: shard + ":" + aws.ToString(r.SequenceNumber),
			EventName: "aws:kinesis:record", EventSource: "aws:kinesis", EventSourceArn: arn, EventVersion: "1.0",
			InvokeIdentityArn: "arn:aws:iam::000000000000:role/ctc-stream",
			Kinesis: events.KinesisRecord{
				ApproximateArrivalTimestamp: events.SecondsEpochTime{Time: aws.ToTime(r.ApproximateArrivalTimestamp)},
				Data:                        r.Data, PartitionKey: aws.ToString(r.PartitionKey),
				SequenceNumber: aws.ToString(r.SequenceNumber), KinesisSchemaVersion: "1.0",
			},
		})
	}
	return ev
}
