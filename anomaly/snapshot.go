package anomaly

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// snapshotMagic starts every snapshot; the byte after it is the format version.
const (
	snapshotMagic   = "ctcA"
	snapshotVersion = 2
)

// ErrSnapshot is wrapped by every error of Restore: the bytes are not a snapshot this version
// can read. The Scorer is left as it was.
var ErrSnapshot = errors.New("anomaly: bad snapshot")

// Snapshot returns the Scorer's configuration and state. The bytes are a function of the values
// scored so far only (the same series gives the same bytes), and their size is fixed by the
// configuration: about 16 bytes per block per feature, 12 per profile part and 16 per histogram
// part, 8 KB by default.
func (s *Scorer) Snapshot() ([]byte, error) {
	var e enc
	e.b = make([]byte, 0, 128+len(s.rec)*(72+16*s.cfg.Blocks)+12*s.cfg.Bins)
	e.b = append(e.b, snapshotMagic...)
	e.b = append(e.b, snapshotVersion)
	c := s.cfg
	for _, v := range []int64{int64(c.Warmup), int64(c.Horizon), int64(c.Blocks), int64(c.Hush), int64(c.Quiet), int64(c.Period), int64(c.Bins), int64(c.SeasonMin), int64(c.ShiftBins)} {
		e.i64(v)
	}
	for _, v := range []float64{c.Smooth, c.LevelWeight, c.SeasonRate, c.SeasonWeight, c.SeasonLevelWeight, c.ShiftWeight, c.ShiftRecent, c.ShiftLongRun} {
		e.f64(v)
	}
	e.i64(s.n)
	e.f64(s.level)
	e.f64(s.res)
	e.bool(s.resOK)
	e.i64(s.lastAlert)
	e.f64(s.lastScore)
	for k := range s.rec {
		r := &s.rec[k]
		e.i64(r.nb)
		e.i64(int64(r.bn))
		e.i64(r.last)
		e.f64(r.omax)
		e.f64(r.omin)
		for i := range r.bmax {
			e.f64(r.bmax[i])
			e.f64(r.bmin[i])
		}
	}
	for i := range s.prof {
		e.f64(s.prof[i])
		e.i32(s.seen[i])
	}
	for i := range s.recent {
		e.f64(s.recent[i])
		e.f64(s.long[i])
	}
	return e.b, nil
}

