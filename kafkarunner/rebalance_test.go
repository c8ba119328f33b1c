package kafkarunner_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
)

// A second member joins while trades arrive, the cooperative-sticky balancer hands it some of the
// first member's partitions (revoked after a checkpoint), then the first member leaves cleanly
// and the second takes the rest: each partition's committed output is one engine's run over its
// records, and the alert store holds each alert once.
func TestRebalanceWhileRunning(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 4)
	addrs := c.ListenAddrs()
	store, tab, alerts := &partrunner.MemoryStateStore{}, ctctest.NewTable(), &alertStore{}
	member := func() (*kafkarunner.Consumer, context.CancelFunc, chan error) {
		cons, err := kafkarunner.New(kafkarunner.Config{
			Client: fast(addrs), Topic: topic, App: "app", Store: store,
			Runner: partrunner.Config{NewProcessor: newProc, Sinks: []ctc.Sink{alerts}},
			NewSinks: func(context.Context, string) ([]ctc.Sink, error) {
				return []ctc.Sink{tab.Sink()}, nil
			},
			CheckpointEvery: 50 * time.Millisecond, MaxPollRecords: 200,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- cons.Run(ctx) }()
		return cons, cancel, done
	}
	produce(t, addrs, testTrades(2000, 0))
	a, stopA, doneA := member()
	waitFor(t, 20*time.Second, "A to start", func() bool { return a.Stats().Records > 0 })
	b, stopB, doneB := member()
	defer stopB()
	produce(t, addrs, testTrades(2000, 2000))
	waitFor(t, 20*time.Second, "B to get partitions", func() bool { return b.Stats().Held > 0 })
	if a.Stats().Held == 0 || a.Stats().Held+b.Stats().Held > 4 {
		t.Fatalf("after the rebalance A holds %d, B %d", a.Stats().Held, b.Stats().Held)
	}
	produce(t, addrs, testTrades(2000, 4000))
	stopA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	produce(t, addrs, testTrades(2000, 6000))
	waitFor(t, 30*time.Second, "B to hold every partition", func() bool { return b.Stats().Held == 4 })

	logs := partitionLogs(t, addrs)
	total := 0
	for _, recs := range logs {
		total += len(recs)
	}
	if total != 8000 {
		t.Fatalf("%d records on the topic", total)
	}
	waitFor(t, 30*time.Second, "every trade committed", func() bool {
		n := 0
		for p := range logs {
			n += len(tab.Committed(fmt.Sprintf("app/%s/%d", topic, p)).Trades)
		}
		return n == total
	})
	stopB()
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
	var wantAlerts []ctc.Alert
	for p, recs := range logs {
		want := oracle(t, recs)
		got := tab.Committed(fmt.Sprintf("app/%s/%d", topic, p))
		if d := cmp.Diff(ctctest.Positionless(want), ctctest.Positionless(got)); d != "" {
			t.Fatalf("partition %d (-want +got):\n%s", p, d)
		}
		wantAlerts = append(wantAlerts, want.Output.Alerts...)
	}
	var gotAlerts []ctc.Alert
	for _, a := range alerts.snapshot() {
		gotAlerts = append(gotAlerts, a)
	}
	if d := cmp.Diff(alertIDs(wantAlerts), alertIDs(gotAlerts)); d != "" {
		t.Fatalf("alert store (-want +got):\n%s", d)
	}
	if a.Stats().Records+b.Stats().Records < int64(total) {
		t.Fatalf("A processed %d and B %d records of %d", a.Stats().Records, b.Stats().Records, total)
	}
}
