package ctctest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/ctctest"
)

// memStore is a ctc.StateStore in memory, with defects to show that TestStateStore finds them.
type memStore struct {
	mu     sync.Mutex
	defect string
	heads  map[string]*ctc.State
	segs   map[string][]byte
}

func (m *memStore) Save(_ context.Context, st *ctc.State) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.heads == nil {
		m.heads, m.segs = map[string]*ctc.State{}, map[string][]byte{}
	}
	h := *st
	h.Segments = nil
	for _, g := range st.Segments {
		if g.Data != nil {
			m.segs[g.Name] = bytes.Clone(g.Data)
		}
		h.Segments = append(h.Segments, ctc.Segment{Name: g.Name})
	}
	if m.defect == "only-new-segments" {
		h.Segments = slices.DeleteFunc(h.Segments, func(g ctc.Segment) bool {
			return !slices.ContainsFunc(st.Segments, func(n ctc.Segment) bool { return n.Name == g.Name && n.Data != nil })
		})
	}
	if st.Pending != nil && m.defect != "no-pending" {
		h.Pending = new(ctc.Batch)
		if err := h.Pending.UnmarshalBinary(st.Pending.AppendBinary(nil)); err != nil {
			return err
		}
	} else {
		h.Pending = nil
	}
	key := st.Checkpoint.PipelineID
	if m.defect == "one-pipeline" {
		key = ""
	}
	m.heads[key] = &h
	return nil
}

func (m *memStore) Load(_ context.Context, id string) (*ctc.State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.defect == "one-pipeline" {
		id = ""
	}
	h, ok := m.heads[id]
	if !ok {
		return nil, nil
	}
	st := *h
	st.Segments = slices.Clone(h.Segments)
	for i := range st.Segments {
		st.Segments[i].Data = m.segs[st.Segments[i].Name]
	}
	return &st, nil
}

func TestStateStorePassesCorrectStores(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		ctctest.TestStateStore(t, func(*testing.T) ctc.StateStore { return &memStore{} }, nil)
	})
	t.Run("checkpoint.Dir", func(t *testing.T) {
		paths := map[ctc.StateStore]string{}
		open := func(t *testing.T, path string) ctc.StateStore {
			d, err := checkpoint.NewDir(path)
			if err != nil {
				t.Fatal(err)
			}
			paths[d] = path
			return d
		}
		ctctest.TestStateStore(t,
			func(t *testing.T) ctc.StateStore { return open(t, t.TempDir()) },
			// A restarted process opens a new store over the same directory.
			func(t *testing.T, s ctc.StateStore) ctc.StateStore { return open(t, paths[s]) })
	})
}

// TestStateStoreCatchesBrokenStores runs TestStateStore on a defective store in a child process
// and checks that the subtest meant to catch the defect fails.
func TestStateStoreCatchesBrokenStores(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ mode, subtest string }{
		{"only-new-segments", "segments_carried_by_name"},
		{"no-pending", "segments_carried_by_name"},
		{"one-pipeline", "pipelines_apart"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenStateStore$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "CTCTEST_BROKEN_STATE_STORE="+c.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("TestStateStore passed a store with defect %q:\n%s", c.mode, out)
			}
			if want := "--- FAIL: TestBrokenStateStore/" + c.subtest + " "; !bytes.Contains(out, []byte(want)) {
				t.Fatalf("defect %q: want subtest %s to fail; output:\n%s", c.mode, c.subtest, out)
			}
		})
	}
}

// TestBrokenStateStore is run by TestStateStoreCatchesBrokenStores in a child process.
func TestBrokenStateStore(t *testing.T) {
	mode := os.Getenv("CTCTEST_BROKEN_STATE_STORE")
	if mode == "" {
		t.Skip("run by TestStateStoreCatchesBrokenStores")
	}
	ctctest.TestStateStore(t, func(*testing.T) ctc.StateStore { return &memStore{defect: mode} }, nil)
}