// Restore replaces the Scorer's configuration and state with those of a snapshot. Bytes that are
// not a well-formed snapshot are refused with an error wrapping ErrSnapshot and change nothing;
// any snapshot accepted gives a Scorer that keeps working.
func (s *Scorer) Restore(b []byte) error {
	d := dec{b: b}
	if string(d.take(len(snapshotMagic))) != snapshotMagic {
		return fmt.Errorf("%w: not an anomaly.Scorer snapshot", ErrSnapshot)
	}
	if v := d.take(1); len(v) != 1 || v[0] != snapshotVersion {
		return fmt.Errorf("%w: unknown version", ErrSnapshot)
	}
	var c Config
	ints := []*int{&c.Warmup, &c.Horizon, &c.Blocks, &c.Hush, &c.Quiet}
	for _, p := range ints {
		*p = d.int()
	}
	c.Period = time.Duration(d.i64())
	c.Bins = d.int()
	c.SeasonMin = d.int()
	c.ShiftBins = d.int()
	for _, p := range []*float64{&c.Smooth, &c.LevelWeight, &c.SeasonRate, &c.SeasonWeight, &c.SeasonLevelWeight, &c.ShiftWeight, &c.ShiftRecent, &c.ShiftLongRun} {
		*p = d.f64()
	}
	if d.err != nil {
		return d.err
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrSnapshot, err)
	}
	if c.withDefaults() != c {
		return fmt.Errorf("%w: configuration has unset fields", ErrSnapshot)
	}
	want := len(snapshotMagic) + 1 + 17*8 + 8 + 8 + 8 + 1 + 16 + nFeatures*(40+16*c.Blocks) + 12*c.Bins + 16*c.ShiftBins
	if len(b) != want {
		return fmt.Errorf("%w: %d bytes, want %d for its configuration", ErrSnapshot, len(b), want)
	}
	t := New(c)
	t.n = d.i64()
	t.level = d.f64()
	t.res = d.f64()
	t.resOK = d.bool()
	t.lastAlert = d.i64()
	t.lastScore = d.f64()
	size := c.Horizon / c.Blocks
	for k := range t.rec {
		r := &t.rec[k]
		r.nb = d.i64()
		r.bn = d.int()
		r.last = d.i64()
		r.omax = d.f64()
		r.omin = d.f64()
		for i := range r.bmax {
			r.bmax[i] = d.f64()
			r.bmin[i] = d.f64()
		}
		switch {
		case r.nb < 0 || r.bn < 0 || r.bn >= size || r.last < 0 || r.last > t.n:
			return fmt.Errorf("%w: feature %d counters out of range", ErrSnapshot, k)
		case r.nb > t.n/int64(size) || !bounded(true, r.omax, r.omin) || !bounded(false, r.bmax...) || !bounded(false, r.bmin...):
			return fmt.Errorf("%w: feature %d extremes inconsistent", ErrSnapshot, k)
		}
		r.hmax, r.hmin = math.Inf(-1), math.Inf(1)
		for i := range int(min(r.nb, int64(c.Blocks))) {
			r.hmax, r.hmin = max(r.hmax, r.bmax[i]), min(r.hmin, r.bmin[i])
		}
	}
	for i := range t.prof {
		t.prof[i] = d.f64()
		t.seen[i] = d.i32()
		if t.seen[i] < 0 || !bounded(false, t.prof[i]) {
			return fmt.Errorf("%w: profile part %d out of range", ErrSnapshot, i)
		}
	}
	for i := range t.recent {
		t.recent[i] = d.f64()
		t.long[i] = d.f64()
		if !(t.recent[i] >= 0 && t.recent[i] <= 1 && t.long[i] >= 0 && t.long[i] <= 1) {
			return fmt.Errorf("%w: histogram part %d out of range", ErrSnapshot, i)
		}
	}
	switch {
	case d.err != nil:
		return d.err
	case t.n < 0 || !bounded(false, t.level, t.res) || t.lastAlert < 0 || t.lastAlert > t.n || !(t.lastScore >= 0 && t.lastScore <= 1):
		return fmt.Errorf("%w: state out of range", ErrSnapshot)
	}
	*s = *t
	return nil
}

// bounded reports whether every x is within what the model can produce from clamped values
// (±Inf allowed where inf says so): a snapshot with anything else was not written by Snapshot.
func bounded(inf bool, xs ...float64) bool {
	for _, x := range xs {
		if !(math.Abs(x) <= 4*maxValue || inf && math.IsInf(x, 0)) {
			return false
		}
	}
	return true
}

type enc struct{ b []byte }

func (e *enc) i64(v int64)   { e.b = binary.LittleEndian.AppendUint64(e.b, uint64(v)) }
func (e *enc) i32(v int32)   { e.b = binary.LittleEndian.AppendUint32(e.b, uint32(v)) }
func (e *enc) f64(v float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v)) }
func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

type dec struct {
	b   []byte
	err error
}

func (d *dec) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.err = fmt.Errorf("%w: truncated", ErrSnapshot)
		d.b = nil
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) i64() int64 {
	if v := d.take(8); v != nil {
		return int64(binary.LittleEndian.Uint64(v))
	}
	return 0
}

func (d *dec) i32() int32 {
	if v := d.take(4); v != nil {
		return int32(binary.LittleEndian.Uint32(v))
	}
	return 0
}

func (d *dec) f64() float64 { return math.Float64frombits(uint64(d.i64())) }

// int decodes an int64 that must fit comfortably in an int; out of range gives an error.
func (d *dec) int() int {
	v := d.i64()
	if v < math.MinInt32 || v > math.MaxInt32 {
		if d.err == nil {
			d.err = fmt.Errorf("%w: count %d out of range", ErrSnapshot, v)
		}
		return 0
	}
	return int(v)
}

func (d *dec) bool() bool {
	v := d.take(1)
	if v == nil {
		return false
	}
	if v[0] > 1 && d.err == nil {
		d.err = fmt.Errorf("%w: bad flag", ErrSnapshot)
	}
	return v[0] == 1
}
