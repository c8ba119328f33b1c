package quality

import (
	"encoding/binary"
	"math"
	"math/bits"
	"math/rand/v2"
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
// is the greatest event time of the trades that passed. The memory has two parts:
//
//   - log, the entries (id, time) in the order they passed: a ring that grows at its tail and is
//     cut at its head once the head's time falls before max − window. Trades pass in roughly
//     event-time order, so the ring holds about one window; an entry held back behind a newer
//     head is only kept longer, never wrongly used, because a hit compares times exactly.
//   - index, an open-addressing table from id to its newest position in log, with linear probing
//     and backward-shift deletion. A slot is 8 bytes — 32 bits of the id's hash and the position —
//     so eight share a cache line: the table for an hour at 1,000 trades a second is 32 MB, a
//     third of a table holding whole ids, and the lookup of a new id (the common case) touches one
//     line of it. The hash bits double as the slot's home, so resizing and deleting never read
//     the log; an id is compared in the log only when its hash bits match.
//
// Event ids come from the input, so the hash is keyed with random secrets: a producer cannot
// choose ids that collide. The secrets change the layout only, never a decision. In steady state
// nothing allocates.
type dedup struct {
	window time.Duration
	has    bool // a trade has passed: max is set
	max    etime

	log        []entry // a power of two; position p is at log[p&(len(log)-1)]
	head, tail uint64  // positions of the oldest entry and of the next one

	index  []islot // a power of two
	n      int     // used slots
	k0, k1 uint64

	// track makes add list what it remembers in fresh, for the next segment of a checkpoint
	// (SnapshotSegments); off until the chain is first saved by segments.
	track bool
	fresh []entry
}

// islot is a slot of the index: tag holds the low 32 bits of the id's hash with the top bit set
// (0 marks an empty slot), pos the low 32 bits of the entry's position in the log.
type islot struct {
	tag, pos uint32
}

const (
	minIndex = 1024
	minLog   = 256
)

func newDedup(window time.Duration) dedup {
	return dedup{window: window, log: make([]entry, minLog), index: make([]islot, minIndex),
		k0: rand.Uint64() | 1, k1: rand.Uint64() | 1}
}

func (d *dedup) tag(id *uuid.UUID) uint32 {
	a := binary.LittleEndian.Uint64(id[:8]) ^ d.k0
	b := binary.LittleEndian.Uint64(id[8:]) ^ d.k1
	hi, lo := bits.Mul64(a, b)
	hi, lo = bits.Mul64(hi^lo^d.k1, 0x9e3779b97f4a7c15)
	return uint32(hi^lo) | 1<<31
}

func (d *dedup) at(pos uint32) *entry {
	// Live positions span less than 2^32, so their low 32 bits find them.
	return &d.log[uint64(pos)&uint64(len(d.log)-1)]
}

// find returns the slot of id and true, or the empty slot where it would go and false.
func (d *dedup) find(id *uuid.UUID, tag uint32) (int, bool) {
	mask := uint32(len(d.index) - 1)
	for i := tag & mask; ; i = (i + 1) & mask {
		s := d.index[i]
		if s.tag == 0 {
			return int(i), false
		}
		if s.tag == tag && d.at(s.pos).id == *id {
			return int(i), true
		}
	}
}

// cutoff is the oldest remembered time that still makes a duplicate.
func (d *dedup) cutoff() etime { return d.max.sub(d.window) }

// duplicate reports whether id passed within the window.
func (d *dedup) duplicate(id uuid.UUID) bool {
	if !d.has {
		return false
	}
	i, ok := d.find(&id, d.tag(&id))
	return ok && !d.at(d.index[i].pos).ts.less(d.cutoff())
}

// add remembers that id passed at ts.
func (d *dedup) add(id uuid.UUID, ts etime) {
	if !d.has {
		d.has, d.max = true, ts
	} else if d.max.less(ts) {
		d.max = ts
		d.evict()
	}
	if ts.less(d.cutoff()) {
		return // too old ever to make a duplicate
	}
	d.remember(id, ts)
	if d.track {
		d.fresh = append(d.fresh, entry{id, ts})
	}
}

// remember appends id at ts to the log and points the index at it.
func (d *dedup) remember(id uuid.UUID, ts etime) {
	if d.tail-d.head == uint64(len(d.log)) {
		d.resizeLog(2 * len(d.log))
	}
	p := d.tail
	*d.at(uint32(p)) = entry{id, ts}
	d.tail++
	if 2*(d.n+1) > len(d.index) {
		d.resizeIndex(2 * len(d.index))
	}
	tag := d.tag(&id)
	i, ok := d.find(&id, tag)
	if !ok {
		d.n++
	}
	d.index[i] = islot{tag: tag, pos: uint32(p)}
}

// evict cuts the log's head while it is older than the cutoff, forgetting each id whose newest
// entry it was, and gives memory back when the window holds far less than before.
func (d *dedup) evict() {
	cut := d.cutoff()
	for d.head < d.tail {
		e := d.at(uint32(d.head))
		if !e.ts.less(cut) {
			break
		}
		if i, ok := d.find(&e.id, d.tag(&e.id)); ok && d.index[i].pos == uint32(d.head) {
			d.removeAt(i)
		}
		d.head++
	}
	if live := int(d.tail - d.head); len(d.log) > minLog && 4*live < len(d.log) {
		size := len(d.log)
		for size > minLog && 4*live < size {
			size /= 2
		}
		d.resizeLog(size) // still more than twice live
	}
	if len(d.index) > minIndex && 8*d.n < len(d.index) {
		size := len(d.index)
		for size > minIndex && 8*d.n < size {
			size /= 2
		}
		d.resizeIndex(size)
	}
}

// removeAt empties slot i and shifts back the entries after it that probed past it.
func (d *dedup) removeAt(i int) {
	mask := len(d.index) - 1
	for j := (i + 1) & mask; d.index[j].tag != 0; j = (j + 1) & mask {
		home := int(d.index[j].tag) & mask
		// Move j into the hole at i unless its home lies cyclically in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			d.index[i] = d.index[j]
			i = j
		}
	}
	d.index[i] = islot{}
	d.n--
}

