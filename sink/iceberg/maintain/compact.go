package maintain

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"strconv"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
)

// Compaction defaults.
const (
	// DefaultMinInputFiles is iceberg's: a partition is rewritten once it has 5 small files.
	DefaultMinInputFiles = int(compaction.DefaultMinInputFiles)
	// DefaultCommitBytes makes a commit after every 512 MiB of small files rewritten, so that a run
	// cut short (a Lambda's timeout) keeps what it finished.
	DefaultCommitBytes = 512 << 20
)

// CompactOptions configure Compact. The zero value of a field means its default.
type CompactOptions struct {
	// TargetFileSize is the size the merged files aim at; a file smaller than three quarters of it
	// is small. Default: the table's write.target-file-size-bytes property, else iceberg's 512 MiB.
	TargetFileSize int64
	// MinInputFiles is the fewest small files of one partition worth rewriting; default
	// DefaultMinInputFiles.
	MinInputFiles int
	// CommitBytes is how many bytes of small files are rewritten per commit; default
	// DefaultCommitBytes.
	CommitBytes int64
	// ScanConcurrency bounds the files read at once while merging a partition; default GOMAXPROCS.
	ScanConcurrency int
}

func (o CompactOptions) withDefaults() CompactOptions {
	if o.MinInputFiles == 0 {
		o.MinInputFiles = DefaultMinInputFiles
	}
	if o.CommitBytes == 0 {
		o.CommitBytes = DefaultCommitBytes
	}
	return o
}

// Validate reports a setting out of range.
func (o CompactOptions) Validate() error {
	o = o.withDefaults()
	switch {
	case o.TargetFileSize < 0:
		return fmt.Errorf("maintain: target file size must be >= 0 (0: the table's), got %d", o.TargetFileSize)
	case o.MinInputFiles < 2:
		return fmt.Errorf("maintain: min input files must be >= 2 (one file is not merged with anything), got %d", o.MinInputFiles)
	case o.CommitBytes < 0:
		return fmt.Errorf("maintain: commit bytes must be >= 0 (0: %d), got %d", DefaultCommitBytes, o.CommitBytes)
	case o.ScanConcurrency < 0:
		return fmt.Errorf("maintain: scan concurrency must be >= 0 (0: GOMAXPROCS), got %d", o.ScanConcurrency)
	}
	return nil
}

// CompactResult is what Compact did to one table.
type CompactResult struct {
	Table string `json:"table"`
	// FilesBefore and FilesAfter count the data files of the current snapshot; FilesAfter
	// includes files other writers appended meanwhile.
	FilesBefore int `json:"files_before"`
	FilesAfter  int `json:"files_after"`
	// Partitions is how many partitions were rewritten; RemovedFiles small files became
	// AddedFiles merged ones.
	Partitions   int   `json:"partitions"`
	RemovedFiles int   `json:"removed_files"`
	AddedFiles   int   `json:"added_files"`
	BytesBefore  int64 `json:"bytes_before"`
	BytesAfter   int64 `json:"bytes_after"`
	// ManifestsBefore and ManifestsAfter count the current snapshot's manifests, which Compact
	// also merges (one commit adds one manifest, so they pile up as fast as the small files).
	ManifestsBefore int `json:"manifests_before"`
	ManifestsAfter  int `json:"manifests_after"`
	// Commits is the number of snapshots Compact made; Retries the commits it had to redo
	// because another writer committed first.
	Commits int `json:"commits"`
	Retries int `json:"retries"`
}

