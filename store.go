package ctc

import (
	"context"
	"time"
)

// AlertQuery selects alerts from an AlertStore. The store returns them newest first (by
// DetectedAt, then AlertID descending for a stable order), never an expired one.
type AlertQuery struct {
	// Type keeps only alerts of this type; empty means every type.
	Type AlertType
	// Symbol keeps only alerts of this symbol; empty means every symbol.
	Symbol string
	// Since keeps only alerts detected at or after it; the zero time means no lower bound.
	Since time.Time
	// Limit is the most alerts returned; it must be >= 1.
	Limit int
}

// AlertStore is the hot alert store (DESIGN §3.4): the access patterns of the DynamoDB table —
// newest first by type, by symbol, by type since a time, all — with items expiring at their
// TTLEpoch. Writes (Sink.Write, which stores a batch's alerts) are idempotent on AlertID: an alert
// written twice is stored once (a store may keep either version, but every query returns the same one).
// ctctest.TestAlertStore is the conformance suite every implementation passes.
type AlertStore interface {
	Sink
	QueryAlerts(ctx context.Context, q AlertQuery) ([]Alert, error)
}

// Checkpoint identifies one consistent cut of a pipeline: every record up to Position has been
// processed, and what it produced is committed under Seq.
type Checkpoint struct {
	// PipelineID names the pipeline, so that two pipelines writing one table never mistake each
	// other's commits.
	PipelineID string
	// Seq numbers checkpoints 1, 2, 3, … within one pipeline.
	Seq int64
	// Position is the source position of the last record the checkpoint covers.
	Position Position
}

// Committer is implemented by sinks that commit in checkpoints, as table formats do (the
// Flink/Spark Iceberg-sink pattern). The pipeline calls Commit at every checkpoint, before it saves
// its own state. A sink must record cp with what it commits, and a sink that finds cp.Seq already
// committed for cp.PipelineID (a restarted pipeline re-running a checkpoint whose commit landed
// but whose state save did not) must drop what was written since its last commit instead of
// committing it twice.
type Committer interface {
	Commit(ctx context.Context, cp Checkpoint) error
}
