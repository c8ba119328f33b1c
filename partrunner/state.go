package partrunner

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
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
	// Format is the layout of a stored head: StateFormat since states were segmented. SplitState
	// sets it and JoinState checks it (a newer format fails with a clear error) and clears it, as
	// it clears PendingSegment: a loaded state is 0.
	Format int
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
	// next checkpoint replaces it. Stores keep it as a segment of its own, written once.
	Pending *ctc.Batch
	// PendingSegment is the name of the segment holding Pending in a stored head (SplitState);
	// empty in a state a store has loaded.
	PendingSegment string
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
var ErrConflict = errors.New("partrunner: the shard state was saved by another owner")

// EncodeState encodes a shard state's head exactly (times to the nanosecond, floats to the bit),
// as stores keep it: everything but segment data and the pending output, which stores keep apart
// (see SplitState).
func EncodeState(st *ShardState) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(st); err != nil {
		return nil, fmt.Errorf("partrunner: encode shard state: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeState decodes what EncodeState wrote.
func DecodeState(b []byte) (*ShardState, error) {
	var st ShardState
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&st); err != nil {
		return nil, fmt.Errorf("partrunner: decode shard state: %w (a state saved by a ctc from before "+
			"segmented states cannot be read: let the old version finish the shard, or delete the "+
			"shard's item to process it afresh from the start of the stream's retention)", err)
	}
	return &st, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// StateFormat is the layout SplitState writes: a head naming its segments, the pending output a
// segment of its own.
const StateFormat = 2

// SplitState separates what a store writes apart from a shard state's head, so that a save
// costs what changed: it returns the head (every segment by name alone, the pending output
// replaced by the name of its segment), the segments new in st with their data (the pending
// output among them, in ctc.Batch's binary form, under a name unique to its content), and the
// names of every segment the head needs. st is not modified.
func SplitState(key string, st *ShardState) (head *ShardState, fresh []ctc.Segment, names []string) {
	h := *st
	h.Format = StateFormat
	h.Ranges = make([]RangeState, len(st.Ranges))
	seen := map[string]bool{}
	for i, rs := range st.Ranges {
		h.Ranges[i] = rs
		if rs.State == nil {
			continue
		}
		cp := *rs.State
		cp.Segments = make([]ctc.Segment, len(rs.State.Segments))
		for j, g := range rs.State.Segments {
			cp.Segments[j] = ctc.Segment{Name: g.Name}
			// Two ranges can name one segment: after a split and a merge, both inherited it
			// from their common ancestor.
			if seen[g.Name] {
				continue
			}
			seen[g.Name] = true
			names = append(names, g.Name)
			if g.Data != nil {
				fresh = append(fresh, g)
			}
		}
		cp.Pending = nil
		h.Ranges[i].State = &cp
	}
	h.Pending = nil
	if st.Pending != nil {
		data := st.Pending.AppendBinary(nil)
		h.PendingSegment = fmt.Sprintf("%s/pending/%d-%08x", key, st.Seq, crc32.Checksum(data, castagnoli))
		fresh = append(fresh, ctc.Segment{Name: h.PendingSegment, Data: data})
		names = append(names, h.PendingSegment)
	}
	return &h, fresh, names
}

// JoinState fills a head SplitState returned with its segments' data and its pending output,
// fetching each by name.
func JoinState(head *ShardState, fetch func(name string) ([]byte, error)) error {
	if head.Format > StateFormat {
		return fmt.Errorf("partrunner: the state of %s is in format %d, written by a newer ctc than this one (format %d): run that version", head.Shard, head.Format, StateFormat)
	}
	head.Format = 0
	for _, rs := range head.Ranges {
		if rs.State == nil {
			continue
		}
		for j := range rs.State.Segments {
			g := &rs.State.Segments[j]
			data, err := fetch(g.Name)
			if err != nil {
				return fmt.Errorf("partrunner: segment %q of %s: %w", g.Name, head.Shard, err)
			}
			g.Data = data
		}
	}
	if head.PendingSegment != "" {
		data, err := fetch(head.PendingSegment)
		if err != nil {
			return fmt.Errorf("partrunner: pending output of %s: %w", head.Shard, err)
		}
		head.Pending = new(ctc.Batch)
		if err := head.Pending.UnmarshalBinary(data); err != nil {
			return fmt.Errorf("partrunner: pending output of %s: %w", head.Shard, err)
		}
		head.PendingSegment = ""
	}
	return nil
}

// StaleSegments reports the names in old that new lacks and that key wrote: what a StateStore's
// save of key that replaced a head naming old (SplitState's names) with one naming new may
// delete. Segments inherited from a parent shard are left alone, since the parent's final state
// and its other children may still name them.
func StaleSegments(key string, old, new []string) []string {
	keep := make(map[string]bool, len(new))
	for _, n := range new {
		keep[n] = true
	}
	var drop []string
	for _, n := range old {
		if !keep[n] && strings.HasPrefix(n, key+"/") {
			drop = append(drop, n)
		}
	}
	return drop
}

// MemoryStateStore is a StateStore in memory, for tests and single-process use. It keeps heads
// and segments apart, as a durable store does, and encodes them, so that nothing is shared with
// the caller.
type MemoryStateStore struct {
	mu    sync.Mutex
	heads map[string][]byte
	names map[string][]string
	segs  map[string][]byte
	// FailSave, when set, is called before each save; a non-nil result fails it (fault injection).
	FailSave func(key string, st *ShardState) error
	// Written counts the bytes saves wrote: heads and new segments.
	Written int64
}

var _ StateStore = (*MemoryStateStore)(nil)

// Load implements StateStore.
func (s *MemoryStateStore) Load(_ context.Context, key string) (*ShardState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.heads[key]
	if !ok {
		return nil, nil
	}
	st, err := DecodeState(b)
	if err != nil {
		return nil, err
	}
	err = JoinState(st, func(name string) ([]byte, error) {
		d, ok := s.segs[name]
		if !ok {
			return nil, errors.New("not in the store")
		}
		return bytes.Clone(d), nil
	})
	return st, err
}

// Save implements StateStore.
func (s *MemoryStateStore) Save(_ context.Context, key string, st *ShardState) error {
	head, fresh, names := SplitState(key, st)
	b, err := EncodeState(head)
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
	if old, ok := s.heads[key]; ok {
		prev, err := DecodeState(old)
		if err != nil {
			return err
		}
		stored = prev.Version
	}
	if stored != st.Version-1 {
		return fmt.Errorf("%w: %s is at version %d, the save expected %d", ErrConflict, key, stored, st.Version-1)
	}
	if s.heads == nil {
		s.heads, s.names, s.segs = map[string][]byte{}, map[string][]string{}, map[string][]byte{}
	}
	for _, g := range fresh {
		s.segs[g.Name] = bytes.Clone(g.Data)
		s.Written += int64(len(g.Data))
	}
	for _, n := range names {
		if _, ok := s.segs[n]; !ok {
			return fmt.Errorf("partrunner: %s names segment %q, which was never saved", key, n)
		}
	}
	for _, n := range StaleSegments(key, s.names[key], names) {
		delete(s.segs, n)
	}
	s.heads[key], s.names[key] = b, names
	s.Written += int64(len(b))
	return nil
}
