package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// With -kafka-brokers the simulator's trades go to the Kafka topic, every one acknowledged.
func TestSimulatorToKafka(t *testing.T) {
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "trades", "trades-dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, []string{"-kafka-brokers", strings.Join(c.ListenAddrs(), ","), "-kafka-topic", "trades",
		"-kafka-dlq-topic", "trades-dlq", "-speed", "0", "-max-trades", "3000", "-start", "2024-01-15T10:00:00Z"}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "3000 records, 3000 sent, 0 dead-lettered") {
		t.Fatalf("stdout: %s", stdout.String())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, "trades")
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	if n != 3000 {
		t.Fatalf("the topic holds %d records, want 3000", n)
	}
	if code := run(ctx, []string{"-kafka-brokers", "x:1", "-kafka-sasl", "gssapi"}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("a bad -kafka-sasl: exit %d, want %d", code, exitUsage)
	}
}
