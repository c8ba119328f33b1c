// Package checkpoint keeps pipeline state (ctc.State) in files, for pipelines that run on one
// machine. Each pipeline's state is one JSON file, replaced atomically at every checkpoint: written
// to a temporary file, synced, renamed over the old one, and the directory synced, so that a
// crash at any moment leaves either the previous state or the new one.
package checkpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// Dir is a ctc.StateStore keeping one file per pipeline in a directory.
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

// Load returns the pipeline's last saved state, or (nil, nil) if it has none.
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
	var st ctc.State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("checkpoint: %s is not a saved state: %w", name, err)
	}
	if st.Checkpoint.PipelineID != pipelineID {
		return nil, fmt.Errorf("checkpoint: %s holds pipeline %q, not %q", name, st.Checkpoint.PipelineID, pipelineID)
	}
	return &st, nil
}

// Save replaces the pipeline's state atomically.
func (d *Dir) Save(ctx context.Context, st *ctc.State) error {
	name, err := d.file(st.Checkpoint.PipelineID)
	if err != nil {
		return err
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := fsx.WriteFileAtomic(name, b); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
