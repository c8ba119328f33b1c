package kinesis_test

import (
	"testing"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/sink/kinesis"
)

// The producer passes the sink suite: its trades are read back from the trade stream and its dead
// letters from the envelopes on the DLQ stream (one shard each, so order is the stream's order).
func TestSinkConformance(t *testing.T) {
	ctctest.TestSink(t, ctctest.SinkFeatures{Trades: true, DeadLetters: true},
		func(t *testing.T) ctc.Sink {
			c := awstest.KinesisClient(t)
			cfg := kinesis.Config{Stream: awstest.Name(t, "trades"), DLQStream: awstest.Name(t, "dlq")}
			createStream(t, c, cfg.Stream, 1)
			createStream(t, c, cfg.DLQStream, 1)
			p, err := kinesis.New(c, cfg)
			if err != nil {
				t.Fatal(err)
			}
			return p
		},
		func(t *testing.T, s ctc.Sink) *ctc.Batch {
			p := s.(*kinesis.Producer)
			c := awstest.KinesisClient(t)
			var b ctc.Batch
			b.Trades = decode(t, readAll(t, c, p.Stream()))
			for _, r := range readAll(t, c, p.DLQStream()) {
				e, err := kinesis.ParseEnvelope(r.Data)
				if err != nil {
					t.Fatal(err)
				}
				b.DeadLetters = append(b.DeadLetters, ctc.DeadLetter{Reason: ctc.Reason(e.Reason), Detail: e.ErrorMessage,
					Data: e.Data, Position: e.Position})
			}
			return &b
		})
}
