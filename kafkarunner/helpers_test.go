package kafkarunner_test

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/quality"
)

var errCrash = errors.New("crash")

func newProc() (*ctc.Processor, error) {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return nil, err
	}
	return ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...))
}

// committed is what a table holds for one pipeline, late trades aside; the tables are
// ctctest.Table, the Iceberg sink's Committer contract, with a sink per process.
type committed = ctctest.Committed

// alertStore models the hot alert stores: idempotent on alert_id. Safe for concurrent use.
type alertStore struct {
	mu     sync.Mutex
	alerts map[string]ctc.Alert
}

func (a *alertStore) Write(_ context.Context, b *ctc.Batch) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.alerts == nil {
		a.alerts = map[string]ctc.Alert{}
	}
	for _, al := range b.Output.Alerts {
		a.alerts[al.AlertID.String()] = al
	}
	return nil
}

func (a *alertStore) snapshot() map[string]ctc.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]ctc.Alert{}
	for k, v := range a.alerts {
		out[k] = v
	}
	return out
}

// partitionOf is the model's partitioner: a key's partition depends on the key alone.
func partitionOf(key string, n int) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32() % uint32(n))
}

// logs lays trades out on n partitions keyed by instrument, as the producer does, with a repeated
// record and one that is not a trade.
func logs(trades []ctc.Trade, n int) [][]kafkarunner.Record {
	out := make([][]kafkarunner.Record, n)
	add := func(p int32, key string, v []byte) {
		out[p] = append(out[p], kafkarunner.Record{Offset: int64(len(out[p])), Key: []byte(key), Value: v})
	}
	for i, tr := range trades {
		k := ctc.InstrumentOf(tr.Symbol)
		add(partitionOf(k, n), k, tr.AppendJSON(nil))
		if i == len(trades)/2 {
			add(partitionOf(k, n), k, tr.AppendJSON(nil)) // the producer retried
			add(partitionOf(k, n), k, []byte(`{"event_id":`))
		}
	}
	return out
}

// oracle is one engine run once over records.
func oracle(t interface{ Fatal(...any) }, recs []kafkarunner.Record) committed {
	p, err := newProc()
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		rec := ctc.Record{Data: recs[i].Value}
		p.Process(&rec)
	}
	var b ctc.Batch
	p.Take(&b)
	var c committed
	c.Add(&b)
	return c
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
