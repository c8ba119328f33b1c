package ctc

import (
	"bytes"
	"context"
	"github.com/google/uuid"
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
	// Before, when not zero, keeps only the alerts that come after it in the answer's order
	// (newest first): detected before Before.DetectedAt, or at that time with a smaller AlertID.
	// Paging is Before = the key of the previous page's last alert: a page never repeats or skips
	// an alert that was stored when the first page was read, whatever is inserted meanwhile.
	Before AlertKey
}

// AlertKey is an alert's place in the order alert queries answer in: DetectedAt, then AlertID.
type AlertKey struct {
	DetectedAt time.Time
	AlertID    uuid.UUID
}

// KeyOf is a's AlertKey.
func KeyOf(a *Alert) AlertKey { return AlertKey{DetectedAt: a.DetectedAt, AlertID: a.AlertID} }

// IsZero says whether k is the zero key (no bound).
func (k AlertKey) IsZero() bool { return k.DetectedAt.IsZero() && k.AlertID == uuid.Nil }

// After says whether a comes after k in newest-first order: detected before k, or at the same
// time with a smaller AlertID. Every alert comes after the zero key.
func (k AlertKey) After(a *Alert) bool {
	if k.IsZero() {
		return true
	}
	if c := a.DetectedAt.Compare(k.DetectedAt); c != 0 {
		return c < 0
	}
	return bytes.Compare(a.AlertID[:], k.AlertID[:]) < 0
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
