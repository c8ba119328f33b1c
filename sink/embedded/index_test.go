package embedded

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// intKey is a key for testing the index alone.
type intKey int64

func (k intKey) compare(o intKey) int { return cmpInt(int64(k), int64(o)) }

type intEntry struct{ k intKey }

// TestIndexMatchesSortedSlice drives an index through enough inserts (in order, out of order, in
// bursts), removals and bulk removals to split, empty and regroup its blocks, and compares every
// walk with a plain sorted slice.
func TestIndexMatchesSortedSlice(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	var x index[intKey, intEntry]
	var model []intKey
	check := func(step int) {
		t.Helper()
		if x.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, x.len(), len(model))
		}
		var prev *intKey
		for bi, b := range x.blocks {
			if len(b) == 0 || len(b) > maxBlock {
				t.Fatalf("step %d: block %d has %d entries", step, bi, len(b))
			}
			for _, ref := range b {
				if prev != nil && prev.compare(ref.key) >= 0 {
					t.Fatalf("step %d: keys out of order at block %d", step, bi)
				}
				k := ref.key
				prev = &k
			}
		}
		for range 5 {
			lo := intKey(r.Int64N(200_000) - 1000)
			bounded := r.IntN(4) != 0
			i := 0
			if bounded {
				i, _ = slices.BinarySearch(model, lo)
			}
			var up, down []intKey
			x.ascend(lo, bounded, func(e *intEntry) bool { up = append(up, e.k); return len(up) < 50 })
			x.descend(lo, bounded, func(e *intEntry) bool { down = append(down, e.k); return len(down) < 50 })
			wantUp := model[i:min(i+50, len(model))]
			wantDown := slices.Clone(model[max(i, len(model)-50):])
			slices.Reverse(wantDown)
			if !slices.Equal(up, wantUp) || !slices.Equal(down, wantDown) {
				t.Fatalf("step %d: walks from %d (bounded %v) differ:\nup   %v\nwant %v\ndown %v\nwant %v", step, lo, bounded, up, wantUp, down, wantDown)
			}
		}
	}
	insert := func(k intKey) {
		if _, found := slices.BinarySearch(model, k); found {
			return
		}
		x.insert(k, &intEntry{k})
		i, _ := slices.BinarySearch(model, k)
		model = slices.Insert(model, i, k)
	}
	next := intKey(0)
	for step := range 40_000 {
		switch op := r.IntN(100); {
		case op < 50: // live: mostly increasing
			next += intKey(1 + r.IntN(10))
			insert(next - intKey(r.IntN(30)))
		case op < 80: // backfill anywhere
			insert(intKey(r.Int64N(int64(next) + 1)))
		case op < 98:
			if len(model) > 0 {
				k := model[r.IntN(len(model))]
				x.remove(k)
				i, _ := slices.BinarySearch(model, k)
				model = slices.Delete(model, i, i+1)
			}
			x.remove(-5) // absent: no effect
		default: // expiry of the oldest keys, and of a scattered few
			cut := intKey(r.Int64N(int64(next) + 1))
			drop := func(k intKey) bool { return k < cut/2 || k%97 == 0 }
			x.removeIf(func(e *intEntry) bool { return drop(e.k) })
			model = slices.DeleteFunc(model, drop)
		}
		if step%500 == 0 {
			check(step)
		}
	}
	check(-1)
	if len(x.blocks) < 3 {
		t.Fatalf("only %d blocks: the test did not exercise splits", len(x.blocks))
	}
	x.removeIf(func(*intEntry) bool { return true })
	model = nil
	check(-2)
	x.remove(3)
	check(-3)
}
