package jsonl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// CheckpointsFile records, for the last few checkpoints, how long every file was when it was
// committed: what Resume truncates the files back to.
const CheckpointsFile = "_checkpoints.json"

// keepCheckpoints is how many checkpoints the record keeps: a restart resumes from the last state
// the pipeline saved, which is at most one checkpoint behind the last commit.
const keepCheckpoints = 3

var (
	_ ctc.Committer = (*Sink)(nil)
	_ ctc.Resumer   = (*Sink)(nil)
)

type checkpointRecord struct {
	PipelineID string  `json:"pipeline_id"`
	Entries    []entry `json:"entries"`
}

type entry struct {
	Seq   int64            `json:"seq"`
	Sizes map[string]int64 `json:"sizes"`
}

// Commit flushes and fsyncs every file, then records their lengths under cp.Seq. With Resume it
// makes a checkpointed pipeline's files exactly-once across crashes: a restart cuts whatever was
// written after the checkpoint it resumes from and writes it again.
func (s *Sink) Commit(ctx context.Context, cp ctc.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.flushLocked(); err != nil {
		return err
	}
	sizes := map[string]int64{}
	for _, f := range s.files {
		if f == nil {
			continue
		}
		fi, err := f.f.Stat()
		if err != nil {
			return f.err("stat", err)
		}
		sizes[filepath.Base(f.path)] = fi.Size()
	}
	rec, err := s.readCheckpoints()
	if err != nil {
		return err
	}
	if rec.PipelineID != cp.PipelineID {
		rec = checkpointRecord{PipelineID: cp.PipelineID}
	}
	kept := rec.Entries[:0]
	for _, e := range rec.Entries {
		if e.Seq < cp.Seq {
			kept = append(kept, e)
		}
	}
	rec.Entries = append(kept, entry{Seq: cp.Seq, Sizes: sizes})
	if n := len(rec.Entries); n > keepCheckpoints {
		rec.Entries = rec.Entries[n-keepCheckpoints:]
	}
	return s.writeCheckpoints(rec)
}

// Resume truncates every file to its length at checkpoint cp, or to nothing when cp.Seq is 0 (a
// pipeline starting afresh). It must be called before the first Write.
func (s *Sink) Resume(ctx context.Context, cp ctc.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	sizes := map[string]int64{}
	if cp.Seq > 0 {
		rec, err := s.readCheckpoints()
		if err != nil {
			return err
		}
		found := false
		for _, e := range rec.Entries {
			if rec.PipelineID == cp.PipelineID && e.Seq == cp.Seq {
				sizes, found = e.Sizes, true
			}
		}
		if !found {
			return fmt.Errorf("jsonl: %s has no record of checkpoint %d of pipeline %q: cannot resume exactly; start afresh in an empty directory",
				filepath.Join(s.dir, CheckpointsFile), cp.Seq, cp.PipelineID)
		}
	}
	for _, f := range s.files {
		if f == nil {
			continue
		}
		if err := f.w.Flush(); err != nil {
			return f.err("write", err)
		}
		size := sizes[filepath.Base(f.path)]
		if err := f.f.Truncate(size); err != nil {
			return f.err("truncate", err)
		}
		// The files are not opened O_APPEND: the next write goes where the offset is.
		if _, err := f.f.Seek(size, io.SeekStart); err != nil {
			return f.err("seek", err)
		}
		if err := f.f.Sync(); err != nil {
			return f.err("sync", err)
		}
	}
	return nil
}

func (s *Sink) readCheckpoints() (checkpointRecord, error) {
	var rec checkpointRecord
	b, err := os.ReadFile(filepath.Join(s.dir, CheckpointsFile))
	if errors.Is(err, os.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("jsonl: %w", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("jsonl: %s: %w", filepath.Join(s.dir, CheckpointsFile), err)
	}
	return rec, nil
}

// writeCheckpoints replaces the record atomically (temporary file, fsync, rename, directory fsync).
func (s *Sink) writeCheckpoints(rec checkpointRecord) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	if err := fsx.WriteFileAtomic(filepath.Join(s.dir, CheckpointsFile), b); err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}
