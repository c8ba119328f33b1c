package anomaly

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// smallConfig draws configurations whose blocks, warm-up and profile turn over within a short
// series, so that every branch of the model runs.
func smallConfig(t *rapid.T) Config {
	blocks := rapid.IntRange(1, 8).Draw(t, "blocks")
	return Config{
		Warmup:            rapid.IntRange(1, 20).Draw(t, "warmup"),
		Horizon:           blocks * rapid.IntRange(1, 8).Draw(t, "blocksize"),
		Blocks:            blocks,
		Hush:              rapid.IntRange(1, 10).Draw(t, "hush"),
		Quiet:             rapid.IntRange(1, 10).Draw(t, "quiet"),
		Smooth:            rapid.Float64Range(0.01, 1).Draw(t, "smooth"),
		LevelWeight:       rapid.SampledFrom([]float64{-1, 0.5, 1}).Draw(t, "lw"),
		Period:            rapid.SampledFrom([]time.Duration{-1, time.Hour, 24 * time.Hour}).Draw(t, "period"),
		Bins:              rapid.IntRange(1, 8).Draw(t, "bins"),
		SeasonRate:        rapid.Float64Range(0.01, 1).Draw(t, "rate"),
		SeasonMin:         rapid.IntRange(1, 3).Draw(t, "smin"),
		SeasonWeight:      rapid.SampledFrom([]float64{-1, 0.3}).Draw(t, "sw"),
		SeasonLevelWeight: rapid.SampledFrom([]float64{-1, 0.3}).Draw(t, "slw"),
		ShiftWeight:       rapid.SampledFrom([]float64{-1, 0.2, 1}).Draw(t, "shw"),
		ShiftBins:         rapid.IntRange(1, 8).Draw(t, "shb"),
		ShiftRecent:       rapid.Float64Range(0.01, 1).Draw(t, "shr"),
		ShiftLongRun:      rapid.Float64Range(0.001, 1).Draw(t, "shl"),
	}
}

type point struct {
	t time.Time
	v float64
}

// series draws a mostly calm series with jumps, spikes, gaps in time and the odd non-finite or
// extreme value.
func series(t *rapid.T) []point {
	n := rapid.IntRange(0, 300).Draw(t, "n")
	out := make([]point, n)
	at := t0.Add(time.Duration(rapid.Int64Range(-1e15, 1e15).Draw(t, "start")))
	level := 0.0
	for i := range out {
		at = at.Add(time.Duration(rapid.Int64Range(0, int64(2*time.Hour)).Draw(t, "dt")))
		var v float64
		switch rapid.IntRange(0, 20).Draw(t, "kind") {
		case 0:
			v = rapid.SampledFrom([]float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64, 0, 5e-324}).Draw(t, "odd")
		case 1:
			level = rapid.Float64Range(-1e6, 1e6).Draw(t, "level")
			v = level
		case 2:
			v = level + rapid.Float64Range(-1e9, 1e9).Draw(t, "spike")
		default:
			v = level + rapid.Float64Range(-1, 1).Draw(t, "noise")
		}
		out[i] = point{at, v}
	}
	return out
}

func run(s *Scorer, ps []point) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = s.Score(p.t, p.v)
	}
	return out
}

func TestScoresInUnitInterval(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := New(smallConfig(t))
		for i, x := range run(s, series(t)) {
			if !(x >= 0 && x <= 1) {
				t.Fatalf("score %d = %v, want in [0, 1]", i, x)
			}
		}
	})
}

func TestSnapshotRestoreMidStream(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		cfg := smallConfig(t)
		ps := series(t)
		cut := rapid.IntRange(0, len(ps)).Draw(t, "cut")
		a := New(cfg)
		want := run(a, ps)
		wantSnap, err := a.Snapshot()
		if err != nil {
			t.Fatal(err)
		}

		b := New(cfg)
		run(b, ps[:cut])
		snap, err := b.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		c := New(DefaultConfig()) // Restore replaces the configuration too
		if err := c.Restore(snap); err != nil {
			t.Fatalf("restore: %v", err)
		}
		got := run(c, ps[cut:])
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[cut+i]) {
				t.Fatalf("score %d after restore at %d = %v, want %v", cut+i, cut, got[i], want[cut+i])
			}
		}
		gotSnap, _ := c.Snapshot()
		if !bytes.Equal(gotSnap, wantSnap) {
			t.Fatalf("final snapshot differs after restore at %d", cut)
		}
		if c.Config() != a.Config() {
			t.Fatalf("config after restore = %+v, want %+v", c.Config(), a.Config())
		}
	})
}

