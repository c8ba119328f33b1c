package window

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// snapshotFormat is bumped whenever snapshot changes incompatibly.
const snapshotFormat = 1

// snapshot is the gob form of a Tumbling. The watermark is left out because it follows from
// MaxEventTime and the spec; the spec is kept only to refuse a restore into different windows.
type snapshot[K comparable, A any] struct {
	Format       int
	Size         time.Duration
	Lateness     time.Duration
	MaxEventTime int64
	Late         int64
	Open         []Pane[K, A] // by Start, then compare(Key)
	Ready        []Pane[K, A] // by End, then compare(Key)
}

// MarshalBinary snapshots the whole state (open panes, ready list, max event time, late count)
// with encoding/gob, so K and A must be gob-encodable (exported fields).
//
// The same state gives the same bytes: panes go out as slices sorted by Start then compare(Key),
// never as a map, whatever order the keys arrived in. Two caveats come from gob itself: an A
// holding a map encodes in map order, which varies; and gob numbers types in the order a process
// first meets them, so bytes are comparable between snapshots of one process, not across processes.
func (w *Tumbling[K, A]) MarshalBinary() ([]byte, error) {
	s := snapshot[K, A]{
		Format:       snapshotFormat,
		Size:         w.spec.Size,
		Lateness:     w.spec.Lateness,
		MaxEventTime: w.maxTs,
		Late:         w.late,
		Open:         make([]Pane[K, A], 0, w.open),
		Ready:        w.ready,
	}
	for _, b := range w.buckets {
		k := len(s.Open)
		s.Open = append(s.Open, b.panes...)
		slices.SortFunc(s.Open[k:], w.byKey)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
		return nil, fmt.Errorf("window: encoding a Tumbling snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary replaces the state with a snapshot from MarshalBinary. The receiver must come
// from NewTumbling with the same Spec and compare as the snapshotted one; carrying on from there
// behaves exactly as if the stream had never been interrupted. A snapshot that does not fit (other
// spec, panes that break the window invariants) is refused and the state is left as it was.
func (w *Tumbling[K, A]) UnmarshalBinary(data []byte) error {
	if w.compare == nil {
		return errors.New("window: UnmarshalBinary needs a Tumbling from NewTumbling: the compare function is not part of a snapshot")
	}
	var s snapshot[K, A]
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil {
		return fmt.Errorf("window: decoding a Tumbling snapshot: %w", err)
	}
	if err := w.check(&s); err != nil {
		return fmt.Errorf("window: refusing a Tumbling snapshot: %w", err)
	}

	for _, b := range w.buckets {
		w.recycle(b)
	}
	w.buckets = w.buckets[:0]
	w.last = nil
	w.ready = append(w.ready[:0], s.Ready...)
	w.maxTs = s.MaxEventTime
	w.wm = w.spec.watermark(s.MaxEventTime)
	w.late = s.Late
	w.open = len(s.Open)
	for _, p := range s.Open {
		b := w.last
		if b == nil || b.start != p.Start {
			b = w.bucket(p.Start, p.End)
			w.last = b
		}
		b.index[p.Key] = len(b.panes)
		b.panes = append(b.panes, p)
	}
	return nil
}

// check verifies that s could have come from a Tumbling with w's spec and compare, since a
// restored state that broke the invariants would misfire silently later.
func (w *Tumbling[K, A]) check(s *snapshot[K, A]) error {
	if s.Format != snapshotFormat {
		return fmt.Errorf("format %d, want %d", s.Format, snapshotFormat)
	}
	if s.Size != w.spec.Size || s.Lateness != w.spec.Lateness {
		return fmt.Errorf("taken with window size %v and lateness %v, restoring into size %v and lateness %v",
			s.Size, s.Lateness, w.spec.Size, w.spec.Lateness)
	}
	if s.Late < 0 {
		return fmt.Errorf("negative late count %d", s.Late)
	}
	wm := w.spec.watermark(s.MaxEventTime)
	for i, p := range s.Open {
		if err := w.checkPane(p); err != nil {
			return fmt.Errorf("open pane %d: %w", i, err)
		}
		if p.End <= wm {
			return fmt.Errorf("open pane %d ends at %d, not after the watermark %d", i, p.End, wm)
		}
		if i > 0 {
			q := s.Open[i-1]
			if q.Start > p.Start || q.Start == p.Start && w.compare(q.Key, p.Key) >= 0 {
				return fmt.Errorf("open pane %d is out of order or repeated", i)
			}
		}
	}
	for i, p := range s.Ready {
		if err := w.checkPane(p); err != nil {
			return fmt.Errorf("ready pane %d: %w", i, err)
		}
		if p.End > wm {
			return fmt.Errorf("ready pane %d ends at %d, after the watermark %d", i, p.End, wm)
		}
		if i > 0 {
			q := s.Ready[i-1]
			if q.End > p.End || q.End == p.End && w.compare(q.Key, p.Key) >= 0 {
				return fmt.Errorf("ready pane %d is out of order or repeated", i)
			}
		}
	}
	return nil
}

func (w *Tumbling[K, A]) checkPane(p Pane[K, A]) error {
	if p.Start == math.MaxInt64 {
		return fmt.Errorf("starts at math.MaxInt64")
	}
	start, end := w.spec.bounds(p.Start)
	if start != p.Start || end != p.End {
		return fmt.Errorf("[%d, %d) is not a window of size %v", p.Start, p.End, w.spec.Size)
	}
	return nil
}
