package awstest

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/coattailcapital/ctc"
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

// PutAndRead creates a stream of n shards, puts trades on it with PutRecords under their
// instrument (ctc.InstrumentOf, as the producer writes them) and reads every shard back, as an
// event-source mapping would see them. It returns the stream's ARN.
func PutAndRead(t testing.TB, c *kinesis.Client, trades []ctc.Trade, n int32) (arn string, shards []ShardRecords) {
	t.Helper()
	ctx := context.Background()
	name := Name(t, "trades")
	if _, err := c.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: &name, ShardCount: &n}); err != nil {
		t.Fatal(err)
	}
	Wait(t, 10*time.Second, "stream "+name, func() bool {
		out, err := c.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &name})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive {
			arn = aws.ToString(out.StreamDescriptionSummary.StreamARN)
			return true
		}
		return false
	})
	for len(trades) > 0 {
		k := min(len(trades), 500)
		entries := make([]types.PutRecordsRequestEntry, k)
		for i := range entries {
			entries[i] = types.PutRecordsRequestEntry{Data: trades[i].AppendJSON(nil),
				PartitionKey: aws.String(ctc.InstrumentOf(trades[i].Symbol))}
		}
		out, err := c.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &name, Records: entries})
		if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
			t.Fatalf("PutRecords: %v (%d failed)", err, aws.ToInt32(out.FailedRecordCount))
		}
		trades = trades[k:]
	}
	return arn, ReadShards(t, c, name)
}
