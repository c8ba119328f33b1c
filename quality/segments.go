package quality

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/coattailcapital/ctc"
	"github.com/google/uuid"
)

// Checkpoints by segments (ctc.SegmentSnapshotter). The dedup memory is an hour of event ids: at
// 1,000 trades a second, 3.6 million. Snapshot writes all of them every time; SnapshotSegments
// writes, at each checkpoint, one immutable segment of the ids remembered since the previous
// one, and a small head that lists the live segments. A segment lives until its newest id falls
// out of the dedup window; then the head stops naming it and the store deletes it whole. A
// checkpoint therefore writes about 19 bytes per record since the previous one, whatever the
// window, and a restore reads only the segments that can still make a duplicate.
//
// The head, version 2:
//
//	"CTCQ" 2
//	counters (as version 1)
//	has (byte 0 or 1) [max.sec (varint) max.nsec (uvarint)]
//	next segment number (uvarint)
//	n (uvarint), then n segments: name (uvarint length, bytes) newest.sec (varint) newest.nsec (uvarint)
//
// A segment:
//
//	"CTCS" 1
//	n (uvarint), then n entries in the order they passed:
//	    id (16 bytes) Δsec from the previous entry, the first from 0 (varint) ns (uvarint)
//
// where ns is 2·milliseconds for a whole number of milliseconds (every exchange's resolution:
// one or two bytes) and 2·nanoseconds+1 otherwise.
const (
	headMagic    = "CTCQ\x02"
	segmentMagic = "CTCS\x01"
)

// castagnoli is the CRC-32C table: hardware-accelerated on amd64 and arm64.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segState is what the chain knows of its saved segments.
type segState struct {
	next int64     // number of the next segment
	live []segMeta // segments a saved head names, oldest first
}

type segMeta struct {
	name   string
	newest etime
}

// SnapshotSegments implements ctc.SegmentSnapshotter: the head, and every live segment — the one
// holding the ids remembered since the previous call with its data, the others by name.
func (c *Chain) SnapshotSegments(prefix string) ([]byte, []ctc.Segment, error) {
	var fresh []entry
	cut := c.dd.cutoff()
	if !c.dd.track {
		// First save by segments: everything remembered goes into the first segment.
		if c.dd.has {
			c.dd.all(func(id uuid.UUID, ts etime) {
				if !ts.less(cut) {
					fresh = append(fresh, entry{id, ts})
				}
			})
			// The table's order depends on its hash keys: sort, so the bytes do not.
			slices.SortFunc(fresh, compareEntries)
		}
		c.dd.track = true
		c.seg.live = nil
	} else if c.dd.has {
		for _, e := range c.dd.fresh {
			if !e.ts.less(cut) {
				fresh = append(fresh, e)
			}
		}
	}
	c.dd.fresh = c.dd.fresh[:0]

	// Expired segments: every id they hold is older than the cutoff.
	live := c.seg.live[:0]
	for _, m := range c.seg.live {
		if c.dd.has && !m.newest.less(cut) {
			live = append(live, m)
		}
	}
	c.seg.live = live

	var segs []ctc.Segment
	if len(fresh) > 0 {
		// Later segments keep the order the ids passed in: already almost in time order, so
		// the time deltas stay one byte, and sorting would cost more than the whole encoding.
		data := encodeSegment(fresh)
		// The number keeps names unique; the checksum makes two hosts that saved different
		// segments under one number (a zombie and the new owner of a shard) name them apart.
		name := fmt.Sprintf("%s%d-%08x", prefix, c.seg.next, crc32.Checksum(data, castagnoli))
		c.seg.next++
		newest := fresh[0].ts
		for _, e := range fresh[1:] {
			if newest.less(e.ts) {
				newest = e.ts
			}
		}
		c.seg.live = append(c.seg.live, segMeta{name: name, newest: newest})
		segs = make([]ctc.Segment, 0, len(c.seg.live))
		for _, m := range c.seg.live[:len(c.seg.live)-1] {
			segs = append(segs, ctc.Segment{Name: m.name})
		}
		segs = append(segs, ctc.Segment{Name: name, Data: data})
	} else {
		for _, m := range c.seg.live {
			segs = append(segs, ctc.Segment{Name: m.name})
		}
	}
	return c.appendHead(nil), segs, nil
}

func (c *Chain) appendHead(b []byte) []byte {
	b = append(b, headMagic...)
	b = c.n.appendTo(b)
	b = c.dd.appendNewest(b)
	b = binary.AppendUvarint(b, uint64(c.seg.next))
	b = binary.AppendUvarint(b, uint64(len(c.seg.live)))
	for _, m := range c.seg.live {
		b = binary.AppendUvarint(b, uint64(len(m.name)))
		b = append(b, m.name...)
		b = binary.AppendVarint(b, m.newest.sec)
		b = binary.AppendUvarint(b, uint64(m.newest.nsec))
	}
	return b
}

