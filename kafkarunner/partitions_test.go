package kafkarunner_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
)

// member is one consumer process of the model: its partitions and where it reads each.
type member struct {
	ps  *kafkarunner.Partitions
	pos map[int32]int
}

// However partitions move between members — revoked cleanly, taken from a member that does not
// know it lost them (and goes on processing and checkpointing), lost in a crash, delivered again
// from further back — and whatever fails in between (a state save, a sink commit), each
// partition's table rows are exactly what one engine run once over the partition's records
// produces, and the alert store holds exactly the alerts of those runs.
func TestExactlyOnceAcrossRebalancesAndCrashes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		trades := ctctest.Trades(ctctest.TradeGen{MaxTrades: 200}).Draw(t, "trades")
		nParts := rapid.IntRange(1, 3).Draw(t, "partitions")
		logs := logs(trades, nParts)

		ctx := context.Background()
		store, tab, alerts := &partrunner.MemoryStateStore{}, ctctest.NewTable(), &alertStore{}
		cfg := kafkarunner.Config{
			App: "app", Topic: "trades", Store: store,
			Runner: partrunner.Config{NewProcessor: newProc, Sinks: []ctc.Sink{alerts}},
			NewSinks: func(context.Context, string) ([]ctc.Sink, error) {
				return []ctc.Sink{tab.Sink()}, nil
			},
		}
		newMember := func() *member {
			ps, err := kafkarunner.NewPartitions(cfg)
			if err != nil {
				t.Fatal(err)
			}
			return &member{ps: ps, pos: map[int32]int{}}
		}
		members := []*member{newMember(), newMember(), newMember()}
		// seek positions m at off, or earlier (Kafka redelivers from a committed offset that lags).
		seek := func(m *member, p int32, off int64) {
			at := max(0, int(off))
			m.pos[p] = max(0, at-rapid.IntRange(0, 4).Draw(t, "redeliver"))
		}
		crash := func(i int) {
			members[i] = newMember() // everything it held in memory, sinks' buffers included, is gone
		}
		open := func(m *member, p int32) bool {
			off, err := m.ps.Open(ctx, p)
			if err != nil {
				if errors.Is(err, errCrash) {
					return false
				}
				t.Fatal(err)
			}
			seek(m, p, off)
			return true
		}
		steps := rapid.IntRange(0, 60).Draw(t, "steps")
		faults := 0
		for range steps {
			i := rapid.IntRange(0, len(members)-1).Draw(t, "member")
			m := members[i]
			p := int32(rapid.IntRange(0, nParts-1).Draw(t, "partition"))
			switch rapid.IntRange(0, 9).Draw(t, "action") {
			case 0, 1: // assigned p (whoever else holds it may not know yet)
				if !open(m, p) {
					crash(i)
				}
			case 2: // revoked cleanly
				if m.ps.Held(p) {
					if _, err := m.ps.Checkpoint(ctx, p); err != nil && !errors.Is(err, partrunner.ErrConflict) {
						if !errors.Is(err, errCrash) {
							t.Fatal(err)
						}
						crash(i)
						continue
					}
					m.ps.Drop(ctx, p)
				}
			case 3: // the process dies
				crash(i)
			case 4, 5: // a checkpoint, perhaps failing
				if !m.ps.Held(p) {
					continue
				}
				if faults < 4 && rapid.IntRange(0, 3).Draw(t, "fault") == 0 {
					faults++
					if rapid.Bool().Draw(t, "save fails") {
						store.FailSave = func(string, *partrunner.ShardState) error { store.FailSave = nil; return errCrash }
					} else {
						tab.FailCommit(1, errCrash)
					}
				}
				off, err := m.ps.Checkpoint(ctx, p)
				store.FailSave = nil
				tab.FailCommit(0, nil)
				switch {
				case err == nil:
				case errors.Is(err, partrunner.ErrConflict):
					if m.ps.Held(p) {
						seek(m, p, off)
					}
				case errors.Is(err, errCrash):
					crash(i) // the consumer stops on such an error; its partitions go elsewhere
				default:
					t.Fatal(err)
				}
			default: // a poll's records
				if !m.ps.Held(p) {
					continue
				}
				n := rapid.IntRange(1, 40).Draw(t, "n")
				end := min(len(logs[p]), m.pos[p]+n)
				m.ps.Process(p, logs[p][m.pos[p]:end])
				m.pos[p] = end
			}
		}
		// Finally one healthy member takes every partition and reads it to its end.
		last := newMember()
		for p := range int32(nParts) {
			if !open(last, p) {
				t.Fatal("open failed without faults")
			}
			last.ps.Process(p, logs[p][last.pos[p]:])
			if _, err := last.ps.Checkpoint(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		wantAlerts := map[string]ctc.Alert{}
		for p := range int32(nParts) {
			want := oracle(t, logs[p])
			got := tab.Committed(fmt.Sprintf("app/trades/%d", p))
			if d := cmp.Diff(ctctest.Positionless(want), ctctest.Positionless(got)); d != "" {
				t.Fatalf("partition %d: committed output differs from one engine over its records (-want +got):\n%s", p, d)
			}
			for _, a := range want.Output.Alerts {
				wantAlerts[a.AlertID.String()] = a
			}
		}
		if d := cmp.Diff(wantAlerts, alerts.snapshot()); d != "" {
			t.Fatalf("alert store (-want +got):\n%s", d)
		}
	})
}

// The topic's partition count is recorded with the states; another count is refused, with a
// message that says why, unless AcceptRepartition is set.
func TestCheckLayout(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := &partrunner.MemoryStateStore{}
	cfg := kafkarunner.Config{App: "app", Topic: "trades", Store: store, Runner: partrunner.Config{NewProcessor: newProc}}
	ps, err := kafkarunner.NewPartitions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if acc, err := ps.CheckLayout(ctx, 4); err != nil || acc {
			t.Fatalf("CheckLayout(4) = %v, %v", acc, err)
		}
	}
	_, err = ps.CheckLayout(ctx, 6)
	if !errors.Is(err, kafkarunner.ErrRepartitioned) {
		t.Fatalf("CheckLayout(6) = %v, want ErrRepartitioned", err)
	}
	t.Log(err)
	cfg.AcceptRepartition = true
	ps, _ = kafkarunner.NewPartitions(cfg)
	if acc, err := ps.CheckLayout(ctx, 6); err != nil || !acc {
		t.Fatalf("accepting: CheckLayout(6) = %v, %v", acc, err)
	}
	cfg.AcceptRepartition = false
	ps, _ = kafkarunner.NewPartitions(cfg)
	if _, err := ps.CheckLayout(ctx, 6); err != nil {
		t.Fatalf("after accepting 6: %v", err)
	}
}
