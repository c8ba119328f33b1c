package shardrunner

import (
	"context"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/partrunner"
	"github.com/coattailcapital/ctc/quality"
)

// The runner, the shard state and its stores live in package partrunner, which imports no AWS
// package; the names below keep code written against shardrunner compiling unchanged. They are
// the same types and values, not copies: a partrunner.Runner is a shardrunner.Runner, and
// errors.Is(err, shardrunner.ErrConflict) holds for an error a partrunner store returned.

type (
	// Config is partrunner.Config.
	Config = partrunner.Config
	// Runner is partrunner.Runner.
	Runner = partrunner.Runner
	// Record is partrunner.Record.
	Record = partrunner.Record
	// Shard is partrunner.Shard.
	Shard = partrunner.Shard
	// ShardState is partrunner.ShardState.
	ShardState = partrunner.ShardState
	// RangeState is partrunner.RangeState.
	RangeState = partrunner.RangeState
	// StateStore is partrunner.StateStore.
	StateStore = partrunner.StateStore
	// MemoryStateStore is partrunner.MemoryStateStore.
	MemoryStateStore = partrunner.MemoryStateStore
	// HashKey is partrunner.HashKey.
	HashKey = partrunner.HashKey
	// HashRange is partrunner.HashRange.
	HashRange = partrunner.HashRange
)

// StateFormat is partrunner.StateFormat.
const StateFormat = partrunner.StateFormat

var (
	// ErrConflict is partrunner.ErrConflict, the same value.
	ErrConflict = partrunner.ErrConflict
	// ErrParentsNotFinished is partrunner.ErrParentsNotFinished, the same value.
	ErrParentsNotFinished = partrunner.ErrParentsNotFinished
	// FullRange is partrunner.FullRange.
	FullRange = partrunner.FullRange
)

// Open is partrunner.Open.
func Open(ctx context.Context, cfg *Config, shard Shard) (*Runner, error) {
	return partrunner.Open(ctx, cfg, shard)
}

// Processors is partrunner.Processors.
func Processors(q quality.Config, th detect.Thresholds, onChain func(*quality.Chain)) func() (*ctc.Processor, error) {
	return partrunner.Processors(q, th, onChain)
}

// Instrument is partrunner.Instrument.
func Instrument(symbol string) string { return partrunner.Instrument(symbol) }

// EncodeState is partrunner.EncodeState.
func EncodeState(st *ShardState) ([]byte, error) { return partrunner.EncodeState(st) }

// DecodeState is partrunner.DecodeState.
func DecodeState(b []byte) (*ShardState, error) { return partrunner.DecodeState(b) }

// SplitState is partrunner.SplitState.
func SplitState(key string, st *ShardState) (head *ShardState, fresh []ctc.Segment, names []string) {
	return partrunner.SplitState(key, st)
}

// JoinState is partrunner.JoinState.
func JoinState(head *ShardState, fetch func(name string) ([]byte, error)) error {
	return partrunner.JoinState(head, fetch)
}

// HashOf is partrunner.HashOf.
func HashOf(partitionKey string) HashKey { return partrunner.HashOf(partitionKey) }

// ParseHashKey is partrunner.ParseHashKey.
func ParseHashKey(s string) (HashKey, error) { return partrunner.ParseHashKey(s) }

// ParseHashRange is partrunner.ParseHashRange.
func ParseHashRange(start, end string) (HashRange, error) {
	return partrunner.ParseHashRange(start, end)
}

// CompareSequence is partrunner.CompareSequence.
func CompareSequence(a, b string) int { return partrunner.CompareSequence(a, b) }
