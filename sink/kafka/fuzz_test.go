package kafka_test

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/kafka"
)

// DeadLetterOf never panics on any headers, and reads back what DeadLetterRecord wrote.
func FuzzDeadLetter(f *testing.F) {
	f.Add("malformed", "detail", "binance", int64(3), []byte(`{"x":`), 0, "12", "")
	f.Add("invalid", "", "", int64(0), []byte{0xff}, 1, "-4", "x")
	f.Fuzz(func(t *testing.T, reason, detail, partition string, offset int64, data []byte, max int, rawOff, rawLen string) {
		// Arbitrary headers: no panic.
		_, _ = kafka.DeadLetterOf(&kgo.Record{Value: data, Headers: []kgo.RecordHeader{
			{Key: kafka.HeaderReason, Value: []byte(reason)}, {Key: kafka.HeaderOffset, Value: []byte(rawOff)},
			{Key: kafka.HeaderDataBytes, Value: []byte(rawLen)}, {Key: kafka.HeaderDetail, Value: []byte(detail)},
		}})
		if reason == "" || offset < 0 {
			return
		}
		in := ctc.DeadLetter{Reason: ctc.Reason(reason), Detail: detail, Data: data, Position: ctc.Position{Partition: partition, Offset: offset}}
		r := kafka.DeadLetterRecord(&in, "topic", max)
		got, err := kafka.DeadLetterOf(r)
		if err != nil {
			t.Fatalf("%+v: %v", in, err)
		}
		if got.Reason != in.Reason || got.Position != in.Position || got.Topic != "topic" ||
			got.DataBytes != int64(len(data)) || !bytes.HasPrefix(data, got.Data) ||
			len(got.Detail) > kafka.MaxDetailBytes || (len(detail) <= kafka.MaxDetailBytes && got.Detail != detail) {
			t.Fatalf("round trip of %+v gave %+v", in, got)
		}
	})
}