func encodeSegment(es []entry) []byte {
	b := make([]byte, 0, len(segmentMagic)+binary.MaxVarintLen64+len(es)*20)
	b = append(b, segmentMagic...)
	b = binary.AppendUvarint(b, uint64(len(es)))
	prev := int64(0)
	for _, e := range es {
		b = append(b, e.id[:]...)
		b = binary.AppendVarint(b, e.ts.sec-prev)
		prev = e.ts.sec
		if e.ts.nsec%1e6 == 0 {
			b = binary.AppendUvarint(b, uint64(e.ts.nsec/1e6)*2)
		} else {
			b = binary.AppendUvarint(b, uint64(e.ts.nsec)*2+1)
		}
	}
	return b
}

// decodeSegment calls f for every entry of a segment, in order.
func decodeSegment(b []byte, f func(entry)) error {
	if !bytes.HasPrefix(b, []byte(segmentMagic)) {
		return fmt.Errorf("%w: not a dedup segment (version 1)", errSnapshot)
	}
	r := newReader(b[len(segmentMagic):])
	n := r.Uvarint()
	if r.Err() == nil && n > uint64(len(r.B))/18 {
		r.Fail("entry count exceeds the data")
	}
	prev := int64(0)
	for i := uint64(0); r.Err() == nil && i < n; i++ {
		var e entry
		copy(e.id[:], r.Take(16))
		e.ts.sec = prev + r.Varint()
		prev = e.ts.sec
		ns := r.Uvarint()
		if ns&1 == 0 {
			ns = ns / 2 * 1e6
		} else {
			ns /= 2
		}
		if ns >= 1e9 {
			r.Fail("nanoseconds out of range")
		}
		e.ts.nsec = int32(ns)
		if r.Err() == nil {
			f(e)
		}
	}
	if r.Err() == nil && len(r.B) > 0 {
		r.Fail("trailing bytes")
	}
	return r.Err()
}

// RestoreSegments implements ctc.SegmentSnapshotter. It restores a head that SnapshotSegments
// returned from the segments it names, or a version 1 snapshot (Snapshot) on its own. On error
// the chain is unchanged.
func (c *Chain) RestoreSegments(head []byte, segs map[string][]byte) error {
	if !bytes.HasPrefix(head, []byte(headMagic)) {
		if bytes.HasPrefix(head, []byte(snapshotMagic)) {
			return c.Restore(head)
		}
		return fmt.Errorf("%w: not a quality chain state (version 1 or 2): was it written by another program?", errSnapshot)
	}
	r := newReader(head[len(headMagic):])
	n := r.counters()
	has, maxT := r.newest()
	var st segState
	st.next = int64(r.count())
	cnt := r.Uvarint()
	if r.Err() == nil && cnt > uint64(len(r.B))/3 {
		r.Fail("segment count exceeds the data")
	}
	for i := uint64(0); r.Err() == nil && i < cnt; i++ {
		l := r.Uvarint()
		if r.Err() == nil && l > uint64(len(r.B)) {
			r.Fail("truncated name")
		}
		if r.Err() != nil {
			break
		}
		name := string(r.Take(int(l)))
		st.live = append(st.live, segMeta{name: name, newest: etime{r.Varint(), r.nsec()}})
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
	}
	cut := dd.cutoff()
	// Size the memory once for every id the segments hold.
	total := 0
	for _, m := range st.live {
		if data, ok := segs[m.name]; ok && bytes.HasPrefix(data, []byte(segmentMagic)) {
			if n, k := binary.Uvarint(data[len(segmentMagic):]); k > 0 && n <= uint64(len(data)/18) {
				total += int(n)
			}
		}
	}
	live := make([]entry, 0, total)
	for _, m := range st.live {
		data, ok := segs[m.name]
		if !ok {
			return fmt.Errorf("%w: segment %q is missing from the state", errSnapshot, m.name)
		}
		if !has {
			return fmt.Errorf("%w: segments without a newest time", errSnapshot)
		}
		var bad error
		err := decodeSegment(data, func(e entry) {
			switch {
			case bad != nil:
			case maxT.less(e.ts):
				bad = fmt.Errorf("%w: segment %q: an id is newer than the newest time", errSnapshot, m.name)
			case e.ts.less(cut):
				// Too old to make a duplicate any more.
			default:
				live = append(live, e)
			}
		})
		if err == nil {
			err = bad
		}
		if err != nil {
			return fmt.Errorf("segment %q: %w", m.name, err)
		}
	}
	dd.restore(live)
	dd.track = true
	c.n, c.dd, c.seg = n, dd, st
	return nil
}