// Compact merges the small data files of table name, partition by partition, and then its
// manifests. Rows are not changed: every merged file holds exactly the rows of the files it
// replaces, read with iceberg-go's scan and written with its writer.
//
// The merged files are written first, from the snapshot current when Compact started; each
// commit then replaces the small files by the merged ones on the table as it is at that moment
// (iceberg-go's rewrite: a "replace" snapshot). Rows other writers appended meanwhile stay, since
// the commit only removes the files it merged. The commit is a compare-and-swap of the table's
// metadata: when another writer commits first, Compact reloads the table and tries again, without
// rewriting the data. If a file it merged is no longer in the table (another compaction got there
// first), or another writer added delete files since it started, nothing is committed, the files
// it wrote are removed and Compact returns an error: run it again.
func Compact(ctx context.Context, lake Lake, name string, opt CompactOptions) (*CompactResult, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	res := &CompactResult{Table: name}
	tbl, err := lake.Table(ctx, name)
	if err != nil {
		return nil, err
	}
	base := tbl.CurrentSnapshot()
	if base == nil {
		return res, nil
	}
	tasks, err := tbl.Scan(table.WithSnapshotID(base.SnapshotID)).PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("maintain: compact %s: plan: %w", name, err)
	}
	res.FilesBefore = len(tasks)
	if res.ManifestsBefore, err = countManifests(ctx, tbl); err != nil {
		return nil, fmt.Errorf("maintain: compact %s: %w", name, err)
	}
	cfg := compaction.DefaultConfig()
	cfg.TargetFileSizeBytes = opt.TargetFileSize
	if cfg.TargetFileSizeBytes == 0 {
		cfg.TargetFileSizeBytes = tbl.Properties().GetInt64(table.WriteTargetFileSizeBytesKey, table.WriteTargetFileSizeBytesDefault)
	}
	cfg.MinFileSizeBytes = cfg.TargetFileSizeBytes * 3 / 4
	cfg.MaxFileSizeBytes = cfg.TargetFileSizeBytes * 9 / 5
	cfg.MinInputFiles = uint(opt.MinInputFiles)
	plan, err := cfg.PlanCompaction(tasks)
	if err != nil {
		return nil, fmt.Errorf("maintain: compact %s: %w", name, err)
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return nil, err
	}
	var groupOpts []table.CompactionGroupOption
	if opt.TargetFileSize > 0 {
		groupOpts = append(groupOpts, table.WithCompactionTargetFileSize(opt.TargetFileSize))
	}
	if opt.ScanConcurrency > 0 {
		groupOpts = append(groupOpts, table.WithCompactionScanConcurrency(opt.ScanConcurrency))
	}

	var (
		pending      []table.CompactionGroupResult
		pendingBytes int64
	)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		err := commitRewrite(ctx, lake, name, base.SnapshotID, pending, res)
		if err != nil && !errors.Is(err, errUnknownState) {
			err = errors.Join(err, removeWritten(fs, pending))
		}
		if err == nil {
			for _, gr := range pending {
				res.Partitions++
				res.RemovedFiles += len(gr.OldDataFiles)
				res.AddedFiles += len(gr.NewDataFiles)
				res.BytesBefore += gr.BytesBefore
				res.BytesAfter += gr.BytesAfter
			}
		}
		pending, pendingBytes = nil, 0
		return err
	}
	for _, g := range plan.Groups {
		gr, err := table.ExecuteCompactionGroup(ctx, tbl,
			table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes}, groupOpts...)
		if err != nil {
			return res, fmt.Errorf("maintain: compact %s: %w", name, errors.Join(err, removeWritten(fs, append(pending, gr))))
		}
		pending = append(pending, gr)
		if pendingBytes += gr.BytesBefore; pendingBytes >= opt.CommitBytes {
			if err := flush(); err != nil {
				return res, fmt.Errorf("maintain: compact %s: %w", name, err)
			}
		}
	}
	if err := flush(); err != nil {
		return res, fmt.Errorf("maintain: compact %s: %w", name, err)
	}
	if err := rewriteManifests(ctx, lake, name, res); err != nil {
		return res, fmt.Errorf("maintain: compact %s: %w", name, err)
	}
	if tbl, err = lake.Table(ctx, name); err != nil {
		return res, err
	}
	if tasks, err = tbl.Scan().PlanFiles(ctx); err != nil {
		return res, fmt.Errorf("maintain: compact %s: %w", name, err)
	}
	res.FilesAfter = len(tasks)
	if res.ManifestsAfter, err = countManifests(ctx, tbl); err != nil {
		return res, fmt.Errorf("maintain: compact %s: %w", name, err)
	}
	return res, nil
}

// errUnknownState marks a failed commit that may nevertheless have landed: the files it wrote
// must stay (orphan removal deletes them later if they are not referenced).
var errUnknownState = errors.New("the commit's outcome is unknown")

// beforeCommitKey is the context key of a func that tests run between staging a rewrite and
// committing it.
type beforeCommitKey struct{}