func (d *dedup) resizeIndex(size int) {
	old := d.index
	d.index = make([]islot, size)
	mask := uint32(size - 1)
	for _, s := range old {
		if s.tag == 0 {
			continue
		}
		i := s.tag & mask
		for d.index[i].tag != 0 {
			i = (i + 1) & mask
		}
		d.index[i] = s
	}
}

// resizeLog moves the live entries to a log of size, keeping their positions.
func (d *dedup) resizeLog(size int) {
	old, oldMask := d.log, uint64(len(d.log)-1)
	d.log = make([]entry, size)
	mask := uint64(size - 1)
	for p := d.head; p < d.tail; p++ {
		d.log[p&mask] = old[p&oldMask]
	}
}

// all calls f for every remembered id with its newest time, in the order they passed.
func (d *dedup) all(f func(uuid.UUID, etime)) {
	for p := d.head; p < d.tail; p++ {
		e := d.at(uint32(p))
		if i, ok := d.find(&e.id, d.tag(&e.id)); ok && d.index[i].pos == uint32(p) {
			f(e.id, e.ts)
		}
	}
}

// len is the number of remembered ids.
func (d *dedup) len() int { return d.n }

// reset forgets everything.
func (d *dedup) reset() {
	*d = dedup{window: d.window, log: make([]entry, minLog), index: make([]islot, minIndex),
		k0: d.k0, k1: d.k1, fresh: d.fresh[:0]}
}

// restore fills an empty dedup, whose max is set, with entries given oldest segment first (each
// segment in the order its ids passed). An id given twice passed again after it expired: the
// later time counts. The log is filled in that order; the index is then filled in the order of
// its slots, so that a restore sweeps the table once instead of writing it at random.
func (d *dedup) restore(es []entry) {
	size := len(d.log)
	for size < len(es) {
		size *= 2
	}
	if size != len(d.log) {
		d.log = make([]entry, size)
	}
	for _, e := range es {
		*d.at(uint32(d.tail)) = e
		d.tail++
	}
	size = len(d.index)
	for 2*len(es) > size {
		size *= 2
	}
	if size != len(d.index) {
		d.index = make([]islot, size)
	}
	// A counting sort of the positions by the top bits of their home slot.
	const bits = 12
	shift := uint(max(0, bitsLen(size)-1-bits))
	mask := uint32(size - 1)
	tags := make([]uint32, len(es))
	var count [1<<bits + 1]int
	for i := range es {
		tags[i] = d.tag(&es[i].id)
		count[(tags[i]&mask)>>shift+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	order := make([]uint32, len(es))
	for i := range es {
		k := (tags[i] & mask) >> shift
		order[count[k]] = uint32(i)
		count[k]++
	}
	for _, k := range order {
		p := d.head + uint64(k)
		e := &es[k]
		i, ok := d.find(&e.id, tags[k])
		if ok {
			if !d.at(d.index[i].pos).ts.less(e.ts) {
				continue
			}
		} else {
			d.n++
		}
		d.index[i] = islot{tag: tags[k], pos: uint32(p)}
	}
}

func bitsLen(n int) int { return bits.Len(uint(n)) }
