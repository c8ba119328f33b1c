// Package maintain keeps the lake's Iceberg tables (package sink/iceberg) fast to read, bounded
// in size, and movable: it compacts small files, expires old snapshots without forgetting a
// pipeline's checkpoint, removes orphan files, and relocates a moved local warehouse. The daily
// batch workflow runs it (the batch Lambda's maintain task), and so does the local command
// adapters/maintain.
//
// The sink commits once per checkpoint — once a minute per table for a live pipeline — and every
// commit adds a data file per partition, a manifest and a snapshot: 1,440 small files per table
// and partition a day, and a history that only grows.
//
// # Compaction
//
// Compact merges each partition's small files into files of the target size and then merges the
// manifests, with iceberg-go's compaction planner (table/compaction), its group executor
// (table.ExecuteCompactionGroup: scan with iceberg-go, write with its writer) and its rewrite
// commit (Transaction.NewRewrite, a "replace" snapshot): the rows, as a multiset, are those of
// the files replaced. The merged files are written first; the commit then swaps them for the small
// ones on the table as it is at commit time, so rows other writers appended meanwhile stay. A
// commit that loses the race to another writer is rebuilt on the new state and tried again; one
// whose files another compaction already replaced commits nothing.
//
// # Snapshot expiry and the pipelines' checkpoints
//
// Expire keeps the time-travel window — every snapshot younger than Retention (default 7 days)
// and at least MinSnapshots (default 10) — and removes the rest with the files only they
// referenced. The pipelines' checkpoints are in snapshot summaries, and iceberg.LastCheckpoint
// finds one by walking the current snapshot's ancestry, which expiry cuts; so before expiring,
// Expire copies the newest checkpoint of every pipeline whose checkpoint would be cut off into a
// carry snapshot at the head of the table (an empty append carrying the same summary), in the
// same commit, and checks the staged result before committing: iceberg.LastCheckpoint answers the
// same for every pipeline id before and after. See Expire for the rule and why it is not "keep
// the snapshot".
//
// # Orphan files
//
// RemoveOrphans deletes files under a table's location that no metadata references and that are
// older than a safety age (default a day, at least an hour, so files of a commit in flight are
// never touched), through the table's file IO: local and S3 warehouses alike.
//
// # Relocation
//
// Iceberg metadata holds absolute locations, so a local warehouse directory that is moved no
// longer opens. Relocate rewrites the catalog and the metadata from the old root to the new one;
// afterwards the warehouse is a plain Iceberg warehouse again.
//
//	package main
//
//	import (
//		"context"
//		"log"
//
//		"github.com/coattailcapital/ctc/sink/iceberg"
//		"github.com/coattailcapital/ctc/sink/iceberg/maintain"
//	)
//
//	func main() {
//		ctx := context.Background()
//		// The warehouse was at /data/old-lake and has been moved here.
//		if _, err := maintain.Relocate(ctx, "ctc-data/warehouse", "/data/old-lake"); err != nil {
//			log.Fatal(err)
//		}
//		lake, err := iceberg.Open(ctx, iceberg.Config{Dir: "ctc-data/warehouse"})
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer lake.Close(ctx)
//		rep, err := maintain.Run(ctx, lake, maintain.DefaultPolicy())
//		if err != nil {
//			log.Fatal(err)
//		}
//		log.Printf("%d data files → %d, %d snapshots expired, %d orphan files removed",
//			rep.FilesBefore, rep.FilesAfter, rep.SnapshotsExpired, rep.OrphansRemoved)
//	}
//
// # Concurrency
//
// Maintenance runs alongside the pipelines: every commit it makes is an optimistic swap of the
// table's metadata that fails when another writer committed first, and is then rebuilt and
// retried (at most 10 times, with jittered backoff). A pipeline's own commit can likewise lose
// the race to a maintenance commit; the sink then keeps its rows buffered and the checkpoint fails
// without loss (the pipeline resumes from its last checkpoint). The functions start no goroutines
// of their own (iceberg-go's scans, writers and orphan listing use worker goroutines while they
// run); Relocate must run while nothing else uses the warehouse.
package maintain
