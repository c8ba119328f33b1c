package checkpoint

import (
	"bytes"
	"context"
	"maps"
	"sync"

	"github.com/coattailcapital/ctc"
)

// Memory is a ctc.StateStore in memory: for tests, and for runs that need checkpoints only for
// what their sinks commit, not to survive the process (a batch task whose Committer sinks
// already skip what an earlier attempt committed). It copies what it saves and what it loads,
// and keeps each segment while a saved state names it. It is safe for concurrent use.
type Memory struct {
	mu     sync.Mutex
	states map[string]*ctc.State
	segs   map[string]map[string][]byte // pipeline id → segment name → data
}

var _ ctc.StateStore = (*Memory)(nil)

// NewMemory returns an empty store.
func NewMemory() *Memory {
	return &Memory{states: map[string]*ctc.State{}, segs: map[string]map[string][]byte{}}
}

// Save keeps a copy of st, replacing the pipeline's previous state.
func (m *Memory) Save(_ context.Context, st *ctc.State) error {
	id := st.Checkpoint.PipelineID
	c, err := clone(st)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.segs[id]
	live := make(map[string][]byte, len(st.Segments))
	for i, g := range st.Segments {
		data := g.Data
		if data == nil {
			data = old[g.Name]
		}
		live[g.Name] = bytes.Clone(data)
		c.Segments[i].Data = nil
	}
	m.states[id], m.segs[id] = c, live
	return nil
}

// Load returns a copy of the pipeline's last state with every segment's data, or (nil, nil).
func (m *Memory) Load(_ context.Context, pipelineID string) (*ctc.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[pipelineID]
	if !ok {
		return nil, nil
	}
	c, err := clone(st)
	if err != nil {
		return nil, err
	}
	for i := range c.Segments {
		c.Segments[i].Data = bytes.Clone(m.segs[pipelineID][c.Segments[i].Name])
	}
	return c, nil
}

// clone copies a state deeply, so that neither side sees the other's later changes.
func clone(st *ctc.State) (*ctc.State, error) {
	c := *st
	c.Detectors = maps.Clone(st.Detectors)
	for k, v := range c.Detectors {
		c.Detectors[k] = bytes.Clone(v)
	}
	c.Checker = bytes.Clone(st.Checker)
	c.Segments = append([]ctc.Segment(nil), st.Segments...)
	if st.Pending != nil {
		c.Pending = new(ctc.Batch)
		if err := c.Pending.UnmarshalBinary(st.Pending.AppendBinary(nil)); err != nil {
			return nil, err
		}
	}
	return &c, nil
}
