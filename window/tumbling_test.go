package window

import (
	"bytes"
	"encoding/gob"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const sec = int64(time.Second)

type pane = Pane[string, int]

func newCounts(t testing.TB, spec Spec) *Tumbling[string, int] {
	t.Helper()
	w, err := NewTumbling[string, int](spec, strings.Compare)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// ready copies what Ready returns, since its slice is reused.
func ready[K comparable, A any](w *Tumbling[K, A]) []Pane[K, A] {
	return append([]Pane[K, A](nil), w.Ready()...)
}

func TestNewTumblingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    Spec
		compare func(a, b string) int
		want    string
	}{
		{"zero size", Spec{}, strings.Compare, "window size must be > 0, got 0s"},
		{"negative lateness", Spec{Size: time.Second, Lateness: -time.Second}, strings.Compare, "window lateness must be >= 0, got -1s"},
		{"nil compare", Spec{Size: time.Second}, nil, "window: compare must not be nil: pass a function ordering the keys, such as cmp.Compare[K]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, err := NewTumbling[string, int](tt.spec, tt.compare)
			if err == nil || err.Error() != tt.want || w != nil {
				t.Fatalf("NewTumbling = %v, %v; want nil, %q", w, err, tt.want)
			}
		})
	}
}

// step is one call in a scripted test: a record when key != "", else Advance.
type step struct {
	ts   int64
	key  string
	late bool   // Add must return nil
	fire []pane // what Ready must return right after
}

