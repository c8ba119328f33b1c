package kafka_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/sink/kafka"
)

// The producer passes the sink suite: trades read back from the trade topic, dead letters from
// the DLQ topic (one partition each, so the order read is the order written).
func TestSinkConformance(t *testing.T) {
	ctctest.TestSink(t, ctctest.SinkFeatures{Trades: true, DeadLetters: true},
		func(t *testing.T) ctc.Sink {
			c := cluster(t, 1, kafka.DefaultTopic, kafka.DefaultDLQTopic)
			p, err := kafka.New(client(t, c, kafka.ClientOptions()...), kafka.Config{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { clusters.Delete(p) })
			clusters.Store(p, c)
			return p
		},
		func(t *testing.T, s ctc.Sink) *ctc.Batch {
			p := s.(*kafka.Producer)
			c, _ := clusters.Load(p)
			var b ctc.Batch
			b.Trades = decode(t, readAll(t, c.(*kfake.Cluster), p.Topic()))
			for _, r := range readAll(t, c.(*kfake.Cluster), p.DLQTopic()) {
				d, err := kafka.DeadLetterOf(r)
				if err != nil {
					t.Fatal(err)
				}
				b.DeadLetters = append(b.DeadLetters, d.DeadLetter)
			}
			return &b
		})
}
