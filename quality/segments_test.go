package quality

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"pgregory.net/rapid"
)

// segStore is a state store for one chain as every ctc.StateStore keeps segments: it writes each
// segment with data, keeps the head, and deletes the segments the head no longer names.
type segStore struct {
	head    []byte
	segs    map[string][]byte
	written int // segment bytes written, over all saves
}

func (s *segStore) save(t *rapid.T, head []byte, segs []ctc.Segment) {
	if s.segs == nil {
		s.segs = map[string][]byte{}
	}
	named := map[string]bool{}
	for _, g := range segs {
		named[g.Name] = true
		if g.Data != nil {
			if _, ok := s.segs[g.Name]; ok {
				t.Fatalf("segment %q written twice", g.Name)
			}
			s.segs[g.Name] = g.Data
			s.written += len(g.Data)
		} else if _, ok := s.segs[g.Name]; !ok {
			t.Fatalf("segment %q named without data, but never saved", g.Name)
		}
	}
	for name := range s.segs {
		if !named[name] {
			delete(s.segs, name)
		}
	}
	s.head = head
}

// TestSegmentsMatchUninterrupted: a chain checkpointed by segments at random points, and restored
// from its last checkpoint at random points (losing what came after, which is then fed again, as
// a host that crashed), decides exactly as an uninterrupted chain; the store never holds a
// segment older than the window, and the first full snapshot equals the uninterrupted one.
func TestSegmentsMatchUninterrupted(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := rapid.SampledFrom([]time.Duration{time.Hour, time.Second, 90 * time.Second, 59 * time.Second}).Draw(t, "window")
		cfg := Config{DedupWindow: w}
		c, twin := mustNew(t, cfg), mustNew(t, cfg)
		var store segStore
		n := rapid.IntRange(1, 300).Draw(t, "n")
		var trades []ctc.Trade
		cur := t0
		for range n {
			cur = cur.Add(time.Duration(rapid.Int64Range(-int64(w/10), int64(w/3)).Draw(t, "step")))
			if rapid.IntRange(0, 9).Draw(t, "ns") == 0 {
				cur = cur.Add(time.Duration(rapid.IntRange(1, 999).Draw(t, "odd")))
			}
			tr := trade(rapid.IntRange(0, 40).Draw(t, "id"), cur)
			trades = append(trades, tr)
		}
		var want []ctc.Status
		for i := range trades {
			want = append(want, twin.Check(&ctc.Record{Decoded: true, Trade: trades[i]}, new(ctc.Trade)).Status)
		}
		saved := 0 // records covered by the last save
		for i := 0; i < len(trades); i++ {
			if got := c.Check(&ctc.Record{Decoded: true, Trade: trades[i]}, new(ctc.Trade)).Status; got != want[i] {
				t.Fatalf("record %d: %v, want %v", i, got, want[i])
			}
			switch rapid.IntRange(0, 9).Draw(t, "action") {
			case 0, 1:
				head, segs, err := c.SnapshotSegments("p/quality/")
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range segs {
					if !strings.HasPrefix(g.Name, "p/quality/") {
						t.Fatalf("segment name %q lacks the prefix", g.Name)
					}
				}
				store.save(t, head, segs)
				saved = i + 1
			case 2:
				if store.head == nil {
					break
				}
				c = mustNew(t, cfg)
				if err := c.RestoreSegments(store.head, store.segs); err != nil {
					t.Fatalf("RestoreSegments: %v", err)
				}
				i = saved - 1 // redelivered from the checkpoint on
			}
		}
		a, _ := c.Snapshot()
		b, _ := twin.Snapshot()
		if !bytes.Equal(a, b) {
			t.Fatalf("segmented and uninterrupted chains end with different snapshots")
		}
	})
}

// TestSegmentsCostWhatChanged: at a steady rate, every checkpoint writes one segment of the ids
// since the previous one (about 19 bytes each), and the segments a store keeps cover one window.
func TestSegmentsCostWhatChanged(t *testing.T) {
	c := mustNew(t, Config{DedupWindow: 10 * time.Minute})
	id := 0
	for minute := range 60 {
		for i := range 600 {
			ts := t0.Add(time.Duration(minute)*time.Minute + time.Duration(i)*100*time.Millisecond)
			if v := c.Check(&ctc.Record{Decoded: true, Trade: trade(id, ts)}, nil); v.Status != ctc.Pass {
				t.Fatalf("%+v", v)
			}
			id++
		}
		head, segs, err := c.SnapshotSegments("p/")
		if err != nil {
			t.Fatal(err)
		}
		var fresh int
		for _, g := range segs {
			fresh += len(g.Data)
		}
		if fresh < 600*17 || fresh > 600*21 {
			t.Fatalf("minute %d: checkpoint wrote %d segment bytes for 600 new ids", minute, fresh)
		}
		if len(head) > 1024 {
			t.Fatalf("minute %d: head is %d bytes", minute, len(head))
		}
		if minute >= 11 && (len(segs) < 10 || len(segs) > 12) {
			t.Fatalf("minute %d: %d live segments for a 10-minute window of 1-minute checkpoints", minute, len(segs))
		}
	}
}

func TestRestoreSegmentsRejects(t *testing.T) {
	c := mustNew(t, Config{})
	c.Check(&ctc.Record{Decoded: true, Trade: trade(1, t0)}, nil)
	head, segs, err := c.SnapshotSegments("x/")
	if err != nil {
		t.Fatal(err)
	}
	d := mustNew(t, Config{})
	if err := d.RestoreSegments(head, nil); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("restore without its segment: %v", err)
	}
	if err := d.RestoreSegments([]byte("nonsense"), nil); err == nil {
		t.Fatal("restored nonsense")
	}
	m := map[string][]byte{segs[0].Name: segs[0].Data[:len(segs[0].Data)-1]}
	if err := d.RestoreSegments(head, m); err == nil {
		t.Fatal("restored a truncated segment")
	}
	// A version 1 snapshot (what a state saved before segments holds) restores.
	v1, _ := c.Snapshot()
	if err := d.RestoreSegments(v1, nil); err != nil {
		t.Fatalf("restore a version 1 snapshot: %v", err)
	}
	if v := d.Check(&ctc.Record{Decoded: true, Trade: trade(1, t0)}, nil); v.Status != ctc.Duplicate {
		t.Fatalf("after a v1 restore: %+v", v)
	}
}

func FuzzRestoreSegments(f *testing.F) {
	c := mustNew(f, Config{})
	for i := range 5 {
		c.Check(&ctc.Record{Decoded: true, Trade: trade(i, t0.Add(time.Duration(i)*time.Second))}, nil)
	}
	head, segs, _ := c.SnapshotSegments("f/")
	f.Add(head, segs[0].Data)
	f.Fuzz(func(t *testing.T, head, seg []byte) {
		d := mustNew(t, Config{})
		m := map[string][]byte{}
		for _, g := range segs {
			m[g.Name] = seg
		}
		_ = d.RestoreSegments(head, m)
	})
}
