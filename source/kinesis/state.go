package kinesis

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"sync"

	"github.com/coattailcapital/ctc"
)

// ShardState is everything a shard's processing remembers between hosts: where it is in the
// shard, the state of its detectors and quality chain, and the output of its last checkpoint.
//
// Keeping the last checkpoint's output (Pending) is what makes the sinks exactly-once whatever
// the host does: a checkpoint saves the state with its output first, then writes and commits the
// sinks; a host that dies in between leaves the output in the state, and the next Open writes and
// commits it again — a no-op for the sinks that already have it (Iceberg skips a checkpoint
// sequence it has committed, the alert stores are idempotent on alert_id).
type ShardState struct {
	// Version increases by one at every save; a save succeeds only over the version it was
	// derived from, so that two hosts can never both advance one shard.
	Version int64
	// Shard is the shard id.
	Shard string
	// Sequence is the sequence number of the last record processed; records at or before it are
	// skipped when they are delivered again.
	Sequence string
	// Records counts the records processed on the shard: the Offset of their ctc.Position.
	Records int64
	// Seq is the last checkpoint's sequence, the number the sinks committed it under.
	Seq int64
	// Ranges hold the processing state, one entry per hash-key range of the shard's ancestry
	// (one entry for a shard with no resharding in its past).
	Ranges []RangeState
	// Pending is what checkpoint Seq wrote to the sinks (late trades excluded), kept until the
	// next checkpoint replaces it.
	Pending *ctc.Batch
	// Finished reports that the shard is closed and all of it is committed: its children may start.
	Finished bool
}

// RangeState is the processing state of the records whose hash keys fall in Range.
type RangeState struct {
	Range HashRange
	State *ctc.State
}

// StateStore keeps shard states. Save is conditional: it stores st only if the stored version is
// st.Version−1 (no stored state when st.Version is 1), and returns an error wrapping ErrConflict
// otherwise. Load returns (nil, nil) for a shard never saved.
type StateStore interface {
	Load(ctx context.Context, key string) (*ShardState, error)
	Save(ctx context.Context, key string, st *ShardState) error
}

// ErrConflict is returned by a StateStore's Save when another host saved the shard first: this
// host no longer owns it and must stop processing it.
var ErrConflict = errors.New("kinesis: the shard state was saved by another owner")

// EncodeState encodes a shard state exactly (times to the nanosecond, floats to the bit), as
// stores keep it.
func EncodeState(st *ShardState) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return nil, fmt.Errorf("kinesis: encode shard state: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeState decodes what EncodeState wrote.
func DecodeState(b []byte) (*ShardState, error) {
	var st ShardState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return nil, fmt.Errorf("kinesis: decode shard state: %w", err)
	}
	return &st, nil
}

// MemoryStateStore is a StateStore in memory, for tests and single-process use. It encodes
// states on Save as a durable store would, so that nothing is shared with the caller.
type MemoryStateStore struct {
	mu sync.Mutex
	m  map[string][]byte
	// FailSave, when set, is called before each save; a non-nil result fails it (fault injection).
	FailSave func(key string, st *ShardState) error
}

var _ StateStore = (*MemoryStateStore)(nil)

// Load implements StateStore.
func (s *MemoryStateStore) Load(_ context.Context, key string) (*ShardState, error) {
	s.mu.Lock()
	b, ok := s.m[key]
	s.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return DecodeState(b)
}

// Save implements StateStore.
func (s *MemoryStateStore) Save(_ context.Context, key string, st *ShardState) error {
	b, err := EncodeState(st)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.FailSave != nil {
		if err := s.FailSave(key, st); err != nil {
			return err
		}
	}
	var stored int64
	if old, ok := s.m[key]; ok {
		prev, err := DecodeState(old)
		if err != nil {
			return err
		}
		stored = prev.Version
	}
	if stored != st.Version-1 {
		return fmt.Errorf("%w: %s is at version %d, the save expected %d", ErrConflict, key, stored, st.Version-1)
	}
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[key] = b
	return nil
}
