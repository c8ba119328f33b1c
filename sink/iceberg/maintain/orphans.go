package maintain

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/iceberg-go/table"
)

// Orphan-file defaults.
const (
	// DefaultOrphanAge is how old an unreferenced file must be before it is removed: a day.
	DefaultOrphanAge = 24 * time.Hour
	// MinOrphanAge is the shortest age allowed. A file younger than that may belong to a commit in
	// flight (written, not yet committed) — a sink's append, a compaction's merged files.
	MinOrphanAge = time.Hour
)

// OrphanOptions configure RemoveOrphans. The zero value of a field means its default.
type OrphanOptions struct {
	// Age is how old (by modification time) a file the table does not reference must be to be
	// removed; default DefaultOrphanAge, at least MinOrphanAge.
	Age time.Duration
	// DryRun finds the orphan files without removing them.
	DryRun bool
}

func (o OrphanOptions) withDefaults() OrphanOptions {
	if o.Age == 0 {
		o.Age = DefaultOrphanAge
	}
	return o
}

// Validate reports a setting out of range.
func (o OrphanOptions) Validate() error {
	if o = o.withDefaults(); o.Age < MinOrphanAge {
		return fmt.Errorf("maintain: orphan age must be at least %s (younger files may belong to a commit in flight), got %s", MinOrphanAge, o.Age)
	}
	return nil
}

// OrphanResult is what RemoveOrphans did to one table.
type OrphanResult struct {
	Table string `json:"table"`
	// Orphans counts the files older than the age that no snapshot or metadata file references,
	// Bytes their size; Removed those deleted (none in a dry run).
	Orphans int      `json:"orphans"`
	Bytes   int64    `json:"bytes"`
	Removed int      `json:"removed"`
	Files   []string `json:"files,omitempty"`
}

// RemoveOrphans deletes the files under table name's location — data and metadata — that
// neither the current metadata file, the metadata files in its log, nor any snapshot's manifest
// list or manifests reference, and that are older than opt.Age: merged files of a compaction that
// failed, files of a commit that lost its race, old metadata files beyond the metadata log, data
// files of snapshots expired elsewhere without their files.
//
// It is iceberg-go's Table.DeleteOrphanFiles, which lists the location through the table's file
// IO: local (file://) and S3 (s3://, gocloud's blob IO with listing and batch deletes) warehouses
// both work. Run it after Expire, which deletes the files of the snapshots it expires itself.
func RemoveOrphans(ctx context.Context, lake Lake, name string, opt OrphanOptions) (*OrphanResult, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	return removeOrphans(ctx, lake, name, opt.withDefaults())
}

// removeOrphans is RemoveOrphans without the check of the age.
func removeOrphans(ctx context.Context, lake Lake, name string, opt OrphanOptions) (*OrphanResult, error) {
	tbl, err := lake.Table(ctx, name)
	if err != nil {
		return nil, err
	}
	out, err := tbl.DeleteOrphanFiles(ctx, table.WithFilesOlderThan(opt.Age), table.WithDryRun(opt.DryRun))
	if err != nil {
		return nil, fmt.Errorf("maintain: remove orphan files of %s: %w", name, err)
	}
	res := &OrphanResult{Table: name, Orphans: len(out.OrphanFileLocations), Bytes: out.TotalSizeBytes,
		Removed: len(out.DeletedFiles), Files: out.OrphanFileLocations}
	return res, nil
}
