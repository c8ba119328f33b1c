package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/kafka"
)

// With -kafka-brokers the consumer reads the topic in a group, partition states in
// -kafka-state-dir, into the same Iceberg tables and alert store: every trade once.
func TestKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the consumer and starts dynalite")
	}
	c, err := kfake.NewCluster(kfake.SeedTopics(3, "trades", "trades-dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	trades := simTrades(t, 20)
	p, err := kafka.Dial(kafka.Config{Topic: "trades", DLQTopic: "trades-dlq"}, kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(context.Background(), &ctc.Batch{Trades: trades}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	warehouse := filepath.Join(dir, "lake")
	cmd := exec.Command(binary(t), "-app", "kafka-app", "-create-tables",
		"-state-table", awstest.Name(t, "state"), "-leases-table", awstest.Name(t, "leases"),
		"-alerts-table", awstest.Name(t, "alerts"), "-aggregates-table", awstest.Name(t, "aggs"),
		"-dynamodb-endpoint", awstest.DynamoDB(t).URL, "-warehouse", warehouse, "-emf=false",
		"-kafka-brokers", brokers, "-kafka-topic", "trades", "-kafka-dlq-topic", "trades-dlq",
		"-kafka-state-dir", filepath.Join(dir, "states"), "-checkpoint-every", "200ms")
	cmd.Env = append(os.Environ(), "AWS_REGION="+awstest.Region, "AWS_ACCESS_KEY_ID="+awstest.S3AccessKey,
		"AWS_SECRET_ACCESS_KEY="+awstest.S3SecretKey, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	// The group's committed offsets follow the checkpoints: when they reach the end, all is in.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	defer func() {
		if t.Failed() {
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			time.Sleep(time.Second)
			t.Log(stderr.String())
		}
	}()
	awstest.Wait(t, 30*time.Second, "the group to commit every record", func() bool {
		ends, err := adm.ListEndOffsets(context.Background(), "trades")
		if err != nil {
			return false
		}
		committed, err := adm.FetchOffsets(context.Background(), "kafka-app")
		if err != nil {
			return false
		}
		done := true
		ends.Each(func(o kadm.ListedOffset) {
			if c, ok := committed.Lookup("trades", o.Partition); o.Offset > 0 && (!ok || c.At != o.Offset) {
				done = false
			}
		})
		return done
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("consumer: %v\n%s", err, stderr.String())
	}
	s, err := icesink.Open(context.Background(), icesink.Config{Dir: warehouse})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	seen := map[string]int{}
	for ts, err := range s.ScanTrades(context.Background(), icesink.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range ts {
			seen[tr.EventID.String()]++
		}
	}
	for _, tr := range trades {
		if seen[tr.EventID.String()] != 1 {
			t.Fatalf("trade %s is in raw_trades %d times\n%s", tr.EventID, seen[tr.EventID.String()], stderr.String())
		}
	}
	if len(seen) != len(trades) {
		t.Fatalf("raw_trades has %d trades, want %d", len(seen), len(trades))
	}
}
