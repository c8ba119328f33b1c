// Package checkpoint keeps pipeline state (ctc.State) in files, for pipelines that run on one
// machine.
//
// A state is saved in three kinds of file, each written once and made durable before the next:
//
//   - segments/NAME: every segment new in the state (ctc.Segment), such as the quality chain's
//     dedup ids since the previous checkpoint; a segment file is never rewritten;
//   - ID.pending-SEQ: the checkpoint's output (ctc.State.Pending), in ctc.Batch's binary form;
//   - ID.state.json: the head — position, counters, detector states, and the names of the live
//     segments and of the pending file — replaced atomically (temporary file, fsync, rename,
//     directory fsync), which is the moment the checkpoint counts.
//
// After the head is replaced, the segments it no longer names and older pending files are
// deleted. A crash at any moment therefore leaves the previous state or the new one, and a
// checkpoint writes what changed since the previous one, not everything the pipeline remembers.
// A head written by ctc before segments (one JSON file holding everything) still loads.
package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// Dir is a ctc.StateStore keeping each pipeline's state in a directory.
type Dir struct {
	path string
}

var _ ctc.StateStore = (*Dir)(nil)

// NewDir returns a store in path, creating the directory if needed.
func NewDir(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return &Dir{path: path}, nil
}

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (d *Dir) file(id string) (string, error) {
	if !validID.MatchString(id) {
		return "", fmt.Errorf("checkpoint: pipeline id must be 1-128 letters, digits, '.', '_' or '-', got %q", id)
	}
	return filepath.Join(d.path, id+".state.json"), nil
}

// head is the JSON of the state file: the state without segment data, and where its pending
// output is. Format is 2 for this layout; a file without it was written before segments, as one
// JSON file holding everything, and loads as it is.
type head struct {
	Format int `json:",omitempty"`
	ctc.State
	PendingFile string `json:",omitempty"`
}

// format is the layout Save writes.
const format = 2

func (d *Dir) segmentDir() string { return filepath.Join(d.path, "segments") }

func (d *Dir) segmentFile(name string) string {
	return filepath.Join(d.segmentDir(), url.PathEscape(name))
}

// Load returns the pipeline's last saved state with every segment's data and its pending output,
// or (nil, nil) if it has none.
func (d *Dir) Load(ctx context.Context, pipelineID string) (*ctc.State, error) {
	name, err := d.file(pipelineID)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var h head
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("checkpoint: %s is not a saved state: %w", name, err)
	}
	if h.Format > format {
		return nil, fmt.Errorf("checkpoint: %s is in format %d, written by a newer ctc than this one (format %d): run that version, or start afresh in an empty directory", name, h.Format, format)
	}
	st := h.State
	if st.Checkpoint.PipelineID != pipelineID {
		return nil, fmt.Errorf("checkpoint: %s holds pipeline %q, not %q", name, st.Checkpoint.PipelineID, pipelineID)
	}
	for i := range st.Segments {
		data, err := os.ReadFile(d.segmentFile(st.Segments[i].Name))
		if err != nil {
			return nil, fmt.Errorf("checkpoint: state %s names segment %q, which cannot be read (%w): the directory was changed by hand; start afresh", name, st.Segments[i].Name, err)
		}
		st.Segments[i].Data = data
	}
	if h.PendingFile != "" {
		data, err := os.ReadFile(filepath.Join(d.path, h.PendingFile))
		if err != nil {
			return nil, fmt.Errorf("checkpoint: state %s names its pending output %s, which cannot be read: %w", name, h.PendingFile, err)
		}
		st.Pending = new(ctc.Batch)
		if err := st.Pending.UnmarshalBinary(data); err != nil {
			return nil, fmt.Errorf("checkpoint: %s: %w", h.PendingFile, err)
		}
	}
	return &st, nil
}

// Save writes the state's new segments and pending output, then replaces its head atomically,
// then deletes what the new head no longer names.
func (d *Dir) Save(ctx context.Context, st *ctc.State) error {
	id := st.Checkpoint.PipelineID
	name, err := d.file(id)
	if err != nil {
		return err
	}
	h := head{Format: format, State: *st}
	h.Segments = make([]ctc.Segment, len(st.Segments))
	named := make(map[string]bool, len(st.Segments))
	wrote := false
	for i, s := range st.Segments {
		h.Segments[i] = ctc.Segment{Name: s.Name}
		named[url.PathEscape(s.Name)] = true
		path := d.segmentFile(s.Name)
		if s.Data == nil {
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("checkpoint: segment %q is named without data but was never saved here: %w", s.Name, err)
			}
			continue
		}
		if !wrote {
			if err := os.MkdirAll(d.segmentDir(), 0o755); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
		}
		if err := writeFile(path, s.Data); err != nil {
			return fmt.Errorf("checkpoint: segment %q: %w", s.Name, err)
		}
		wrote = true
	}
	if wrote {
		if err := fsx.SyncDir(d.segmentDir()); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if st.Pending != nil {
		h.PendingFile = id + ".pending-" + strconv.FormatInt(st.Checkpoint.Seq, 10)
		if err := fsx.WriteFileAtomic(filepath.Join(d.path, h.PendingFile), st.Pending.AppendBinary(nil)); err != nil {
			return fmt.Errorf("checkpoint: pending output: %w", err)
		}
	}
	b, err := json.Marshal(&h)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := fsx.WriteFileAtomic(name, b); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	d.collect(id, named, h.PendingFile)
	return nil
}

// writeFile writes a new segment file and fsyncs it; its directory entry is synced once for
// all of a save's segments. A segment is immutable, so a file left half-written by a crash is
// named by no head and is overwritten or collected later.
func writeFile(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// collect deletes the pipeline's segments that the head does not name and its other pending
// files. Failures only leave garbage behind, never a wrong state, so they are not reported.
func (d *Dir) collect(id string, named map[string]bool, pending string) {
	prefix := url.PathEscape(id + "/")
	if entries, err := os.ReadDir(d.segmentDir()); err == nil {
		for _, e := range entries {
			if n := e.Name(); strings.HasPrefix(n, prefix) && !named[n] {
				_ = os.Remove(filepath.Join(d.segmentDir(), n))
			}
		}
	}
	if entries, err := os.ReadDir(d.path); err == nil {
		for _, e := range entries {
			if n := e.Name(); strings.HasPrefix(n, id+".pending-") && n != pending {
				_ = os.Remove(filepath.Join(d.path, n))
			}
		}
	}
}
