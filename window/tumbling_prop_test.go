package window

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// event is a record, or an Advance when key is "".
type event struct {
	ts  int64
	key string
	v   float64
}

type sumPane = Pane[string, Sum]

// genStream draws a spec and events whose timestamps crowd into few windows, so that panes
// collect several records, some keys repeat, and some records are late.
func genStream(t *rapid.T) (Spec, []event) {
	spec := Spec{
		Size:     time.Duration(rapid.Int64Range(1, 50).Draw(t, "size")),
		Lateness: time.Duration(rapid.SampledFrom([]int64{0, 1, 7, 49, 50, 120}).Draw(t, "lateness")),
	}
	base := rapid.SampledFrom([]int64{0, -1000, 1714564800000000000, -1714564800000000007}).Draw(t, "base")
	n := rapid.IntRange(0, 200).Draw(t, "n")
	evs := make([]event, n)
	for i := range evs {
		evs[i].ts = base + rapid.Int64Range(-100, 400).Draw(t, "ts")
		if rapid.IntRange(0, 9).Draw(t, "advance") > 0 {
			evs[i].key = rapid.SampledFrom([]string{"BTC-USDT", "ETH-USDT", "BTC-USD", "b", "a"}).Draw(t, "key")
			evs[i].v = realistic(t, "v")
		}
	}
	return spec, evs
}

// oracle is the batch answer: the non-late records grouped by (window, key), ordered by end then
// key, with windows computed by floorStart rather than by Spec.
func oracle(spec Spec, evs []event, late []bool) []sumPane {
	size := int64(spec.Size)
	type id struct {
		start int64
		key   string
	}
	sums := map[id]Sum{}
	for i, e := range evs {
		if e.key == "" || late != nil && late[i] {
			continue
		}
		k := id{floorStart(e.ts, size), e.key}
		s := sums[k]
		s.Add(e.v)
		sums[k] = s
	}
	out := make([]sumPane, 0, len(sums))
	for k, s := range sums {
		out = append(out, sumPane{Key: k.key, Start: k.start, End: k.start + size, Acc: s})
	}
	slices.SortFunc(out, func(a, b sumPane) int {
		return cmp.Or(cmp.Compare(a.End, b.End), strings.Compare(a.Key, b.Key))
	})
	return out
}

// oracleLate applies the watermark rule record by record, as a plain loop: a record is late iff
// its window ends at or before (max event time before it) − lateness.
func oracleLate(spec Spec, evs []event) ([]bool, int64) {
	size, lateness := int64(spec.Size), int64(spec.Lateness)
	late := make([]bool, len(evs))
	var n int64
	seen, maxSoFar := false, int64(0)
	for i, e := range evs {
		if e.key != "" && seen && floorStart(e.ts, size)+size <= maxSoFar-lateness {
			late[i] = true
			n++
			continue
		}
		if !seen || e.ts > maxSoFar {
			seen, maxSoFar = true, e.ts
		}
	}
	return late, n
}

// feed plays one event into w and, if collect, returns what is ready, checking that the watermark
// has reached the end of each of those panes.
func feed(t *rapid.T, w *Tumbling[string, Sum], e event, collect bool) []sumPane {
	if e.key == "" {
		w.Advance(e.ts)
	} else if acc := w.Add(e.ts, e.key); acc != nil {
		acc.Add(e.v)
	}
	if !collect {
		return nil
	}
	got := slices.Clone(w.Ready())
	for _, p := range got {
		if p.End > w.Watermark() {
			t.Fatalf("pane %+v fired before the watermark %d reached its end", p, w.Watermark())
		}
	}
	return got
}

// run plays evs into a new Tumbling, collecting after every step so that it can check that each
// pane fired in exactly the call where the watermark reached its end, and ends with Flush.
func run(t *rapid.T, spec Spec, evs []event) (*Tumbling[string, Sum], []sumPane) {
	w, err := NewTumbling[string, Sum](spec, strings.Compare)
	if err != nil {
		t.Fatal(err)
	}
	var fired []sumPane
	for _, e := range evs {
		wm := w.Watermark()
		got := feed(t, w, e, true)
		for _, p := range got {
			if p.End <= wm {
				t.Fatalf("pane %+v fired late: the watermark %d had already reached its end", p, wm)
			}
		}
		fired = append(fired, got...)
	}
	fired = append(fired, w.Flush()...)
	return w, fired
}

