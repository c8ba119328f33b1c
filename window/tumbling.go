package window

import (
	"encoding"
	"errors"
	"math"
	"slices"
)

// Pane is one key's window.
type Pane[K comparable, A any] struct {
	Key   K
	Start int64 // unix ns, inclusive
	End   int64 // unix ns, exclusive
	Acc   A
}

// Tumbling is a passive event-time window state machine: no goroutines, no clock. It is not safe
// for concurrent use.
//
// It keeps one pane per (window, key) while the window is open. A window fires once, when the
// watermark (max event time seen − Spec.Lateness) reaches its end; its panes then wait in the
// ready list until Ready collects them. A record whose window has already fired (or would have,
// had it existed) is late: Add counts it and hands back nil, and the window is never re-opened.
type Tumbling[K comparable, A any] struct {
	spec    Spec
	compare func(a, b K) int
	byKey   func(a, b Pane[K, A]) int // built once so that sorting allocates no closure

	buckets []*bucket[K, A] // open windows, by start
	last    *bucket[K, A]   // the window of the previous record: nearly every record goes there again
	free    []*bucket[K, A] // fired windows kept for reuse, with their map and slice capacity
	ready   []Pane[K, A]

	maxTs int64 // math.MinInt64 before any event
	wm    int64 // always spec.watermark(maxTs), kept to spare the late check a recomputation
	late  int64
	open  int
}

// bucket holds the panes of one open window.
type bucket[K comparable, A any] struct {
	start, end int64
	index      map[K]int // key → position in panes
	panes      []Pane[K, A]
}

// maxFree bounds the fired windows kept for reuse: in steady state one fires as the next opens,
// and keeping many would only pin the memory of a past burst of scattered timestamps.
const maxFree = 8

var (
	_ encoding.BinaryMarshaler   = (*Tumbling[string, Sum])(nil)
	_ encoding.BinaryUnmarshaler = (*Tumbling[string, Sum])(nil)
)

// NewTumbling returns an empty Tumbling for spec. compare orders keys (as cmp.Compare or
// strings.Compare do); it makes the order of Ready and the bytes of MarshalBinary deterministic,
// which map iteration would not.
func NewTumbling[K comparable, A any](spec Spec, compare func(a, b K) int) (*Tumbling[K, A], error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if compare == nil {
		return nil, errors.New("window: compare must not be nil: pass a function ordering the keys, such as cmp.Compare[K]")
	}
	return &Tumbling[K, A]{
		spec:    spec,
		compare: compare,
		byKey:   func(a, b Pane[K, A]) int { return compare(a.Key, b.Key) },
		maxTs:   math.MinInt64,
		wm:      math.MinInt64,
	}, nil
}

// Spec returns the spec the windows were made with.
func (w *Tumbling[K, A]) Spec() Spec { return w.spec }

// Add assigns an event with timestamp ts (unix ns) and key to its window [Start(ts), Start(ts)+Size)
// and returns a pointer to that pane's accumulator for the caller to update (a new pane starts from
// the zero A).
//
// It returns nil when the record is late: its window end <= the current watermark (the window has
// fired, or would have fired had it existed). Late records are counted (Late) and never re-open or
// re-fire a window.
//
// After routing the record, Add raises the max event time to ts if larger; every open pane whose
// End <= watermark then fires: it moves to the ready list. The returned pointer stays valid until
// the next call of Add, Advance, Flush or UnmarshalBinary. The record's own pane never fires in the same call, since
// End > ts >= watermark; to keep that true, ts == math.MaxInt64, which means +∞ (see Advance), is
// taken as math.MaxInt64-1.
func (w *Tumbling[K, A]) Add(ts int64, key K) *A {
	if ts == math.MaxInt64 {
		ts--
	}
	b := w.last
	if b == nil || ts < b.start || ts >= b.end {
		start, end := w.spec.bounds(ts)
		if end <= w.wm {
			w.late++
			return nil
		}
		b = w.bucket(start, end)
		w.last = b
	}
	i, ok := b.index[key]
	if !ok {
		i = len(b.panes)
		b.panes = append(b.panes, Pane[K, A]{Key: key, Start: b.start, End: b.end})
		b.index[key] = i
		w.open++
	}
	if ts > w.maxTs {
		w.raise(ts)
	}
	return &b.panes[i].Acc
}

