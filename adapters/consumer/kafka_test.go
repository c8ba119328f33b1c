package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/sink/embedded"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/kafka"
)

// With -kafka-brokers the consumer reads the topic in a group, partition states in
// -kafka-state-dir, into the same Iceberg tables and alert store: every trade once.
func TestKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the consumer and starts dynalite")
	}
	runKafka(t, func(dir string) []string {
		return []string{"-create-tables",
			"-state-table", awstest.Name(t, "state"), "-leases-table", awstest.Name(t, "leases"),
			"-alerts-table", awstest.Name(t, "alerts"), "-aggregates-table", awstest.Name(t, "aggs"),
			"-dynamodb-endpoint", awstest.DynamoDB(t).URL}
	}, []string{"AWS_REGION=" + awstest.Region, "AWS_ACCESS_KEY_ID=" + awstest.S3AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + awstest.S3SecretKey}, nil)
}

// A Kafka shop without AWS: partition states in -kafka-state-dir, alerts in the SQLite file of
// -alerts-db, Iceberg tables in a local warehouse, the API and dashboard on -addr. No AWS
// variable is set and every AWS endpoint is a closed port, so any AWS call would fail the run;
// -create-tables has nothing to create. The API serves the alerts the store holds.
func TestKafkaWithoutAWS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the consumer")
	}
	var db string
	stderr := runKafka(t, func(dir string) []string {
		db = filepath.Join(dir, "alerts.db")
		return []string{"-create-tables", "-alerts-db", db, "-addr", "127.0.0.1:0"}
	}, []string{"AWS_ENDPOINT_URL=http://127.0.0.1:9"}, func(stderr *syncBuffer) {
		m := regexp.MustCompile(`url=(http://[0-9.:]+)`).FindStringSubmatch(stderr.String())
		if m == nil {
			t.Fatalf("no API address logged:\n%s", stderr.String())
		}
		res, err := http.Get(m[1] + "/alerts?view=raw&limit=200")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var page struct {
			Alerts []ctc.Alert `json:"alerts"`
		}
		if err := json.NewDecoder(res.Body).Decode(&page); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /alerts: %d %v", res.StatusCode, err)
		}
		store, err := embedded.Open(db)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close(context.Background())
		stored, err := store.QueryAlerts(context.Background(), ctc.AlertQuery{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) == 0 || len(page.Alerts) != len(stored) {
			t.Fatalf("the API shows %d alerts, the store holds %d (want the same, and some)", len(page.Alerts), len(stored))
		}
		for i := range stored {
			if page.Alerts[i].AlertID != stored[i].AlertID {
				t.Fatalf("alert %d: the API shows %s, the store holds %s", i, page.Alerts[i].AlertID, stored[i].AlertID)
			}
		}
	})
	if strings.Contains(stderr, "127.0.0.1:9") {
		t.Errorf("an AWS endpoint was called:\n%s", stderr)
	}
}

// runKafka produces simulated trades to a kfake topic, runs the consumer binary on it with the
// flags args gives (for a fresh directory) and the environment env (over a clean one: no AWS
// variable of the machine's), waits for the group to commit every record, calls live (if any)
// while the consumer still runs, stops it, and checks that every trade is in raw_trades once.
func runKafka(t *testing.T, args func(dir string) []string, env []string, live func(*syncBuffer)) string {
	t.Helper()
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
	cmd := exec.Command(binary(t), append([]string{"-app", "kafka-app", "-warehouse", warehouse, "-emf=false",
		"-kafka-brokers", brokers, "-kafka-topic", "trades", "-kafka-dlq-topic", "trades-dlq",
		"-kafka-state-dir", filepath.Join(dir, "states"), "-checkpoint-every", "200ms"}, args(dir)...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "CTC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "AWS_EC2_METADATA_DISABLED=true", "AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null"), env...)
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
	if live != nil {
		live(&stderr)
	}
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
	return stderr.String()
}