func TestTumblingScript(t *testing.T) {
	t.Parallel()
	spec := Spec{Size: 60 * time.Second, Lateness: 10 * time.Second}
	tests := []struct {
		name  string
		steps []step
		late  int64
		final []pane // Ready after Advance(math.MaxInt64)
	}{
		{
			name: "fires exactly when the watermark reaches the end",
			steps: []step{
				{ts: 5 * sec, key: "a"},
				{ts: 69*sec + 999, key: "b"}, // watermark just short of 60 s
				{ts: 69*sec + 999},
				{ts: 70 * sec, fire: []pane{{"a", 0, 60 * sec, 1}}},
			},
			final: []pane{{"b", 60 * sec, 120 * sec, 1}},
		},
		{
			name: "a record can fire an earlier window",
			steps: []step{
				{ts: 59 * sec, key: "a"},
				{ts: 58 * sec, key: "a"},
				{ts: 70 * sec, key: "a", fire: []pane{{"a", 0, 60 * sec, 2}}},
			},
			final: []pane{{"a", 60 * sec, 120 * sec, 1}},
		},
		{
			name: "late records are counted and never re-fire",
			steps: []step{
				{ts: 1 * sec, key: "a"},
				{ts: 75 * sec, key: "a", fire: []pane{{"a", 0, 60 * sec, 1}}},
				{ts: 59 * sec, key: "a", late: true},
				{ts: 30 * sec, key: "new", late: true}, // its window never existed, but would have fired
				{ts: 64 * sec, key: "b"},               // within lateness: not late
				{ts: 200 * sec, fire: []pane{{"a", 60 * sec, 120 * sec, 1}, {"b", 60 * sec, 120 * sec, 1}}},
				{ts: 119 * sec, key: "a", late: true},
			},
			late: 3,
		},
		{
			name: "end equal to the watermark is late, one past is not",
			steps: []step{
				{ts: 130 * sec, key: "x"}, // watermark 120 s
				{ts: 119 * sec, key: "a", late: true},
				{ts: 120 * sec, key: "a"},
			},
			late:  1,
			final: []pane{{"a", 120 * sec, 180 * sec, 1}, {"x", 120 * sec, 180 * sec, 1}},
		},
		{
			name: "ready is ordered by end, then key",
			steps: []step{
				{ts: 65 * sec, key: "c"},
				{ts: 5 * sec, key: "c"},
				{ts: 6 * sec, key: "a"},
				{ts: 66 * sec, key: "b"},
				{ts: 7 * sec, key: "b"},
				{ts: 67 * sec, key: "a"},
				{ts: 190 * sec, key: "z", fire: []pane{
					{"a", 0, 60 * sec, 1}, {"b", 0, 60 * sec, 1}, {"c", 0, 60 * sec, 1},
					{"a", 60 * sec, 120 * sec, 1}, {"b", 60 * sec, 120 * sec, 1}, {"c", 60 * sec, 120 * sec, 1},
				}},
			},
			final: []pane{{"z", 180 * sec, 240 * sec, 1}},
		},
		{
			name: "advancing backwards changes nothing",
			steps: []step{
				{ts: 100 * sec, key: "a"},
				{ts: 0},
				{ts: -1 << 40},
			},
			final: []pane{{"a", 60 * sec, 120 * sec, 1}},
		},
		{
			name: "epoch alignment, negative timestamps",
			steps: []step{
				{ts: -60*sec - 1, key: "a"},
				{ts: -1, key: "a", fire: []pane{{"a", -120 * sec, -60 * sec, 1}}},
				{ts: -60 * sec, key: "a"},
				{ts: 0, key: "a"},
				{ts: 10 * sec, fire: []pane{{"a", -60 * sec, 0, 2}}},
			},
			final: []pane{{"a", 0, 60 * sec, 1}},
		},
		{
			name: "epoch alignment, real time",
			steps: []step{
				{ts: time.Date(2024, 5, 1, 12, 0, 30, 123, time.UTC).UnixNano(), key: "a"},
			},
			final: []pane{{"a",
				time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixNano(),
				time.Date(2024, 5, 1, 12, 1, 0, 0, time.UTC).UnixNano(), 1}},
		},
		{
			name: "a record at math.MaxInt64 lands in the last window without firing it",
			steps: []step{
				{ts: math.MaxInt64, key: "a"},
				{ts: math.MaxInt64 - 1},
			},
			final: []pane{{"a", math.MaxInt64 - math.MaxInt64%(60*sec), math.MaxInt64, 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newCounts(t, spec)
			for i, s := range tt.steps {
				if s.key == "" {
					w.Advance(s.ts)
				} else {
					acc := w.Add(s.ts, s.key)
					if (acc == nil) != s.late {
						t.Fatalf("step %d: Add(%d, %q) late = %v, want %v", i, s.ts, s.key, acc == nil, s.late)
					}
					if acc != nil {
						*acc++
					}
				}
				if diff := cmp.Diff(s.fire, ready(w), cmpopts()...); diff != "" {
					t.Fatalf("step %d (%+v): Ready() mismatch (-want +got):\n%s", i, s, diff)
				}
			}
			if got := w.Late(); got != tt.late {
				t.Errorf("Late() = %d, want %d", got, tt.late)
			}
			w.Advance(math.MaxInt64)
			if diff := cmp.Diff(tt.final, ready(w), cmpopts()...); diff != "" {
				t.Errorf("after Advance(math.MaxInt64): Ready() mismatch (-want +got):\n%s", diff)
			}
			if w.Open() != 0 || w.Watermark() != math.MaxInt64 {
				t.Errorf("after Advance(math.MaxInt64): Open() = %d, Watermark() = %d", w.Open(), w.Watermark())
			}
		})
	}
}

func cmpopts() []cmp.Option { return []cmp.Option{cmpEmpty} }

// cmpEmpty treats nil and empty slices alike: Ready returns its reused, possibly empty slice.
var cmpEmpty = cmp.FilterValues(func(a, b []pane) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func TestTumblingAccessors(t *testing.T) {
	t.Parallel()
	w := newCounts(t, Spec{Size: 10, Lateness: 3})
	check := func(when string, maxTs, wm int64, open int) {
		t.Helper()
		if w.MaxEventTime() != maxTs || w.Watermark() != wm || w.Open() != open {
			t.Errorf("%s: MaxEventTime, Watermark, Open = %d, %d, %d; want %d, %d, %d",
				when, w.MaxEventTime(), w.Watermark(), w.Open(), maxTs, wm, open)
		}
	}
	check("new", math.MinInt64, math.MinInt64, 0)
	*w.Add(12, "a") += 1
	*w.Add(11, "b") += 1
	*w.Add(15, "a") += 5
	check("two keys", 15, 12, 2)
	*w.Add(25, "a") += 1
	check("next window", 25, 22, 1)
	if got, want := ready(w), []pane{{"a", 10, 20, 6}, {"b", 10, 20, 1}}; !cmp.Equal(got, want) {
		t.Errorf("Ready() = %v, want %v", got, want)
	}
	w.Advance(math.MaxInt64)
	check("end of input", math.MaxInt64, math.MaxInt64, 0)
	if w.Add(math.MaxInt64, "a") != nil || w.Late() != 1 {
		t.Errorf("a record after the end of input is not late")
	}
	if got := w.Flush(); !cmp.Equal(got, []pane{{"a", 20, 30, 1}}) {
		t.Errorf("Flush() = %v", got)
	}
	if w.Spec() != (Spec{Size: 10, Lateness: 3}) {
		t.Errorf("Spec() = %+v", w.Spec())
	}
}

func TestTumblingLatenessNearMinInt64(t *testing.T) {
	t.Parallel()
	w := newCounts(t, Spec{Size: 10, Lateness: time.Hour})
	if w.Add(math.MinInt64, "a") == nil || w.Add(math.MinInt64+5, "a") == nil {
		t.Fatal("a record at the bottom of int64 was late")
	}
	got := w.Flush()
	want := []pane{{"a", math.MinInt64, math.MinInt64 - math.MinInt64%10, 0}}
	if !cmp.Equal(got, want) {
		t.Fatalf("Flush() = %v, want %v", got, want)
	}
}

// TestTumblingReadyIsReused pins down the documented lifetime of Ready's slice, which callers rely
// on not to allocate.
func TestTumblingReadyIsReused(t *testing.T) {
	t.Parallel()
	w := newCounts(t, Spec{Size: 10})
	w.Add(1, "a")
	w.Advance(10)
	first := w.Ready()
	if len(first) != 1 || len(w.Ready()) != 0 {
		t.Fatalf("Ready did not empty the ready list")
	}
	w.Add(11, "b")
	w.Advance(20)
	if second := w.Ready(); &second[0] != &first[0] {
		t.Errorf("Ready allocated a new slice instead of reusing its own")
	}
}

func TestTumblingAddDoesNotAllocate(t *testing.T) {
	w, err := NewTumbling[string, Sum](Spec{Size: time.Second, Lateness: 100 * time.Millisecond}, strings.Compare)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "BTC-USD"}
	ts := int64(0)
	run := func() {
		for i := range 1000 {
			ts += int64(time.Millisecond)
			w.Add(ts-int64(i%7)*int64(time.Millisecond), keys[i%len(keys)]).Add(1)
			w.Ready()
		}
	}
	run() // warm up: the first windows allocate their buckets
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Errorf("Add allocates %.1f times per 1000 records in steady state, want 0", n)
	}
}

