package quality

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
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
	if !c.dd.has {
		return append(b, 0), nil
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, c.dd.max.sec)
	b = binary.AppendUvarint(b, uint64(c.dd.max.nsec))
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
	r := reader{b: b}
	if !bytes.HasPrefix(b, []byte(snapshotMagic)) {
		return fmt.Errorf("%w: not a quality chain snapshot (version 1)", errSnapshot)
	}
	r.b = r.b[len(snapshotMagic):]
	n := r.counters()
	has := r.byte()
	var maxT etime
	var entries []entry
	switch {
	case r.err != nil:
	case has == 1:
		maxT = etime{r.varint(), r.nsec()}
		cnt := r.uvarint()
		if r.err == nil && cnt > uint64(len(r.b))/18 {
			r.fail("entry count exceeds the data")
		}
		if r.err == nil {
			entries = make([]entry, 0, cnt)
		}
		prev := maxT.sec
		for i := uint64(0); r.err == nil && i < cnt; i++ {
			var e entry
			copy(e.id[:], r.take(16))
			e.ts = etime{prev + r.varint(), r.nsec()}
			prev = e.ts.sec
			switch {
			case r.err != nil:
			case maxT.less(e.ts):
				r.fail("an id is newer than the newest time")
			case len(entries) > 0 && compareEntries(entries[len(entries)-1], e) >= 0:
				r.fail("ids are not sorted")
			}
			entries = append(entries, e)
		}
	case has != 0:
		r.fail("bad flag")
	}
	if r.err == nil && len(r.b) > 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return r.err
	}
	dd := newDedup(c.cfg.DedupWindow)
	if has == 1 {
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
	if r.err == nil && (failed < 0 || n.duplicate > n.processed-failed ||
		n.late > n.processed-failed-n.duplicate || n.warnings > n.processed-failed-n.duplicate) {
		r.fail("counters do not add up")
	}
	return n
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errSnapshot, what)
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("truncated or bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("truncated or bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) count() int64 {
	v := r.uvarint()
	if v > 1<<60 {
		r.fail("counter out of range")
	}
	return int64(v)
}

func (r *reader) nsec() int32 {
	v := r.uvarint()
	if v >= 1e9 {
		r.fail("nanoseconds out of range")
	}
	return int32(v)
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) take(n int) []byte {
	if n < 0 || len(r.b) < n {
		// Never allocate what a hostile length asks for: callers copy from the result, and
		// copying from nil copies nothing.
		r.fail("truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
