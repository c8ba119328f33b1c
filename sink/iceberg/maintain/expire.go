package maintain

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/coattailcapital/ctc"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
)

// Expiry defaults.
const (
	// DefaultRetention is the time-travel window: a week of snapshots.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultMinSnapshots is the fewest snapshots kept whatever their age.
	DefaultMinSnapshots = 10
)

// ExpireOptions configure Expire. The zero value of a field means its default.
type ExpireOptions struct {
	// Retention is the time-travel window: every snapshot of the current snapshot's history
	// committed within Retention of now is kept, with its files. Default DefaultRetention.
	Retention time.Duration
	// MinSnapshots is the fewest snapshots of the current history kept whatever their age;
	// default DefaultMinSnapshots.
	MinSnapshots int
}

func (o ExpireOptions) withDefaults() ExpireOptions {
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.MinSnapshots == 0 {
		o.MinSnapshots = DefaultMinSnapshots
	}
	return o
}

// Validate reports a setting out of range.
func (o ExpireOptions) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Retention < 0:
		return fmt.Errorf("maintain: retention must be > 0 (0: %s), got %s", DefaultRetention, o.Retention)
	case o.MinSnapshots < 1:
		return fmt.Errorf("maintain: min snapshots must be >= 1 (0: %d), got %d", DefaultMinSnapshots, o.MinSnapshots)
	}
	return nil
}

// ExpireResult is what Expire did to one table.
type ExpireResult struct {
	Table           string `json:"table"`
	SnapshotsBefore int    `json:"snapshots_before"`
	SnapshotsAfter  int    `json:"snapshots_after"`
	Expired         int    `json:"expired"`
	// Pipelines is how many pipeline ids have a checkpoint in the table; Carried lists those
	// whose newest checkpoint was copied forward into a carry snapshot.
	Pipelines int                 `json:"pipelines"`
	Carried   []CarriedCheckpoint `json:"carried"`
	// Oldest is the commit time of the oldest snapshot left: time travel reaches back to it.
	Oldest time.Time `json:"oldest,omitzero"`
}

// CarriedCheckpoint is a checkpoint Expire copied forward.
type CarriedCheckpoint struct {
	ctc.Checkpoint
	// From is the snapshot that carried it until then, To the new carry snapshot.
	From int64 `json:"from_snapshot_id"`
	To   int64 `json:"to_snapshot_id"`
}

