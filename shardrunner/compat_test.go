package shardrunner_test

import (
	"context"
	"errors"
	"testing"

	"github.com/coattailcapital/ctc/partrunner"
	"github.com/coattailcapital/ctc/shardrunner"
)

// Code written when the runner lived here keeps compiling and behaving alike: shardrunner's names
// are partrunner's types and values, not copies.
func TestPartrunnerNames(t *testing.T) {
	var (
		_ *partrunner.Runner           = (*shardrunner.Runner)(nil)
		_ *partrunner.Config           = (*shardrunner.Config)(nil)
		_ partrunner.StateStore        = (shardrunner.StateStore)(nil)
		_ *partrunner.MemoryStateStore = (*shardrunner.MemoryStateStore)(nil)
		_ *partrunner.ShardState       = (*shardrunner.ShardState)(nil)
		_ partrunner.Record            = shardrunner.Record{}
		_ partrunner.Shard             = shardrunner.Shard{}
		_ partrunner.HashRange         = shardrunner.FullRange
	)
	if shardrunner.ErrConflict != partrunner.ErrConflict || shardrunner.ErrParentsNotFinished != partrunner.ErrParentsNotFinished {
		t.Fatal("shardrunner's errors are not partrunner's")
	}
	if shardrunner.FullRange != partrunner.FullRange || shardrunner.StateFormat != partrunner.StateFormat {
		t.Fatal("shardrunner's FullRange or StateFormat differs from partrunner's")
	}

	// A conflict a partrunner store reports is a shardrunner.ErrConflict.
	ctx := context.Background()
	store := &partrunner.MemoryStateStore{}
	if err := store.Save(ctx, "app/s", &shardrunner.ShardState{Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, "app/s", &shardrunner.ShardState{Version: 1}); !errors.Is(err, shardrunner.ErrConflict) {
		t.Fatalf("second save of version 1: %v, want an error wrapping shardrunner.ErrConflict", err)
	}
	if shardrunner.Instrument("BTC-USDT") != partrunner.Instrument("BTC-USDT") ||
		shardrunner.HashOf("BTC") != partrunner.HashOf("BTC") ||
		shardrunner.CompareSequence("9", "10") != -1 {
		t.Fatal("shardrunner's functions do not answer as partrunner's")
	}
}
