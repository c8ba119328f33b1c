//go:build unix

package kafkarunner_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
)

// fileTable is a table sink shared by processes: each committed checkpoint is one file,
// dir/<pipeline>/<seq>, written atomically, and a checkpoint sequence at or below one committed is
// not committed again — the Iceberg sink's contract, which survives SIGKILL as Iceberg's does.
type fileTable struct {
	dir     string
	pending ctc.Batch
}

func (s *fileTable) Write(_ context.Context, b *ctc.Batch) error {
	s.pending.Trades = append(s.pending.Trades, b.Trades...)
	s.pending.Output.Append(&b.Output)
	s.pending.DeadLetters = append(s.pending.DeadLetters, b.DeadLetters...)
	return nil
}

func (s *fileTable) Commit(_ context.Context, cp ctc.Checkpoint) error {
	dir := filepath.Join(s.dir, url.PathEscape(cp.PipelineID))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	b := s.pending
	s.pending = ctc.Batch{}
	for _, seq := range seqs(dir) {
		if seq >= cp.Seq {
			return nil
		}
	}
	b.Output.Late = nil
	tmp := filepath.Join(dir, ".tmp")
	if err := os.WriteFile(tmp, b.AppendBinary(nil), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, strconv.FormatInt(cp.Seq, 10)))
}

func seqs(dir string) []int64 {
	es, _ := os.ReadDir(dir)
	var out []int64
	for _, e := range es {
		if n, err := strconv.ParseInt(e.Name(), 10, 64); err == nil {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// readTable returns what a pipeline committed, in checkpoint order.
func readTable(t testing.TB, dir, pipeline string) committed {
	t.Helper()
	d := filepath.Join(dir, url.PathEscape(pipeline))
	var c committed
	for _, seq := range seqs(d) {
		data, err := os.ReadFile(filepath.Join(d, strconv.FormatInt(seq, 10)))
		if err != nil {
			t.Fatal(err)
		}
		var b ctc.Batch
		if err := b.UnmarshalBinary(data); err != nil {
			t.Fatal(err)
		}
		c.Add(&b)
	}
	return c
}

// TestMemberProcess is the consumer process of TestTwoMembersOneKilled; it runs only as its child.
func TestMemberProcess(t *testing.T) {
	brokers := os.Getenv("CTC_KAFKARUNNER_MEMBER")
	if brokers == "" {
		t.Skip("the child process of TestTwoMembersOneKilled")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	store, err := kafkarunner.NewFileStateStore(os.Getenv("CTC_KAFKARUNNER_STATE"))
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("CTC_KAFKARUNNER_OUT")
	var mu sync.Mutex
	cons, err := kafkarunner.New(kafkarunner.Config{
		Client: fast(strings.Split(brokers, ",")), Topic: topic, App: "app", Store: store,
		Runner: partrunner.Config{NewProcessor: newProc},
		NewSinks: func(context.Context, string) ([]ctc.Sink, error) {
			return []ctc.Sink{&fileTable{dir: out}}, nil
		},
		CheckpointEvery: 100 * time.Millisecond,
		OnEvent: func(e kafkarunner.Event) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Printf("event %s %d %v\n", e.Kind, e.Partition, e.Err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cons.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

type child struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	events []string
	done   chan error
}

func (c *child) saw(prefix string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.ContainsFunc(c.events, func(e string) bool { return strings.HasPrefix(e, prefix) })
}

func startMember(t *testing.T, addrs []string, state, out string) *child {
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemberProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "CTC_KAFKARUNNER_MEMBER="+strings.Join(addrs, ","),
		"CTC_KAFKARUNNER_STATE="+state, "CTC_KAFKARUNNER_OUT="+out)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if e, ok := strings.CutPrefix(sc.Text(), "event "); ok {
				c.mu.Lock()
				c.events = append(c.events, e)
				c.mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		err := cmd.Wait()
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, stderr.String())
		}
		c.done <- err
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return c
}

// Two consumer processes share a group; one is killed with SIGKILL while it holds partitions
// with work not yet checkpointed, more trades arrive, and the other takes every partition over:
// each partition's committed output is exactly one engine's run over its records — nothing lost,
// nothing twice — and every alert is there once.
func TestTwoMembersOneKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two consumer processes")
	}
	c := newCluster(t, 4)
	addrs := c.ListenAddrs()
	produce(t, addrs, testTrades(3000, 0))
	state, out := t.TempDir(), t.TempDir()

	a := startMember(t, addrs, state, out)
	b := startMember(t, addrs, state, out)
	waitFor(t, 30*time.Second, "both members to hold partitions and A to checkpoint", func() bool {
		return a.saw("assigned") && b.saw("assigned") && a.saw("checkpointed")
	})
	// More trades while A processes, so that it dies with records read but not checkpointed.
	produce(t, addrs, testTrades(1500, 3000))
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	produce(t, addrs, testTrades(1500, 4500))

	logs := partitionLogs(t, addrs)
	want := map[int32]committed{}
	total := 0
	for p, recs := range logs {
		want[p] = oracle(t, recs)
		total += len(want[p].Trades)
	}
	if total != 6000 {
		t.Fatalf("the oracle passes %d trades of 6000", total)
	}
	waitFor(t, 60*time.Second, "B to commit every trade", func() bool {
		n := 0
		for p := range logs {
			n += len(readTable(t, out, fmt.Sprintf("app/%s/%d", topic, p)).Trades)
		}
		return n >= total
	})
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-b.done; err != nil {
		t.Fatalf("member B: %v", err)
	}
	if !b.saw("assigned") {
		t.Fatal("B never held a partition")
	}
	var wantAlerts, gotAlerts []ctc.Alert
	for p, w := range want {
		got := readTable(t, out, fmt.Sprintf("app/%s/%d", topic, p))
		if d := cmp.Diff(ctctest.Positionless(w), ctctest.Positionless(got)); d != "" {
			t.Fatalf("partition %d: committed output differs from one engine over its records (-want +got):\n%s", p, d)
		}
		wantAlerts = append(wantAlerts, w.Output.Alerts...)
		gotAlerts = append(gotAlerts, got.Output.Alerts...)
	}
	if d := cmp.Diff(alertIDs(wantAlerts), alertIDs(gotAlerts)); d != "" {
		t.Fatalf("alerts (-want +got):\n%s", d)
	}
	t.Logf("A's events: %d, B's events: %d", len(a.events), len(b.events))
}
