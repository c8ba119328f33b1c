package quality

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/coattailcapital/ctc/internal/binx"
	"slices"

	"github.com/google/uuid"
)

// The snapshot format, version 1, all integers varints:
//
//	"CTCQ" 1
//	processed duplicate late warnings malformed incomplete invalid   (uvarint)
//	has (byte 0 or 1) [max.sec (varint) max.nsec (uvarint)]
//	n (uvarint), then n entries sorted by (time, id):
//	    id (16 bytes) Δsec from the previous entry, the first from max.sec (varint) nsec (uvarint)
//
// Only the ids that still make duplicates (time >= max − DedupWindow) are written, so the bytes
// are a function of what the chain would decide, not of when its buckets were emptied.
const snapshotMagic = "CTCQ\x01"

type entry struct {
	id uuid.UUID
	ts etime
}

func compareEntries(a, b entry) int {
	if c := cmp.Compare(a.ts.sec, b.ts.sec); c != 0 {
		return c
	}
	if c := cmp.Compare(a.ts.nsec, b.ts.nsec); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// Snapshot returns the chain's state: the counters and the dedup memory. The same state always
// gives the same bytes.
func (c *Chain) Snapshot() ([]byte, error) {
	var entries []entry
	if c.dd.has {
		cut := c.dd.cutoff()
		entries = make([]entry, 0, c.dd.len())
		c.dd.all(func(id uuid.UUID, ts etime) {
			if !ts.less(cut) {
				entries = append(entries, entry{id, ts})
			}
		})
		slices.SortFunc(entries, compareEntries)
	}
	b := make([]byte, 0, len(snapshotMagic)+64+len(entries)*24)
	b = append(b, snapshotMagic...)
	b = c.n.appendTo(b)
	b = c.dd.appendNewest(b)
	if !c.dd.has {
		return b, nil
	}
	b = binary.AppendUvarint(b, uint64(len(entries)))
	prev := c.dd.max.sec
	for _, e := range entries {
		b = append(b, e.id[:]...)
		b = binary.AppendVarint(b, e.ts.sec-prev)
		b = binary.AppendUvarint(b, uint64(e.ts.nsec))
		prev = e.ts.sec
	}
	return b, nil
}

// errSnapshot wraps every reason Restore rejects its input.
var errSnapshot = errors.New("quality: invalid snapshot")

// Restore replaces the chain's counters and dedup memory with a snapshot's. On error the chain is
// unchanged. A snapshot taken with another DedupWindow restores too: with a shorter window the
// ids older than the new window are forgotten; with a longer one the chain only knows what the
// snapshot held.
func (c *Chain) Restore(b []byte) error {
	r := newReader(b)
	if !bytes.HasPrefix(b, []byte(snapshotMagic)) {
		return fmt.Errorf("%w: not a quality chain snapshot (version 1)", errSnapshot)
	}
	r.B = r.B[len(snapshotMagic):]
	n := r.counters()
	has, maxT := r.newest()
	var entries []entry
	if has {
		cnt := r.Uvarint()
		if r.Err() == nil && cnt > uint64(len(r.B))/18 {
			r.Fail("entry count exceeds the data")
		}
		if r.Err() == nil {
			entries = make([]entry, 0, cnt)
		}
		prev := maxT.sec
		for i := uint64(0); r.Err() == nil && i < cnt; i++ {
			var e entry
			copy(e.id[:], r.Take(16))
			e.ts = etime{prev + r.Varint(), r.nsec()}
			prev = e.ts.sec
			switch {
			case r.Err() != nil:
			case maxT.less(e.ts):
				r.Fail("an id is newer than the newest time")
			case len(entries) > 0 && compareEntries(entries[len(entries)-1], e) >= 0:
				r.Fail("ids are not sorted")
			}
			entries = append(entries, e)
		}
	}
	if r.Err() == nil && len(r.B) > 0 {
		r.Fail("trailing bytes")
	}
	if r.Err() != nil {
		return r.Err()
	}
	dd := newDedup(c.cfg.DedupWindow)
	if has {
		dd.has, dd.max = true, maxT
		for _, e := range entries {
			if _, dup := dd.find(&e.id, dd.tag(&e.id)); dup {
				return fmt.Errorf("%w: id %s appears twice", errSnapshot, e.id)
			}
			dd.add(e.id, e.ts)
		}
	}
	c.n, c.dd = n, dd
	c.seg = segState{} // the next SnapshotSegments writes everything afresh
	return nil
}

// appendTo appends the counters, as uvarints.
func (n *counters) appendTo(b []byte) []byte {
	for _, v := range []int64{n.processed, n.duplicate, n.late, n.warnings,
		n.failed[rMalformed], n.failed[rIncomplete], n.failed[rInvalid]} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	return b
}

// counters reads what counters.appendTo wrote, and checks that they add up.
func (r *reader) counters() counters {
	var n counters
	for _, p := range []*int64{&n.processed, &n.duplicate, &n.late, &n.warnings,
		&n.failed[rMalformed], &n.failed[rIncomplete], &n.failed[rInvalid]} {
		*p = r.count()
	}
	failed := n.failed[rMalformed] + n.failed[rIncomplete] + n.failed[rInvalid]
	if r.Err() == nil && (failed < 0 || n.duplicate > n.processed-failed ||
		n.late > n.processed-failed-n.duplicate || n.warnings > n.processed-failed-n.duplicate) {
		r.Fail("counters do not add up")
	}
	return n
}

// reader reads the chain's binary forms, its errors wrapping errSnapshot.
type reader struct{ binx.Reader }

func newReader(b []byte) *reader { return &reader{binx.Reader{B: b, Base: errSnapshot}} }

// newest reads whether the dedup memory has seen a trade and, if so, its newest time.
func (r *reader) newest() (bool, etime) {
	switch has := r.Byte(); {
	case r.Err() != nil:
	case has == 1:
		return true, etime{r.Varint(), r.nsec()}
	case has != 0:
		r.Fail("bad flag")
	}
	return false, etime{}
}

// appendNewest writes what newest reads.
func (d *dedup) appendNewest(b []byte) []byte {
	if !d.has {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, d.max.sec)
	return binary.AppendUvarint(b, uint64(d.max.nsec))
}

func (r *reader) count() int64 {
	v := r.Uvarint()
	if v > 1<<60 {
		r.Fail("counter out of range")
	}
	return int64(v)
}

func (r *reader) nsec() int32 {
	v := r.Uvarint()
	if v >= 1e9 {
		r.Fail("nanoseconds out of range")
	}
	return int32(v)
}
