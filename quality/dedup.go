package quality

import (
	"math"
	"time"

	"github.com/google/uuid"
)

// etime is an event time as Unix seconds and nanoseconds: exact over the whole range of
// time.Time, unlike UnixNano, and free of pointers, unlike time.Time, so the memory is not scanned
// by the garbage collector.
type etime struct {
	sec  int64
	nsec int32
}

func etimeOf(t time.Time) etime { return etime{t.Unix(), int32(t.Nanosecond())} }

func (a etime) less(b etime) bool { return a.sec < b.sec || a.sec == b.sec && a.nsec < b.nsec }

func (a etime) time() time.Time { return time.Unix(a.sec, int64(a.nsec)).UTC() }

// sub returns a − d, saturating at the lowest representable time.
func (a etime) sub(d time.Duration) etime {
	s, ns := int64(d/time.Second), int32(d%time.Second)
	r := etime{a.sec - s, a.nsec - ns}
	if r.nsec < 0 {
		r.nsec += 1e9
		r.sec--
	}
	if r.sec > a.sec { // wrapped
		return etime{math.MinInt64, 0}
	}
	return r
}

// dedup remembers the event ids that passed, with their event time, for one window of event time.
//
// An id is a duplicate iff it passed before and its remembered time is >= max − window, where max
// is the greatest event time of the trades that passed. Ids are also listed in buckets of
// whole seconds (about 1/60 of the window each) in a ring; when max advances, the buckets that lie
// entirely before max − window are emptied and their ids forgotten. So the memory holds at most
// the ids of one window plus one bucket, and the exact comparison on a hit keeps the semantics
// exact whatever the bucket size. Bucket slices are reused: no allocation in steady state.
type dedup struct {
	window time.Duration
	width  int64 // bucket width in seconds, >= 1
	has    bool  // a trade has passed: max and lo are set
	max    etime
	lo     int64 // the oldest bucket that may hold ids
	seen   idTable
	ring   []bucket
	// track makes add list what it remembers in fresh, for the next segment of a checkpoint
	// (SnapshotSegments); off until the chain is first saved by segments.
	track bool
	fresh []entry
}

type bucket struct {
	idx int64
	ids []uuid.UUID
}

func newDedup(window time.Duration) dedup {
	wsec := int64((window + time.Second - 1) / time.Second) // whole seconds, rounded up
	width := max(1, (wsec+59)/60)
	// Live buckets are those from the one holding max − window to the one holding max: at most
	// ceil(wsec/width) + 2 of them. One more slot is slack.
	nb := (wsec+width-1)/width + 3
	return dedup{window: window, width: width, seen: newIDTable(), ring: make([]bucket, nb)}
}

func (d *dedup) bucketOf(t etime) int64 {
	b := t.sec / d.width
	if t.sec%d.width < 0 {
		b--
	}
	return b
}

func (d *dedup) slot(b int64) *bucket {
	n := int64(len(d.ring))
	return &d.ring[((b%n)+n)%n]
}

// cutoff is the oldest remembered time that still makes a duplicate.
func (d *dedup) cutoff() etime { return d.max.sub(d.window) }

// duplicate reports whether id passed within the window.
func (d *dedup) duplicate(id uuid.UUID) bool {
	if !d.has {
		return false
	}
	ts, ok := d.seen.get(id)
	return ok && !ts.less(d.cutoff())
}

// add remembers that id passed at ts.
func (d *dedup) add(id uuid.UUID, ts etime) {
	if !d.has {
		d.has, d.max = true, ts
		d.lo = d.bucketOf(d.cutoff())
	} else if d.max.less(ts) {
		d.max = ts
		d.evict()
	}
	if ts.less(d.cutoff()) {
		return // too old ever to make a duplicate
	}
	b := d.bucketOf(ts)
	s := d.slot(b)
	if s.idx != b {
		d.clear(s) // cannot hold live ids (see newDedup); kept for safety
		s.idx = b
	}
	s.ids = append(s.ids, id)
	d.seen.put(id, ts)
	if d.track {
		d.fresh = append(d.fresh, entry{id, ts})
	}
}

// restoreEntry remembers id at ts, as add does, unless it is remembered at ts or later already
// (an id in two segments passed again after it expired: the later time counts). The caller has
// set max and checked ts against the cutoff; one probe of the table does both the check and the
// write.
func (d *dedup) restoreEntry(id uuid.UUID, ts etime) {
	if !d.seen.putMax(id, ts) {
		return
	}
	b := d.bucketOf(ts)
	s := d.slot(b)
	if s.idx != b {
		d.clear(s)
		s.idx = b
	}
	s.ids = append(s.ids, id)
}

// evict forgets the buckets that fell entirely before the cutoff.
func (d *dedup) evict() {
	lo := d.bucketOf(d.cutoff())
	if lo <= d.lo {
		return
	}
	if uint64(lo-d.lo) >= uint64(len(d.ring)) {
		for i := range d.ring {
			d.clear(&d.ring[i])
		}
	} else {
		for b := d.lo; b < lo; b++ {
			if s := d.slot(b); s.idx == b {
				d.clear(s)
			}
		}
	}
	d.lo = lo
	d.seen.shrink()
}

// clear forgets the ids of a bucket, but for those that passed again later, in another bucket.
func (d *dedup) clear(s *bucket) {
	for _, id := range s.ids {
		if i := d.seen.find(id); i >= 0 && d.bucketOf(d.seen.slots[i].ts()) == s.idx {
			d.seen.removeAt(i)
		}
	}
	clear(s.ids)
	s.ids = s.ids[:0]
}

// len is the number of remembered ids.
func (d *dedup) len() int { return d.seen.n }

// reset forgets everything.
func (d *dedup) reset() {
	for i := range d.ring {
		d.ring[i].ids = d.ring[i].ids[:0]
		d.ring[i].idx = 0
	}
	d.seen.clear()
	d.has, d.max, d.lo = false, etime{}, 0
	d.fresh = d.fresh[:0]
}
