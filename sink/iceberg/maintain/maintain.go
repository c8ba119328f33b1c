package maintain

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/coattailcapital/ctc/internal/backoff"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

// Lake loads the tables to maintain with their current metadata. *iceberg.Sink is one: its
// Table loads from the sink's catalog with the sink's file IO.
type Lake interface {
	Table(ctx context.Context, name string) (*table.Table, error)
}

var _ Lake = (*iceberg.Sink)(nil)

// Snapshot summary keys that maintenance commits write.
const (
	// SummaryMaintenance names what made a maintenance snapshot: MaintenanceCompact or
	// MaintenanceCarry.
	SummaryMaintenance = "ctc.maintenance"
	// SummaryCarriedFrom is the id of the snapshot whose checkpoint a carry snapshot copies.
	SummaryCarriedFrom = "ctc.carried-from"
)

// Values of SummaryMaintenance.
const (
	MaintenanceCompact = "compact"
	MaintenanceCarry   = "carry-checkpoint"
)

// Policy is what Run does to each table. The zero value of every field means its default (see
// DefaultPolicy).
type Policy struct {
	// Tables are the tables to maintain; default iceberg.Tables. Run never expires
	// anomalies_reprocessed's snapshots: reprocess.Publish does, with the retention of the run
	// registry (30 days by default), and a shorter one here would cut it.
	Tables []string
	// Compact, Expire and Orphans configure the three steps, run in that order.
	Compact CompactOptions
	Expire  ExpireOptions
	Orphans OrphanOptions
	// SkipCompact, SkipExpire and SkipOrphans leave a step out.
	SkipCompact, SkipExpire, SkipOrphans bool
}

// DefaultPolicy compacts partitions with at least 5 small files, keeps 7 days and at least 10
// snapshots of history, and removes orphan files older than a day, in every table.
func DefaultPolicy() Policy {
	return Policy{
		Tables:  slices.Clone(iceberg.Tables),
		Compact: CompactOptions{MinInputFiles: DefaultMinInputFiles, CommitBytes: DefaultCommitBytes},
		Expire:  ExpireOptions{Retention: DefaultRetention, MinSnapshots: DefaultMinSnapshots},
		Orphans: OrphanOptions{Age: DefaultOrphanAge},
	}
}

// withDefaults fills the zero fields from DefaultPolicy.
func (p Policy) withDefaults() Policy {
	if len(p.Tables) == 0 {
		p.Tables = slices.Clone(iceberg.Tables)
	}
	p.Compact = p.Compact.withDefaults()
	p.Expire = p.Expire.withDefaults()
	p.Orphans = p.Orphans.withDefaults()
	return p
}

// Validate reports the first setting that is out of range, saying what is allowed.
func (p Policy) Validate() error {
	p = p.withDefaults()
	for _, name := range p.Tables {
		if !slices.Contains(iceberg.Tables, name) {
			return fmt.Errorf("maintain: table %q is not one of %s", name, strings.Join(iceberg.Tables, ", "))
		}
	}
	return errors.Join(p.Compact.Validate(), p.Expire.Validate(), p.Orphans.Validate())
}

// Report is what Run did, table by table.
type Report struct {
	Tables []TableReport `json:"tables"`
	// Totals over the tables.
	FilesBefore      int `json:"files_before"`
	FilesAfter       int `json:"files_after"`
	SnapshotsExpired int `json:"snapshots_expired"`
	Carried          int `json:"checkpoints_carried"`
	OrphansRemoved   int `json:"orphans_removed"`
}

// TableReport is what Run did to one table; a step left out or not reached is nil. Error says
// why the table's maintenance stopped; the other tables are maintained all the same.
type TableReport struct {
	Table   string         `json:"table"`
	Compact *CompactResult `json:"compact,omitempty"`
	Expire  *ExpireResult  `json:"expire,omitempty"`
	Orphans *OrphanResult  `json:"orphans,omitempty"`
	Error   string         `json:"error,omitempty"`
}

// Run maintains every table of p in turn: compaction, then snapshot expiry, then orphan-file
// removal. A table whose maintenance fails does not stop the others; the error returned joins
// every table's. The report is complete for the steps that ran.
func Run(ctx context.Context, lake Lake, p Policy) (*Report, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	p = p.withDefaults()
	rep := &Report{Tables: []TableReport{}}
	var errs []error
	for _, name := range p.Tables {
		tr, err := runTable(ctx, lake, name, p)
		if err != nil {
			tr.Error = err.Error()
			errs = append(errs, err)
		}
		rep.Tables = append(rep.Tables, tr)
		if c := tr.Compact; c != nil {
			rep.FilesBefore += c.FilesBefore
			rep.FilesAfter += c.FilesAfter
		}
		if e := tr.Expire; e != nil {
			rep.SnapshotsExpired += e.Expired
			rep.Carried += len(e.Carried)
		}
		if o := tr.Orphans; o != nil {
			rep.OrphansRemoved += o.Removed
		}
		if ctx.Err() != nil {
			break
		}
	}
	return rep, errors.Join(errs...)
}

func runTable(ctx context.Context, lake Lake, name string, p Policy) (TableReport, error) {
	tr := TableReport{Table: name}
	var err error
	if !p.SkipCompact {
		if tr.Compact, err = Compact(ctx, lake, name, p.Compact); err != nil {
			return tr, err
		}
	}
	if !p.SkipExpire && name != iceberg.AnomaliesReprocessed {
		if tr.Expire, err = Expire(ctx, lake, name, p.Expire); err != nil {
			return tr, err
		}
	}
	if !p.SkipOrphans {
		if tr.Orphans, err = RemoveOrphans(ctx, lake, name, p.Orphans); err != nil {
			return tr, err
		}
	}
	return tr, nil
}

// maxAttempts bounds the commits a step tries when other writers keep committing first.
const maxAttempts = 10

// conflict reports whether err is a commit that lost the optimistic-concurrency race
// (iceberg.IsConflict): nothing was committed, and the step may try again on the table's new state.
func conflict(err error) bool { return iceberg.IsConflict(err) }

// wait waits before attempt (1, 2, …): a jittered 50 ms doubling up to 2 s, so that writers
// racing for one table spread out.
func wait(ctx context.Context, attempt int) error {
	t := time.NewTimer(backoff.Equal(backoff.Cap(50*time.Millisecond, 2*time.Second, 2, attempt), backoff.Uniform))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retry runs attempt until it succeeds, fails with something other than a conflict, or has lost
// maxAttempts races.
func retry(ctx context.Context, what string, attempt func() error) error {
	var err error
	for i := range maxAttempts {
		if i > 0 {
			if berr := wait(ctx, i); berr != nil {
				return errors.Join(err, berr)
			}
		}
		if err = attempt(); !conflict(err) {
			return err
		}
	}
	return fmt.Errorf("%s: other writers committed first %d times in a row, last: %w", what, maxAttempts, err)
}
