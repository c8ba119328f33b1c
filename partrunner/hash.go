package partrunner

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math/big"
	"strings"
)

// HashKey is a Kinesis hash key: the MD5 digest of a record's partition key read as an unsigned
// 128-bit big-endian integer. Kinesis assigns a record to the shard whose hash-key range holds it.
// Byte order compares as the integers do.
type HashKey [16]byte

// HashOf is the hash key Kinesis computes for a partition key.
func HashOf(partitionKey string) HashKey { return md5.Sum([]byte(partitionKey)) }

// Compare compares two hash keys as integers.
func (h HashKey) Compare(o HashKey) int { return bytes.Compare(h[:], o[:]) }

// String is the key as a decimal integer, as the Kinesis API writes it.
func (h HashKey) String() string { return new(big.Int).SetBytes(h[:]).String() }

// ParseHashKey parses a decimal hash key as the Kinesis API writes it (0 … 2^128−1).
func ParseHashKey(s string) (HashKey, error) {
	var h HashKey
	n, ok := new(big.Int).SetString(strings.TrimSpace(s), 10)
	if !ok || n.Sign() < 0 || n.BitLen() > 128 {
		return h, fmt.Errorf("partrunner: hash key %q is not an integer in 0..2^128-1", s)
	}
	n.FillBytes(h[:])
	return h, nil
}

// HashRange is a closed range of hash keys, a shard's HashKeyRange.
type HashRange struct {
	Start, End HashKey
}

// FullRange covers every hash key: the range of a stream with one shard.
var FullRange = HashRange{End: HashKey{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}

// ParseHashRange parses a shard's HashKeyRange.
func ParseHashRange(start, end string) (HashRange, error) {
	s, err := ParseHashKey(start)
	if err != nil {
		return HashRange{}, err
	}
	e, err := ParseHashKey(end)
	if err != nil {
		return HashRange{}, err
	}
	if s.Compare(e) > 0 {
		return HashRange{}, fmt.Errorf("partrunner: hash key range %s..%s is empty", start, end)
	}
	return HashRange{Start: s, End: e}, nil
}

// Contains reports whether h is in the range.
func (r HashRange) Contains(h HashKey) bool { return r.Start.Compare(h) <= 0 && h.Compare(r.End) <= 0 }

// Intersect returns the keys in both ranges, and false when there are none.
func (r HashRange) Intersect(o HashRange) (HashRange, bool) {
	out := r
	if o.Start.Compare(out.Start) > 0 {
		out.Start = o.Start
	}
	if o.End.Compare(out.End) < 0 {
		out.End = o.End
	}
	return out, out.Start.Compare(out.End) <= 0
}

func (r HashRange) String() string { return r.Start.String() + ".." + r.End.String() }

// CompareSequence compares two Kinesis sequence numbers (decimal integers of up to 128 bits,
// written without leading zeros) as integers; the empty string is before every number.
func CompareSequence(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
