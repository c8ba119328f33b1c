package kinesislambda

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/coattailcapital/ctc/shardrunner"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ id, shard, seq string }{
		{"shardId-000000000000:49590338271490256608559692538361571095921575989136588898", "shardId-000000000000", "49590338271490256608559692538361571095921575989136588898"},
		{"shardId-000000000007:1", "shardId-000000000007", "1"},
		{"shardId-000000000000", "", ""}, {":1", "", ""}, {"s:", "", ""}, {"", "", ""},
	} {
		shard, seq, err := ParseEventID(c.id)
		if shard != c.shard || seq != c.seq || (err == nil) != (c.shard != "") {
			t.Errorf("ParseEventID(%q) = %q, %q, %v", c.id, shard, seq, err)
		}
	}
	for _, c := range []struct{ arn, name string }{
		{"arn:aws:kinesis:us-east-1:123456789012:stream/coattail-trades", "coattail-trades"},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/coattail-trades/consumer/lambda:1700000000", "coattail-trades"},
		{"arn:aws-cn:kinesis:cn-north-1:123456789012:stream/x", "x"},
		{"arn:aws:kinesis:us-east-1:123456789012:stream/", ""},
		{"arn:aws:sqs:us-east-1:123456789012:queue", ""},
		{"coattail-trades", ""},
	} {
		name, err := StreamName(c.arn)
		if name != c.name || (err == nil) != (c.name != "") {
			t.Errorf("StreamName(%q) = %q, %v", c.arn, name, err)
		}
	}
	for _, c := range []struct {
		a, b string
		want int
	}{{"1", "2", -1}, {"10", "9", 1}, {"", "1", -1}, {"123", "123", 0}, {"49590338271490256608559692538361571095921575989136588898", "49590338271490256608559692538361571095921575989136588899", -1}} {
		if got := shardrunner.CompareSequence(c.a, c.b); got != c.want {
			t.Errorf("CompareSequence(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// Whatever an invocation's payload holds, grouping it never panics, and the groups hold every
// record once, in order within each shard.
func FuzzGroups(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventID":"shardId-000000000000:1","eventSourceARN":"arn:aws:kinesis:us-east-1:0:stream/s","kinesis":{"sequenceNumber":"1","partitionKey":"BTC","data":"e30="}},` +
		`{"eventID":"shardId-000000000001:2","eventSourceARN":"arn:aws:kinesis:us-east-1:0:stream/s","kinesis":{"sequenceNumber":"2","partitionKey":"ETH","data":"e30="}}]}`))
	f.Add([]byte(`{"Records":[{"eventID":"x"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev events.KinesisEvent
		if json.Unmarshal(b, &ev) != nil {
			return
		}
		gs, err := groups(&ev)
		if err != nil {
			return
		}
		n := 0
		for _, g := range gs {
			for _, r := range g.recs {
				if !strings.HasPrefix(r.EventID, g.shard+":") {
					t.Fatalf("record %s in the group of %s", r.EventID, g.shard)
				}
			}
			n += len(g.recs)
		}
		if n != len(ev.Records) {
			t.Fatalf("%d records grouped, %d in the event", n, len(ev.Records))
		}
	})
}
