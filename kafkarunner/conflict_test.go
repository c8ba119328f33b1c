package kafkarunner_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
)

// zombieStore lets another owner save partition 0 just before some of the consumer's saves, as a
// member that lost the partition without knowing would: the consumer's save then conflicts.
type zombieStore struct {
	partrunner.MemoryStateStore
	mu      sync.Mutex
	saves   int
	zombies int
}

func (z *zombieStore) Save(ctx context.Context, key string, st *partrunner.ShardState) error {
	z.mu.Lock()
	if strings.HasSuffix(key, "/0") {
		if z.saves++; z.saves%4 == 3 {
			if cur, err := z.MemoryStateStore.Load(ctx, key); err == nil && cur != nil {
				cur.Version++
				if err := z.MemoryStateStore.Save(ctx, key, cur); err == nil {
					z.zombies++
				}
			}
		}
	}
	z.mu.Unlock()
	return z.MemoryStateStore.Save(ctx, key, st)
}

// When a checkpoint finds that another owner saved the partition, the consumer reopens it from
// that state and reads again from its offset (dropping what it had read beyond it): the output is
// still exactly one engine's run over the partition's records.
func TestConflictReopensAndSeeks(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 2)
	addrs := c.ListenAddrs()
	store, tab := &zombieStore{}, ctctest.NewTable()
	cons, err := kafkarunner.New(kafkarunner.Config{
		Client: fast(addrs), Topic: topic, App: "app", Store: store,
		Runner: partrunner.Config{NewProcessor: newProc},
		NewSinks: func(context.Context, string) ([]ctc.Sink, error) {
			return []ctc.Sink{tab.Sink()}, nil
		},
		CheckpointEvery: 20 * time.Millisecond, MaxPollRecords: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cons.Run(ctx) }()
	for i := range 8 {
		produce(t, addrs, testTrades(500, i*500))
		time.Sleep(30 * time.Millisecond)
	}
	logs := partitionLogs(t, addrs)
	waitFor(t, 30*time.Second, "every trade committed", func() bool {
		n, want := 0, 0
		for p, recs := range logs {
			n += len(tab.Committed(fmt.Sprintf("app/%s/%d", topic, p)).Trades)
			want += len(recs)
		}
		return n == want
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cons.Stats().Conflicts == 0 || store.zombies == 0 {
		t.Fatalf("no conflict happened: %+v, %d zombie saves", cons.Stats(), store.zombies)
	}
	for p, recs := range logs {
		if d := cmp.Diff(ctctest.Positionless(oracle(t, recs)), ctctest.Positionless(tab.Committed(fmt.Sprintf("app/%s/%d", topic, p)))); d != "" {
			t.Fatalf("partition %d (-want +got):\n%s", p, d)
		}
	}
	t.Logf("%d conflicts", cons.Stats().Conflicts)
}