// TestTumblingShuffleWithinLateness: records that arrive at most Lateness after later ones are
// never late, and the result is the batch group-by whatever the arrival order within that bound.
func TestTumblingShuffleWithinLateness(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		spec, evs := genStream(t)
		// Arrival order is by ts+u with 0 <= u < Lateness: then every earlier arrival q has
		// q.ts <= ts+u < ts+Lateness, so the watermark stays below ts and below ts's window end.
		type arrival struct {
			at int64
			e  event
		}
		arr := make([]arrival, len(evs))
		for i, e := range evs {
			u := int64(0)
			if spec.Lateness > 0 {
				u = rapid.Int64Range(0, int64(spec.Lateness)-1).Draw(t, "u")
			}
			arr[i] = arrival{e.ts + u, e}
		}
		slices.SortStableFunc(arr, func(a, b arrival) int { return cmp.Compare(a.at, b.at) })
		shuffled := make([]event, len(arr))
		for i, a := range arr {
			shuffled[i] = a.e
		}

		w, fired := run(t, spec, shuffled)
		if w.Late() != 0 {
			t.Fatalf("Late() = %d within the lateness bound, want 0", w.Late())
		}
		if diff := gocmp.Diff(oracle(spec, evs, nil), fired, cmpEmptySum); diff != "" {
			t.Fatalf("fired panes differ from the batch group-by (-want +got):\n%s", diff)
		}
	})
}

// TestTumblingAnyOrder: in any arrival order, the result is the group-by of the records that the
// watermark rule does not call late, and Late counts exactly those.
func TestTumblingAnyOrder(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		spec, evs := genStream(t)
		evs = rapid.Permutation(evs).Draw(t, "arrival")
		late, nLate := oracleLate(spec, evs)

		w, fired := run(t, spec, evs)
		if w.Late() != nLate {
			t.Fatalf("Late() = %d, want %d", w.Late(), nLate)
		}
		if diff := gocmp.Diff(oracle(spec, evs, late), fired, cmpEmptySum); diff != "" {
			t.Fatalf("fired panes differ from the batch group-by of non-late records (-want +got):\n%s", diff)
		}
		if w.Open() != 0 || w.Watermark() != math.MaxInt64 {
			t.Fatalf("after the end of input: Open() = %d, Watermark() = %d", w.Open(), w.Watermark())
		}
	})
}

// TestTumblingSnapshotRestore: snapshotting at any point and carrying on in a fresh Tumbling
// fires the same panes at the same steps as the uninterrupted run, and equal states marshal to
// equal bytes.
func TestTumblingSnapshotRestore(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		spec, evs := genStream(t)
		evs = rapid.Permutation(evs).Draw(t, "arrival")
		cut := rapid.IntRange(0, len(evs)).Draw(t, "cut")
		// Ready is not called after every step, so that snapshots carry a ready list too.
		collect := make([]bool, len(evs))
		for i := range collect {
			collect[i] = rapid.Bool().Draw(t, "collect")
		}

		w, err := NewTumbling[string, Sum](spec, strings.Compare)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs[:cut] {
			feed(t, w, evs[i], collect[i])
		}
		snap, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		restored, err := NewTumbling[string, Sum](spec, strings.Compare)
		if err != nil {
			t.Fatal(err)
		}
		if err := restored.UnmarshalBinary(snap); err != nil {
			t.Fatal(err)
		}
		again, err := restored.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(snap, again) {
			t.Fatalf("the restored state marshals to other bytes")
		}

		for i := cut; i <= len(evs); i++ {
			var a, b []sumPane
			if i == len(evs) {
				a, b = slices.Clone(w.Flush()), slices.Clone(restored.Flush())
			} else {
				a, b = feed(t, w, evs[i], collect[i]), feed(t, restored, evs[i], collect[i])
			}
			if diff := gocmp.Diff(a, b, cmpEmptySum); diff != "" {
				t.Fatalf("step %d: restored run fired differently (-uninterrupted +restored):\n%s", i, diff)
			}
			if w.Late() != restored.Late() || w.Open() != restored.Open() ||
				w.Watermark() != restored.Watermark() || w.MaxEventTime() != restored.MaxEventTime() {
				t.Fatalf("step %d: state differs: Late %d/%d, Open %d/%d, Watermark %d/%d, MaxEventTime %d/%d", i,
					w.Late(), restored.Late(), w.Open(), restored.Open(),
					w.Watermark(), restored.Watermark(), w.MaxEventTime(), restored.MaxEventTime())
			}
		}
	})
}

var cmpEmptySum = gocmp.FilterValues(func(a, b []sumPane) bool { return len(a) == 0 && len(b) == 0 }, gocmp.Ignore())
