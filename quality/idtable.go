package quality

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"

	"github.com/google/uuid"
)

// idTable maps event ids to the event time they were remembered with. It is an open-addressing
// table with linear probing and backward-shift deletion: no tombstones, so a steady stream of
// inserts and deletes never allocates, and memory follows the number of ids (it doubles above
// half full, halves below an eighth). Go's map, under the same churn, keeps allocating.
//
// Event ids come from the input, so the hash is keyed with random secrets: a producer cannot
// choose ids that collide. The secrets change the layout only, never a decision.
type idTable struct {
	slots  []idSlot // a power of two
	n      int
	k0, k1 uint64
}

// idSlot is 32 bytes, two to a cache line: the event time is kept unpacked so that the flag fits
// in what would be padding.
type idSlot struct {
	id   uuid.UUID
	sec  int64
	nsec int32
	used bool
}

func (s *idSlot) ts() etime { return etime{s.sec, s.nsec} }

const minTable = 1024

func newIDTable() idTable {
	return idTable{slots: make([]idSlot, minTable), k0: rand.Uint64() | 1, k1: rand.Uint64() | 1}
}

func (t *idTable) hash(id *uuid.UUID) uint64 {
	a := binary.LittleEndian.Uint64(id[:8]) ^ t.k0
	b := binary.LittleEndian.Uint64(id[8:]) ^ t.k1
	hi, lo := bits.Mul64(a, b)
	hi, lo = bits.Mul64(hi^lo^t.k1, 0x9e3779b97f4a7c15)
	return hi ^ lo
}

// find returns the slot of id, or -1.
func (t *idTable) find(id uuid.UUID) int {
	mask := uint64(len(t.slots) - 1)
	for i := t.hash(&id) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			return -1
		}
		if s.id == id {
			return int(i)
		}
	}
}

func (t *idTable) get(id uuid.UUID) (etime, bool) {
	if i := t.find(id); i >= 0 {
		return t.slots[i].ts(), true
	}
	return etime{}, false
}

// put sets the time of id, adding it if needed.
func (t *idTable) put(id uuid.UUID, ts etime) {
	if 2*(t.n+1) > len(t.slots) {
		t.resize(2 * len(t.slots))
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.hash(&id) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			*s = idSlot{id: id, sec: ts.sec, nsec: ts.nsec, used: true}
			t.n++
			return
		}
		if s.id == id {
			s.sec, s.nsec = ts.sec, ts.nsec
			return
		}
	}
}

// putMax sets the time of id to ts unless it holds ts or later already; it reports whether it
// wrote.
func (t *idTable) putMax(id uuid.UUID, ts etime) bool {
	if 2*(t.n+1) > len(t.slots) {
		t.resize(2 * len(t.slots))
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.hash(&id) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			*s = idSlot{id: id, sec: ts.sec, nsec: ts.nsec, used: true}
			t.n++
			return true
		}
		if s.id == id {
			if !s.ts().less(ts) {
				return false
			}
			s.sec, s.nsec = ts.sec, ts.nsec
			return true
		}
	}
}

// removeAt empties slot i and shifts back the entries after it that probed past it.
func (t *idTable) removeAt(i int) {
	mask := len(t.slots) - 1
	for j := (i + 1) & mask; t.slots[j].used; j = (j + 1) & mask {
		home := int(t.hash(&t.slots[j].id)) & mask
		// Move j into the hole at i unless its home lies cyclically in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = idSlot{}
	t.n--
}

// inSlotOrder returns es reordered by the region of the table their ids hash to (a counting
// sort on the top bits of the slot index), so that inserting them in that order touches the
// table front to back.
func (t *idTable) inSlotOrder(es []entry) []entry {
	const bits = 12
	shift := uint(max(0, bitsLen(len(t.slots))-1-bits))
	mask := uint64(len(t.slots) - 1)
	var count [1<<bits + 1]int
	for i := range es {
		count[(t.hash(&es[i].id)&mask)>>shift+1]++
	}
	for i := 1; i < len(count); i++ {
		count[i] += count[i-1]
	}
	out := make([]entry, len(es))
	for i := range es {
		k := (t.hash(&es[i].id) & mask) >> shift
		out[count[k]] = es[i]
		count[k]++
	}
	return out
}

func bitsLen(n int) int { return bits.Len(uint(n)) }

// reserve grows the table so that n more ids fit without a resize.
func (t *idTable) reserve(n int) {
	size := len(t.slots)
	for 2*(t.n+n) > size {
		size *= 2
	}
	if size != len(t.slots) {
		t.resize(size)
	}
}

// shrink halves the table while it is less than an eighth full.
func (t *idTable) shrink() {
	size := len(t.slots)
	for size > minTable && 8*t.n < size {
		size /= 2
	}
	if size != len(t.slots) {
		t.resize(size)
	}
}

func (t *idTable) resize(size int) {
	old := t.slots
	t.slots, t.n = make([]idSlot, size), 0
	for i := range old {
		if old[i].used {
			t.put(old[i].id, old[i].ts())
		}
	}
}

func (t *idTable) clear() {
	if len(t.slots) > minTable {
		t.slots = make([]idSlot, minTable)
	} else {
		clear(t.slots)
	}
	t.n = 0
}

// all calls f for every entry, in no particular order.
func (t *idTable) all(f func(uuid.UUID, etime)) {
	for i := range t.slots {
		if s := &t.slots[i]; s.used {
			f(s.id, s.ts())
		}
	}
}