// commitRewrite replaces the old files of results by their new ones on the table's current state,
// retrying when another writer commits first.
func commitRewrite(ctx context.Context, lake Lake, name string, baseID int64, results []table.CompactionGroupResult, res *CompactResult) error {
	attempts := 0
	return retry(ctx, "commit the rewrite", func() error {
		if attempts++; attempts > 1 {
			res.Retries++
		}
		tbl, err := lake.Table(ctx, name)
		if err != nil {
			return err
		}
		if err := onlyAppendsSince(tbl, baseID); err != nil {
			return err
		}
		tx := tbl.NewTransaction()
		rw := tx.NewRewrite(iceberg.Properties{SummaryMaintenance: MaintenanceCompact})
		for _, gr := range results {
			rw.ApplyResult(gr)
		}
		if err := rw.Commit(ctx); err != nil { // stages the snapshot; nothing is committed yet
			return fmt.Errorf("stage the rewrite: %w", err)
		}
		if hook, ok := ctx.Value(beforeCommitKey{}).(func()); ok {
			hook()
		}
		if _, err := tx.Commit(ctx); err != nil {
			if conflict(err) || errors.Is(err, table.ErrCommitDiverged) {
				return err
			}
			return fmt.Errorf("%w: %w", errUnknownState, err)
		}
		res.Commits++
		return nil
	})
}

// onlyAppendsSince checks that every snapshot committed on top of baseID only appended data or
// rewrote it without deleting rows: a delete file added meanwhile could apply to rows of the
// files being merged, and would not apply to the merged files.
func onlyAppendsSince(tbl *table.Table, baseID int64) error {
	for s := tbl.CurrentSnapshot(); s != nil; s = parent(tbl, s) {
		if s.SnapshotID == baseID {
			return nil
		}
		if s.Summary == nil || (s.Summary.Operation != table.OpAppend && s.Summary.Operation != table.OpReplace) {
			return fmt.Errorf("%w: snapshot %d committed meanwhile is not an append", table.ErrCommitDiverged, s.SnapshotID)
		}
		for _, k := range []string{"added-delete-files", "added-position-delete-files", "added-equality-delete-files", "added-dvs"} {
			if n, _ := strconv.Atoi(s.Summary.Properties[k]); n > 0 {
				return fmt.Errorf("%w: snapshot %d committed meanwhile added delete files", table.ErrCommitDiverged, s.SnapshotID)
			}
		}
	}
	return fmt.Errorf("%w: snapshot %d the compaction started from is no longer an ancestor of the current one", table.ErrCommitDiverged, baseID)
}

// parent returns s's parent snapshot, nil at the start of the table's (remaining) history.
func parent(tbl *table.Table, s *table.Snapshot) *table.Snapshot {
	if s.ParentSnapshotID == nil {
		return nil
	}
	return tbl.SnapshotByID(*s.ParentSnapshotID)
}

// removeWritten deletes the merged files of results that were never committed.
func removeWritten(fs icebergio.IO, results []table.CompactionGroupResult) error {
	var errs []error
	for _, gr := range results {
		for _, df := range gr.NewDataFiles {
			if err := fs.Remove(df.FilePath()); err != nil && !errors.Is(err, iofs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("remove the uncommitted merged files (orphan removal will): %w", errors.Join(errs...))
	}
	return nil
}

// rewriteManifests merges the current snapshot's manifests (iceberg-go's RewriteManifests).
func rewriteManifests(ctx context.Context, lake Lake, name string, res *CompactResult) error {
	attempts := 0
	return retry(ctx, "rewrite the manifests", func() error {
		if attempts++; attempts > 1 {
			res.Retries++
		}
		tbl, err := lake.Table(ctx, name)
		if err != nil || tbl.CurrentSnapshot() == nil {
			return err
		}
		tx := tbl.NewTransaction()
		rm, err := tx.RewriteManifests(ctx)
		if err != nil {
			return fmt.Errorf("rewrite manifests: %w", err)
		}
		if len(rm.AddedManifests) == 0 {
			return nil
		}
		if _, err := tx.Commit(ctx); err != nil {
			return err
		}
		res.Commits++
		return nil
	})
}

func countManifests(ctx context.Context, tbl *table.Table) (int, error) {
	s := tbl.CurrentSnapshot()
	if s == nil {
		return 0, nil
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return 0, err
	}
	m, err := s.Manifests(fs)
	if err != nil {
		return 0, fmt.Errorf("read the manifest list of snapshot %d: %w", s.SnapshotID, err)
	}
	return len(m), nil
}
