package shardrunner

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kin "github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/awstest"
)

// events records a consumer's events in order.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.all)
}

func (e *events) count(kind EventKind) int {
	n := 0
	for _, ev := range e.list() {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

type fixture struct {
	t      *testing.T
	kc     *kin.Client
	stream string
	leases *LeaseTable
	store  StateStore
	tables *tables
	app    string
}

func newFixture(t *testing.T, shards int32) *fixture {
	t.Helper()
	ctx := context.Background()
	db := awstest.DynamoDBClient(t)
	f := &fixture{t: t, kc: awstest.KinesisClient(t), tables: newTables(), app: "app"}
	f.stream = newStream(t, f.kc, shards)
	lt := awstest.Name(t, "leases")
	if err := CreateLeaseTable(ctx, db, lt); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.leases, err = NewLeaseTable(db, lt); err != nil {
		t.Fatal(err)
	}
	st := awstest.Name(t, "state")
	if err := CreateStateTable(ctx, db, st); err != nil {
		t.Fatal(err)
	}
	s3c := awstest.S3Client(t)
	bucket := awstest.Name(t, "state")
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if f.store, err = NewDynamoStateStore(DynamoConfig{Client: db, Table: st, S3: s3c, Bucket: bucket}); err != nil {
		t.Fatal(err)
	}
	return f
}

// config is a consumer configuration with short timings.
func (f *fixture) config(client KinesisAPI, ev *events) ConsumerConfig {
	return ConsumerConfig{
		Client: client, Stream: f.stream, Leases: f.leases,
		Runner:          Config{App: f.app, Store: f.store, NewProcessor: newProc},
		NewSinks:        func(context.Context, string) ([]ctc.Sink, error) { return []ctc.Sink{f.tables.sink()}, nil },
		CheckpointEvery: 150 * time.Millisecond,
		LeaseDuration:   time.Second, RenewEvery: 100 * time.Millisecond,
		ShardSync:    200 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, IdlePoll: 100 * time.Millisecond,
		RetryBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Grace:   10 * time.Second,
		OnEvent: ev.add,
	}
}

// run starts a consumer and returns a function that stops it and returns Run's error.
func run(t *testing.T, cfg ConsumerConfig) (*Consumer, func() error) {
	t.Helper()
	c, err := NewConsumer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-errc:
			case <-time.After(30 * time.Second):
				runErr = errors.New("Run did not return within 30s of its context ending")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return c, stop
}

func (f *fixture) waitTrades(n int, timeout time.Duration) {
	f.t.Helper()
	awstest.Wait(f.t, timeout, "every trade to be committed", func() bool {
		got, _ := f.tables.counts()
		return got >= n
	})
}

// Every shard is read, throttled and expired reads are retried, every trade is committed once,
// and a clean stop checkpoints and releases every lease.
func TestConsumerReadsEveryShard(t *testing.T) {
	f := newFixture(t, 4)
	all := simTrades(t, 25, 1)
	cut := time.Date(2024, 3, 1, 0, 20, 0, 0, time.UTC)
	n := slices.IndexFunc(all, func(tr ctc.Trade) bool { return !tr.Timestamp.Before(cut) })
	trades, more := all[:n], all[n:]
	put(t, f.kc, f.stream, trades, []byte(`{"event_id":`), []byte("not json"))

	sp := &splice{throttle: 3, expire: 2, pages: true}
	var ev events
	var reports struct {
		sync.Mutex
		records, trades, deadLetters int64
	}
	cfg := f.config(splicedClient(t, sp), &ev)
	cfg.OnCheckpoint = func(r Report) {
		reports.Lock()
		reports.records += r.Stats.Records
		reports.trades += r.Stats.Trades
		reports.deadLetters += r.Stats.DeadLetters
		reports.Unlock()
	}
	c, stop := run(t, cfg)
	f.waitTrades(len(trades), 60*time.Second)
	awstest.Wait(t, 10*time.Second, "the two bad records to be checkpointed", func() bool {
		reports.Lock()
		defer reports.Unlock()
		return reports.records == int64(len(trades)+2)
	})
	st := c.Stats()
	if st.Leases != 4 || len(st.Shards) != 4 || st.Records != int64(len(trades)+2) {
		t.Errorf("stats: %d leases, %d shards, %d records; want 4, 4, %d", st.Leases, len(st.Shards), st.Records, len(trades)+2)
	}
	if st.Throttled < 3 || st.ExpiredIterators != 2 {
		t.Errorf("stats: %d throttled, %d expired iterators; want >= 3 and 2", st.Throttled, st.ExpiredIterators)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	f.tables.check(t, trades)
	reports.Lock()
	if reports.trades != int64(len(trades)) || reports.deadLetters != 2 {
		t.Errorf("reports: %d trades and %d dead letters, want %d and 2", reports.trades, reports.deadLetters, len(trades))
	}
	reports.Unlock()
	sp.mu.Lock()
	if sp.tokenCalls == 0 || sp.badTokenUse != 0 {
		t.Errorf("ListShards paging: %d calls with a NextToken, %d of them also naming the stream; want > 0 and 0", sp.tokenCalls, sp.badTokenUse)
	}
	sp.mu.Unlock()
	if n := ev.count(EventReleased); n != 4 {
		t.Errorf("%d leases released at shutdown, want 4", n)
	}
	leases, err := f.leases.List(context.Background(), f.app)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leases {
		if l.Owner != "" {
			t.Errorf("lease %s still owned by %s after a clean stop", l.Key, l.Owner)
		}
	}
	if c.Stats().Leases != 0 {
		t.Errorf("stats say %d leases held after the stop", c.Stats().Leases)
	}

	// A second consumer continues where the first stopped: nothing is processed twice.
	put(t, f.kc, f.stream, more)
	_, stop2 := run(t, f.config(f.kc, &events{}))
	f.waitTrades(len(trades)+len(more), 60*time.Second)
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
	f.tables.check(t, all)
}

// A SplitShard before the consumer starts (its parent unread) and a MergeShards while it reads:
// children start only after their parents finished, every trade is committed exactly once, and
// no alert twice.
func TestConsumerResharding(t *testing.T) {
	f := newFixture(t, 2)
	trades := simTrades(t, 40, 1)
	a, b := len(trades)/3, 2*len(trades)/3
	put(t, f.kc, f.stream, trades[:a])
	ctx := context.Background()
	shards := func() []ktypes.Shard {
		out, err := f.kc.ListShards(ctx, &kin.ListShardsInput{StreamName: aws.String(f.stream)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Shards
	}
	open := func() []ktypes.Shard {
		var o []ktypes.Shard
		for _, s := range shards() {
			if s.SequenceNumberRange.EndingSequenceNumber == nil {
				o = append(o, s)
			}
		}
		return o
	}
	first := open()[0]
	mid, err := ParseHashRange(aws.ToString(first.HashKeyRange.StartingHashKey), aws.ToString(first.HashKeyRange.EndingHashKey))
	if err != nil {
		t.Fatal(err)
	}
	half := mid.Start
	half[0] = mid.Start[0]/2 + mid.End[0]/2
	if _, err := f.kc.SplitShard(ctx, &kin.SplitShardInput{StreamName: aws.String(f.stream), ShardToSplit: first.ShardId,
		NewStartingHashKey: aws.String(half.String())}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, f.kc, f.stream)
	put(t, f.kc, f.stream, trades[a:b])
	// The consumer starts after the split, with the parent unread: the children wait for it.
	var ev events
	c, stop := run(t, f.config(f.kc, &ev))
	f.waitTrades(a+(b-a)/2, 60*time.Second) // mid-stream
	// Merge the two adjacent open shards with the lowest hash keys: the split's first child and
	// its sibling.
	o := open()
	slices.SortFunc(o, func(x, y ktypes.Shard) int {
		hx, _ := ParseHashKey(aws.ToString(x.HashKeyRange.StartingHashKey))
		hy, _ := ParseHashKey(aws.ToString(y.HashKeyRange.StartingHashKey))
		return hx.Compare(hy)
	})
	if _, err := f.kc.MergeShards(ctx, &kin.MergeShardsInput{StreamName: aws.String(f.stream),
		ShardToMerge: o[0].ShardId, AdjacentShardToMerge: o[1].ShardId}); err != nil {
		t.Fatal(err)
	}
	waitActive(t, f.kc, f.stream)
	put(t, f.kc, f.stream, trades[b:])
	f.waitTrades(len(trades), 90*time.Second)
	all := shards()
	awstest.Wait(t, 30*time.Second, "every closed shard to finish", func() bool {
		return ev.count(EventFinished) >= len(all)-len(open())
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("%d shards after a split and a merge of two, want 5", len(all))
	}
	f.tables.check(t, trades)
	// Whale alerts depend on nothing but their trade: resharding changes none of them.
	want := oracleAlerts(t, trades, ctc.Whale)
	if len(want) == 0 {
		t.Fatal("the simulated trades have no whale")
	}
	if d := cmp.Diff(want, f.tables.alertsOf(ctc.Whale)); d != "" {
		t.Errorf("whale alerts differ from one processor over the trades (-want +got):\n%s", d)
	}

	// Children after parents: a shard's first open comes after each parent's finish.
	finishedAt, openedAt := map[string]int{}, map[string]int{}
	for i, e := range ev.list() {
		switch e.Kind {
		case EventFinished:
			if _, ok := finishedAt[e.Shard]; !ok {
				finishedAt[e.Shard] = i
			}
		case EventOpened:
			if _, ok := openedAt[e.Shard]; !ok {
				openedAt[e.Shard] = i
			}
		}
	}
	children := 0
	for _, s := range all {
		id := aws.ToString(s.ShardId)
		for _, p := range []string{aws.ToString(s.ParentShardId), aws.ToString(s.AdjacentParentShardId)} {
			if p == "" {
				continue
			}
			children++
			fin, ok := finishedAt[p]
			switch {
			case !ok:
				t.Errorf("parent %s of %s never finished", p, id)
			case openedAt[id] < fin:
				t.Errorf("%s opened (event %d) before its parent %s finished (event %d)", id, openedAt[id], p, fin)
			}
		}
	}
	if children != 4 {
		t.Errorf("%d parent links, want 4 (two for the split's children, two for the merge)", children)
	}
	if c.Stats().Conflicts != 0 {
		t.Errorf("%d conflicts with one consumer", c.Stats().Conflicts)
		for _, e := range ev.list() {
			t.Logf("%s %s %v", e.Kind, e.Shard, e.Err)
		}
	}
}

// owners counts the unfinished leases each consumer holds, as the lease table says.
func (f *fixture) owners() map[string]int {
	f.t.Helper()
	ls, err := f.leases.List(context.Background(), f.app)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range ls {
		if !l.Finished && l.Owner != "" {
			out[l.Owner]++
		}
	}
	return out
}

// Two consumers split the shards evenly; when one stops, the other takes its shards over, and
// every trade is committed exactly once.
func TestConsumersShareShards(t *testing.T) {
	f := newFixture(t, 5)
	all := simTrades(t, 20, 1)
	half := len(all) / 2
	put(t, f.kc, f.stream, all[:half])
	cfgA, cfgB := f.config(f.kc, &events{}), f.config(f.kc, &events{})
	cfgA.Owner, cfgB.Owner = "a", "b"
	a, stopA := run(t, cfgA)
	awstest.Wait(t, 20*time.Second, "a to hold every lease", func() bool { return f.owners()["a"] == 5 })
	b, stopB := run(t, cfgB)
	awstest.Wait(t, 30*time.Second, "a and b to split the shards 3/2", func() bool {
		o := f.owners()
		return o["a"]+o["b"] == 5 && o["a"] >= 2 && o["b"] >= 2
	})
	f.waitTrades(half, 60*time.Second)
	if a.Stats().Records == 0 || b.Stats().Records == 0 {
		t.Errorf("records read: a %d, b %d; want both > 0", a.Stats().Records, b.Stats().Records)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	awstest.Wait(t, 20*time.Second, "a to take b's shards", func() bool { return f.owners()["a"] == 5 })
	put(t, f.kc, f.stream, all[half:])
	f.waitTrades(len(all), 60*time.Second)
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	f.tables.check(t, all)
}

// A lease taken by another consumer stops the shard; a state saved by another owner stops it
// without committing more; in both cases the shard resumes from its last saved state, and
// nothing is committed twice.
func TestConsumerLeaseLossAndConflict(t *testing.T) {
	f := newFixture(t, 1)
	all := simTrades(t, 20, 1)
	third := len(all) / 3
	put(t, f.kc, f.stream, all[:third])
	var ev events
	cfg := f.config(f.kc, &ev)
	cfg.Owner = "a"
	c, stop := run(t, cfg)
	f.waitTrades(third, 60*time.Second)
	ctx := context.Background()

	// A thief takes the lease and never renews it: a loses the shard, and takes it back once the
	// thief's lease expires.
	ls, err := f.leases.List(ctx, f.app)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err = f.leases.Acquire(ctx, ls[0], "thief", time.Now()); !errors.Is(err, ErrLeaseLost) {
			break
		}
		if ls, err = f.leases.List(ctx, f.app); err != nil {
			t.Fatal(err)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	awstest.Wait(t, 10*time.Second, "a to see the lease lost", func() bool { return ev.count(EventLost) == 1 })
	awstest.Wait(t, 10*time.Second, "a to take the expired lease back", func() bool { return f.owners()["a"] == 1 })
	put(t, f.kc, f.stream, all[third:2*third])
	f.waitTrades(2*third, 60*time.Second)

	// Another owner saves the shard's state (as a consumer that took the shard over would): a's
	// next checkpoint conflicts, and a reopens the shard from that state.
	key := cfg.Runner.Key("shardId-000000000000")
	st, err := f.store.Load(ctx, key)
	if err != nil || st == nil {
		t.Fatalf("state of %s: %v, %v", key, st, err)
	}
	st.Version++
	if err := f.store.Save(ctx, key, st); err != nil {
		t.Fatal(err)
	}
	put(t, f.kc, f.stream, all[2*third:])
	awstest.Wait(t, 10*time.Second, "a's checkpoint to conflict", func() bool { return c.Stats().Conflicts >= 1 })
	f.waitTrades(len(all), 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	f.tables.check(t, all)
	if n := ev.count(EventOpened); n < 3 {
		t.Errorf("the shard opened %d times, want >= 3 (start, after the lost lease, after the conflict)", n)
	}
}

// With Start Latest a new application reads only what is put after it started.
func TestConsumerStartLatest(t *testing.T) {
	f := newFixture(t, 2)
	all := simTrades(t, 20, 1)
	half := len(all) / 2
	put(t, f.kc, f.stream, all[:half])
	sp := &splice{}
	cfg := f.config(splicedClient(t, sp), &events{})
	cfg.Start = Latest
	_, stop := run(t, cfg)
	awstest.Wait(t, 20*time.Second, "both shards to have their LATEST iterators", func() bool {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		return sp.iterators >= 2
	})
	put(t, f.kc, f.stream, all[half:])
	f.waitTrades(len(all)-half, 60*time.Second)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	f.tables.check(t, all[half:])
}

func TestNewConsumerRejects(t *testing.T) {
	f := &fixture{leases: &LeaseTable{}}
	good := func() ConsumerConfig {
		return ConsumerConfig{Client: &kin.Client{}, Stream: "s", Leases: f.leases,
			Runner: Config{App: "a", Store: &MemoryStateStore{}, NewProcessor: newProc}}
	}
	if _, err := NewConsumer(good()); err != nil {
		t.Fatalf("a valid configuration: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*ConsumerConfig)
		want string
	}{
		{"no client", func(c *ConsumerConfig) { c.Client = nil }, "Client is required"},
		{"no stream", func(c *ConsumerConfig) { c.Stream = "" }, "Stream is required"},
		{"no leases", func(c *ConsumerConfig) { c.Leases = nil }, "Leases is required"},
		{"no app", func(c *ConsumerConfig) { c.Runner.App = "" }, "App is required"},
		{"bad start", func(c *ConsumerConfig) { c.Start = "AT_TIMESTAMP" }, "Start must be"},
		{"renewal slower than expiry", func(c *ConsumerConfig) { c.LeaseDuration, c.RenewEvery = time.Second, 2*time.Second }, "RenewEvery"},
		{"negative duration", func(c *ConsumerConfig) { c.Grace = -1 }, "must not be negative"},
		{"too many records", func(c *ConsumerConfig) { c.MaxRecords = 10_001 }, "MaxRecords"},
		{"no commit attempt", func(c *ConsumerConfig) { c.CommitAttempts = -1 }, "CommitAttempts"},
	} {
		cfg := good()
		c.edit(&cfg)
		if _, err := NewConsumer(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}