// Expire removes the snapshots of table name that fall out of the time-travel window, keeping
// every pipeline's checkpoint, and deletes the files only they referenced.
//
// # The rule
//
// A snapshot of the current snapshot's history is kept while it is younger than Retention or
// among the MinSnapshots newest (iceberg-go's ExpireSnapshots with WithOlderThan and
// WithRetainLast, which keeps such a prefix of the history and expires the rest); so are
// snapshots that a branch or tag references.
//
// The pipelines' checkpoints live in snapshot summaries, and iceberg.LastCheckpoint finds a
// pipeline's by walking the current snapshot's ancestry to the newest summary with its id. That
// walk stops at the first parent that was expired, so keeping the one snapshot with a pipeline's
// newest checkpoint would not do: the chain from it to the head must be unbroken. Keeping the
// chain would keep everything since the oldest checkpoint of any pipeline that ever committed —
// historical_load makes a pipeline id per day and symbol, which then never expires anything.
// Instead, for every pipeline whose newest checkpoint would be expired, Expire first copies that
// checkpoint forward: it commits a carry snapshot — an empty append (no files, the same rows as
// its parent) whose summary holds the pipeline's SummaryPipelineID, SummaryCheckpointSeq and
// SummaryPosition unchanged, plus SummaryMaintenance = MaintenanceCarry and SummaryCarriedFrom —
// at the head of the table, in the same commit as the expiry. iceberg.LastCheckpoint and
// Sink.Committed then return exactly what they returned before, for every pipeline id, and a
// restarted or repeated load still skips what the table has. A pipeline idle for longer than
// Retention is carried again at every Retention: one empty snapshot per idle pipeline id per
// window.
//
// Before committing, Expire checks the staged metadata: if iceberg.LastCheckpoint would answer
// differently for any pipeline id, it carries that checkpoint too and checks again, and it never
// commits a change that loses one. The commit requires the table's head to be the one it read —
// a pipeline committing meanwhile could otherwise see its new checkpoint shadowed by an older
// carried one — so when another writer commits first, Expire starts again from the new state.
func Expire(ctx context.Context, lake Lake, name string, opt ExpireOptions) (*ExpireResult, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	var res *ExpireResult
	err := retry(ctx, "expire", func() error {
		tbl, err := lake.Table(ctx, name)
		if err != nil {
			return err
		}
		res, err = expire(ctx, tbl, name, opt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("maintain: expire %s: %w", name, err)
	}
	return res, nil
}

func expire(ctx context.Context, tbl *table.Table, name string, opt ExpireOptions) (*ExpireResult, error) {
	res := &ExpireResult{Table: name, SnapshotsBefore: len(tbl.Metadata().Snapshots()), Carried: []CarriedCheckpoint{}}
	head := tbl.CurrentSnapshot()
	if head == nil {
		res.SnapshotsAfter = res.SnapshotsBefore
		return res, nil
	}
	// The snapshots expiry is expected to keep: the prefix of the history iceberg-go keeps,
	// judged a little early (iceberg-go reads the clock after this) so that a snapshot on the
	// edge is carried rather than found missing by the check below.
	cutoff := time.Now().Add(-opt.Retention + min(time.Minute, opt.Retention/4))
	kept := map[int64]bool{}
	newest := map[string]*table.Snapshot{} // pipeline id → snapshot with its newest checkpoint
	var pipelines []string
	keeping := true
	i := 0
	for s := head; s != nil; s = parent(tbl, s) {
		if keeping = keeping && (i < opt.MinSnapshots || !time.UnixMilli(s.TimestampMs).Before(cutoff)); keeping {
			kept[s.SnapshotID] = true
		}
		if cp, ok := icesink.CheckpointOf(s); ok {
			if _, seen := newest[cp.PipelineID]; !seen {
				newest[cp.PipelineID] = s
				pipelines = append(pipelines, cp.PipelineID)
			}
		}
		i++
	}
	res.Pipelines = len(pipelines)
	carry := map[string]bool{}
	for _, id := range pipelines {
		if !kept[newest[id].SnapshotID] {
			carry[id] = true
		}
	}

	// Stage, check, and carry more if the check finds a checkpoint the expiry would lose.
	for range 3 {
		tx := tbl.NewTransaction()
		if err := tx.AssertRefSnapshotID(table.MainBranch); err != nil {
			return nil, err
		}
		var carried []CarriedCheckpoint
		for j := len(pipelines) - 1; j >= 0; j-- { // oldest first, as they were committed
			id := pipelines[j]
			if !carry[id] {
				continue
			}
			from := newest[id]
			props := iceberg.Properties{
				SummaryMaintenance: MaintenanceCarry,
				SummaryCarriedFrom: strconv.FormatInt(from.SnapshotID, 10),
			}
			for _, k := range []string{icesink.SummaryPipelineID, icesink.SummaryCheckpointSeq, icesink.SummaryPosition} {
				if v, ok := from.Summary.Properties[k]; ok {
					props[k] = v
				}
			}
			if err := tx.AddFiles(ctx, nil, props, false); err != nil {
				return nil, fmt.Errorf("carry the checkpoint of %s: %w", id, err)
			}
			cp, _ := icesink.CheckpointOf(from)
			carried = append(carried, CarriedCheckpoint{Checkpoint: cp, From: from.SnapshotID})
		}
		if err := tx.ExpireSnapshots(table.WithOlderThan(opt.Retention), table.WithRetainLast(opt.MinSnapshots+len(carried))); err != nil {
			return nil, err
		}
		staged, err := tx.StagedTable()
		if err != nil {
			return nil, err
		}
		lost := 0
		for _, id := range pipelines {
			before, _ := icesink.LastCheckpoint(tbl, id)
			if after, ok := icesink.LastCheckpoint(staged.Table, id); !ok || after != before {
				carry[id] = true
				lost++
			}
		}
		if lost > 0 {
			continue
		}
		// The carry snapshots are the newest ones, in the order staged.
		s := staged.CurrentSnapshot()
		for j := len(carried) - 1; j >= 0 && s != nil; j-- {
			carried[j].To = s.SnapshotID
			s = parent(staged.Table, s)
		}
		after, err := tx.Commit(ctx)
		if err != nil {
			return nil, err
		}
		res.Carried = append(res.Carried, carried...)
		res.SnapshotsAfter = len(after.Metadata().Snapshots())
		res.Expired = res.SnapshotsBefore + len(carried) - res.SnapshotsAfter
		for s := after.CurrentSnapshot(); s != nil; s = parent(after, s) {
			res.Oldest = time.UnixMilli(s.TimestampMs).UTC()
		}
		return res, nil
	}
	return nil, fmt.Errorf("the staged expiry keeps losing checkpoints even after carrying them: nothing committed")
}