// Advance tells the windows that event time has reached ts without a record (an idle source, the
// end of input). It raises the max event time like Add and fires what became ready.
// Advance(math.MaxInt64) sets the watermark to +∞, whatever the lateness, and fires every pane: the
// final watermark of a bounded input. Every later record is late.
func (w *Tumbling[K, A]) Advance(ts int64) {
	if ts > w.maxTs {
		w.raise(ts)
	}
}

// Flush is Advance(math.MaxInt64) followed by Ready: the end of a bounded input. Its slice is
// Ready's, with the same lifetime.
func (w *Tumbling[K, A]) Flush() []Pane[K, A] {
	w.Advance(math.MaxInt64)
	return w.Ready()
}

// Ready returns the panes fired since the previous Ready call, ordered by End, then by compare(Key),
// and empties the ready list. The returned slice is reused: it is valid until the next Add, Advance
// or Ready.
func (w *Tumbling[K, A]) Ready() []Pane[K, A] {
	r := w.ready
	w.ready = w.ready[:0]
	return r
}

// Watermark returns max event time − Lateness: math.MinInt64 before any event, math.MaxInt64
// after Advance(math.MaxInt64).
func (w *Tumbling[K, A]) Watermark() int64 { return w.wm }

// MaxEventTime returns the largest timestamp seen by Add or Advance, math.MinInt64 before any.
func (w *Tumbling[K, A]) MaxEventTime() int64 { return w.maxTs }

// Late returns the number of late records Add has refused.
func (w *Tumbling[K, A]) Late() int64 { return w.late }

// Open returns the number of open panes.
func (w *Tumbling[K, A]) Open() int { return w.open }

func (w *Tumbling[K, A]) raise(ts int64) {
	w.maxTs = ts
	w.wm = w.spec.watermark(ts)
	if len(w.buckets) > 0 && w.buckets[0].end <= w.wm {
		w.fire()
	}
}

// fire moves every window whose end the watermark has reached to the ready list. Ends grow with
// starts, so those windows are a prefix of buckets; and every window still open ends after the
// watermark that fired the earlier ones, so appending keeps the ready list ordered by End.
func (w *Tumbling[K, A]) fire() {
	n := 0
	for n < len(w.buckets) && w.buckets[n].end <= w.wm {
		b := w.buckets[n]
		k := len(w.ready)
		w.ready = append(w.ready, b.panes...)
		slices.SortFunc(w.ready[k:], w.byKey)
		w.open -= len(b.panes)
		if w.last == b {
			w.last = nil
		}
		w.recycle(b)
		n++
	}
	w.buckets = slices.Delete(w.buckets, 0, n)
}

func (w *Tumbling[K, A]) recycle(b *bucket[K, A]) {
	if len(w.free) >= maxFree {
		return
	}
	clear(b.panes) // drop references held by keys and accumulators
	b.panes = b.panes[:0]
	clear(b.index)
	w.free = append(w.free, b)
}

// bucket returns the open window starting at start, making it if needed. Records that miss the
// cached window mostly open the newest one, so the search runs from the end.
func (w *Tumbling[K, A]) bucket(start, end int64) *bucket[K, A] {
	i := len(w.buckets)
	for i > 0 && w.buckets[i-1].start > start {
		i--
	}
	if i > 0 && w.buckets[i-1].start == start {
		return w.buckets[i-1]
	}
	var b *bucket[K, A]
	if n := len(w.free); n > 0 {
		b = w.free[n-1]
		w.free[n-1] = nil
		w.free = w.free[:n-1]
	} else {
		b = &bucket[K, A]{index: make(map[K]int)}
	}
	b.start, b.end = start, end
	w.buckets = slices.Insert(w.buckets, i, b)
	return b
}