func TestNoLookAhead(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		cfg := smallConfig(t)
		ps := series(t)
		cut := rapid.IntRange(0, len(ps)).Draw(t, "cut")
		full := run(New(cfg), ps)
		prefix := run(New(cfg), ps[:cut])
		for i := range prefix {
			if math.Float64bits(prefix[i]) != math.Float64bits(full[i]) {
				t.Fatalf("score %d of a %d-value prefix = %v, but %v once %d more values follow", i, cut, prefix[i], full[i], len(ps)-cut)
			}
		}
	})
}

func TestDeterministic(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		cfg := smallConfig(t)
		ps := series(t)
		a, b := New(cfg), New(cfg)
		sa, sb := run(a, ps), run(b, ps)
		for i := range sa {
			if math.Float64bits(sa[i]) != math.Float64bits(sb[i]) {
				t.Fatalf("score %d: %v then %v", i, sa[i], sb[i])
			}
		}
		x, _ := a.Snapshot()
		y, _ := b.Snapshot()
		if !bytes.Equal(x, y) {
			t.Fatal("snapshots of two runs differ")
		}
	})
}

func TestSnapshotSizeFixedByConfig(t *testing.T) {
	t.Parallel()
	s := New(DefaultConfig())
	empty, _ := s.Snapshot()
	for i := range 20000 {
		s.Score(t0.Add(time.Duration(i)*5*time.Minute), math.Sin(float64(i)/50)*100+float64(i%7))
	}
	full, _ := s.Snapshot()
	if len(empty) != len(full) {
		t.Fatalf("snapshot grew from %d to %d bytes", len(empty), len(full))
	}
	if len(full) > 16<<10 {
		t.Fatalf("default snapshot is %d bytes, want at most 16 KiB", len(full))
	}
}

func TestRestoreRefusesGarbage(t *testing.T) {
	t.Parallel()
	s := New(DefaultConfig())
	good, _ := s.Snapshot()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     []byte("nope"),
		"version":   append([]byte(snapshotMagic), 99),
		"truncated": good[:len(good)-1],
		"long":      append(append([]byte{}, good...), 0),
	} {
		if err := s.Restore(b); !errors.Is(err, ErrSnapshot) {
			t.Errorf("%s: Restore = %v, want ErrSnapshot", name, err)
		}
	}
	after, _ := s.Snapshot()
	if !bytes.Equal(after, good) {
		t.Error("a refused Restore changed the scorer")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	for name, c := range map[string]Config{
		"blocks":  {Blocks: maxBlocks + 1},
		"horizon": {Horizon: 10, Blocks: 20},
		"smooth":  {Smooth: 2},
		"bins":    {Bins: -1},
		"weight":  {LevelWeight: 2},
		"rate":    {SeasonRate: math.NaN()},
		"shift":   {ShiftBins: maxShiftBins + 1},
	} {
		if c.Validate() == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}

func FuzzRestore(f *testing.F) {
	s := New(Config{Horizon: 16, Blocks: 4, Bins: 4, Warmup: 5})
	snap, _ := s.Snapshot()
	f.Add(snap)
	for i := range 100 {
		s.Score(t0.Add(time.Duration(i)*time.Minute), float64(i%10)+float64(i/50)*20)
	}
	snap, _ = s.Snapshot()
	f.Add(snap)
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := New(DefaultConfig())
		if err := s.Restore(b); err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error %v does not wrap ErrSnapshot", err)
			}
			return
		}
		for i := range 50 {
			x := s.Score(t0.Add(time.Duration(i)*time.Minute), float64(i%3)*1e6)
			if !(x >= 0 && x <= 1) {
				t.Fatalf("score %v out of [0, 1] after restoring %x", x, b)
			}
		}
		again, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if err := New(DefaultConfig()).Restore(again); err != nil {
			t.Fatalf("a restored scorer's snapshot is refused: %v", err)
		}
	})
}
