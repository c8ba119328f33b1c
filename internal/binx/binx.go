// Package binx reads the compact binary forms ctc keeps — the embedded store's records, the
// quality chain's snapshots and segments, a checkpoint's pending output — with one set of
// primitives: varints, bytes and length-prefixed strings, fixed 64-bit floats. The first error
// sticks and every later read returns a zero value, so a decoder reads a whole record and checks
// Err once; no read ever allocates what a hostile length asks for.
package binx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Reader reads from B. Base, when set, is wrapped by every error it reports.
type Reader struct {
	B    []byte
	Base error
	err  error
}

// Err returns the first error, or nil.
func (r *Reader) Err() error { return r.err }

// Fail records what went wrong, unless something already did, and stops further reads.
func (r *Reader) Fail(what string) {
	if r.err == nil {
		if r.Base != nil {
			r.err = fmt.Errorf("%w: %s", r.Base, what)
		} else {
			r.err = errors.New(what)
		}
	}
	r.B = nil
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	v, n := binary.Uvarint(r.B)
	if n <= 0 {
		r.Fail("truncated or bad varint")
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Varint reads a signed varint.
func (r *Reader) Varint() int64 {
	v, n := binary.Varint(r.B)
	if n <= 0 {
		r.Fail("truncated or bad varint")
		return 0
	}
	r.B = r.B[n:]
	return v
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if v := r.Take(1); v != nil {
		return v[0]
	}
	return 0
}

// Take returns the next n bytes, in place, or nil (and fails) when fewer are left.
func (r *Reader) Take(n int) []byte {
	if n < 0 || len(r.B) < n {
		r.Fail("truncated")
		return nil
	}
	v := r.B[:n]
	r.B = r.B[n:]
	return v
}

// Float64 reads 8 bytes, little-endian, as a float's bits.
func (r *Reader) Float64() float64 {
	if v := r.Take(8); v != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(v))
	}
	return 0
}

// Bytes reads a uvarint length and that many bytes, in place.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if n > uint64(len(r.B)) {
		r.Fail("truncated string")
		return nil
	}
	return r.Take(int(n))
}

// AppendBytes appends what Bytes reads: the length as a uvarint, then s.
func AppendBytes[S ~string | ~[]byte](b []byte, s S) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// AppendFloat64 appends what Float64 reads.
func AppendFloat64(b []byte, v float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}