func TestTumblingSnapshotBytesIgnoreArrivalOrder(t *testing.T) {
	t.Parallel()
	spec := Spec{Size: 10, Lateness: 5}
	a, b := newCounts(t, spec), newCounts(t, spec)
	for _, k := range []string{"x", "a", "m"} {
		*a.Add(3, k) += 1
		*a.Add(13, k) += 2
	}
	for _, k := range []string{"m", "x", "a"} {
		*b.Add(13, k) += 2
		*b.Add(3, k) += 1
	}
	ba, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	bb, err := b.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ba, bb) {
		t.Fatalf("equal states marshal differently:\n%x\n%x", ba, bb)
	}
}

func TestTumblingUnmarshalRefuses(t *testing.T) {
	t.Parallel()
	spec := Spec{Size: 10, Lateness: 5}
	src := newCounts(t, spec)
	*src.Add(3, "a") += 1
	good, err := src.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	forge := func(edit func(*snapshot[string, int])) []byte {
		var buf bytes.Buffer
		s := snapshot[string, int]{Format: snapshotFormat, Size: 10, Lateness: 5, MaxEventTime: 20,
			Open: []pane{{"a", 20, 30, 1}, {"b", 20, 30, 1}}, Ready: []pane{{"a", 0, 10, 1}, {"b", 0, 10, 1}}}
		edit(&s)
		if err := gob.NewEncoder(&buf).Encode(&s); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	tests := []struct {
		name string
		into *Tumbling[string, int]
		data []byte
		want string
	}{
		{"zero Tumbling", &Tumbling[string, int]{}, good, "needs a Tumbling from NewTumbling"},
		{"other size", newCounts(t, Spec{Size: 20, Lateness: 5}), good, "taken with window size 10ns and lateness 5ns, restoring into size 20ns and lateness 5ns"},
		{"other lateness", newCounts(t, Spec{Size: 10}), good, "taken with window size 10ns and lateness 5ns"},
		{"garbage", newCounts(t, spec), []byte("not gob"), "decoding a Tumbling snapshot"},
		{"sane forgery", newCounts(t, spec), forge(func(*snapshot[string, int]) {}), ""},
		{"format", newCounts(t, spec), forge(func(s *snapshot[string, int]) { s.Format = 9 }), "format 9, want 1"},
		{"misaligned", newCounts(t, spec), forge(func(s *snapshot[string, int]) { s.Open[1].Start = 21 }), "open pane 1: [21, 30) is not a window of size 10ns"},
		{"open but due", newCounts(t, spec), forge(func(s *snapshot[string, int]) { s.MaxEventTime = 35 }), "open pane 0 ends at 30, not after the watermark 30"},
		{"unsorted", newCounts(t, spec), forge(func(s *snapshot[string, int]) { s.Open[0].Key = "c" }), "open pane 1 is out of order or repeated"},
		{"repeated", newCounts(t, spec), forge(func(s *snapshot[string, int]) { s.Ready[1].Key = "a" }), "ready pane 1 is out of order or repeated"},
		{"ready too early", newCounts(t, spec), forge(func(s *snapshot[string, int]) { s.Ready[1] = pane{"b", 10, 20, 1} }), "ready pane 1 ends at 20, after the watermark 15"},
		{"negative late", newCounts(t, spec), forge(func(s *snapshot[string, int]) { s.Late = -1 }), "negative late count -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := tt.into
			if w.compare != nil {
				*w.Add(1000, "keep") += 1
			}
			before, _ := w.MarshalBinary()
			err := w.UnmarshalBinary(tt.data)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("UnmarshalBinary: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("UnmarshalBinary error = %v, want one containing %q", err, tt.want)
			}
			if after, _ := w.MarshalBinary(); !bytes.Equal(before, after) {
				t.Errorf("a refused snapshot changed the state")
			}
		})
	}
}

// TestTumblingCompareOrdersKeys checks that ordering comes from compare, not from the key type.
func TestTumblingCompareOrdersKeys(t *testing.T) {
	t.Parallel()
	w, err := NewTumbling[int, int](Spec{Size: 10}, func(a, b int) int { return b - a })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{2, 9, 5} {
		w.Add(1, k)
	}
	var got []int
	for _, p := range w.Flush() {
		got = append(got, p.Key)
	}
	if want := []int{9, 5, 2}; !cmp.Equal(got, want) {
		t.Errorf("keys fired in order %v, want %v", got, want)
	}
}
