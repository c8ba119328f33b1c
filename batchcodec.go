package ctc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/coattailcapital/ctc/internal/binx"
	"slices"
	"time"

	"github.com/google/uuid"
)

// The binary form of a Batch, version 1: what a checkpoint saves as its pending output before the
// sinks commit it (write-ahead). It is exact — floats to the bit, times to the nanosecond — and
// compact (a trade is about 60 bytes), because a checkpoint writes it once per record it covers.
//
//	"CTCB" 1
//	position: partition (string) offset (varint)
//	trades, alerts, volumes, spreads, whales, late, dead letters: count (uvarint), then each record
//
// Strings and byte strings are a uvarint length and the bytes; times are a flag byte (0 zero
// time, 1 set) then seconds (varint) and nanoseconds (uvarint); floats are 8 bytes little-endian.
const batchMagic = "CTCB\x01"

// AppendBinary appends the batch's binary form (what a checkpoint saves as its pending output).
func (b *Batch) AppendBinary(dst []byte) []byte {
	// Sized for the usual record once, rather than grown (and copied) a dozen times.
	dst = slices.Grow(dst, 64+len(b.Trades)*64+len(b.Output.Alerts)*160+len(b.Output.Volumes)*120)
	w := bw{dst}
	w.raw(batchMagic)
	w.str(b.Position.Partition)
	w.varint(b.Position.Offset)
	w.uvarint(uint64(len(b.Trades)))
	for i := range b.Trades {
		w.trade(&b.Trades[i])
	}
	o := &b.Output
	w.uvarint(uint64(len(o.Alerts)))
	for i := range o.Alerts {
		a := &o.Alerts[i]
		w.raw16(a.AlertID)
		w.str(string(a.AlertType))
		w.str(a.Symbol)
		w.str(a.Exchange)
		w.byte(byte(a.Severity))
		w.f64(a.ZScore)
		w.f64(a.ThresholdValue)
		w.f64(a.ActualValue)
		w.time(a.WindowStart)
		w.time(a.DetectedAt)
		w.str(a.Message)
		w.varint(a.TTLEpoch)
		w.time(a.EmittedAt)
	}
	w.uvarint(uint64(len(o.Volumes)))
	for i := range o.Volumes {
		v := &o.Volumes[i]
		w.str(v.Symbol)
		w.str(v.Exchange)
		w.time(v.WindowStart)
		w.time(v.WindowEnd)
		w.varint(v.TradeCount)
		for _, f := range [...]float64{v.TotalVolume, v.AvgPrice, v.MaxPrice, v.MinPrice, v.BuyVolume, v.SellVolume} {
			w.f64(f)
		}
	}
	w.uvarint(uint64(len(o.Spreads)))
	for i := range o.Spreads {
		s := &o.Spreads[i]
		w.str(s.Symbol)
		w.time(s.WindowStart)
		w.time(s.WindowEnd)
		w.f64(s.BinanceVWAP)
		w.f64(s.CoinbaseVWAP)
		w.f64(s.SpreadPct)
	}
	w.uvarint(uint64(len(o.Whales)))
	for i := range o.Whales {
		wh := &o.Whales[i]
		w.raw16(wh.AlertID)
		w.byte(byte(wh.Severity))
		w.f64(wh.ThresholdValue)
		w.time(wh.DetectedAt)
		w.trade(&wh.Trade)
	}
	w.uvarint(uint64(len(o.Late)))
	for i := range o.Late {
		w.str(o.Late[i].Detector)
		w.trade(&o.Late[i].Trade)
	}
	w.uvarint(uint64(len(b.DeadLetters)))
	for i := range b.DeadLetters {
		d := &b.DeadLetters[i]
		w.str(string(d.Reason))
		w.str(d.Detail)
		w.str(string(d.Data))
		w.str(d.Position.Partition)
		w.varint(d.Position.Offset)
	}
	return w.b
}

// MarshalBinary implements encoding.BinaryMarshaler with AppendBinary.
func (b *Batch) MarshalBinary() ([]byte, error) { return b.AppendBinary(nil), nil }

// errBatch wraps every reason UnmarshalBinary rejects its input.
var errBatch = errors.New("ctc: invalid binary batch")

// UnmarshalBinary replaces the batch with what AppendBinary wrote. It never panics on any input.
func (b *Batch) UnmarshalBinary(data []byte) error {
	r := br{Reader: binx.Reader{B: data, Base: errBatch}}
	if string(r.Take(len(batchMagic))) != batchMagic {
		return fmt.Errorf("%w: not a batch (version 1)", errBatch)
	}
	var nb Batch
	nb.Position.Partition = r.str()
	nb.Position.Offset = r.Varint()
	// Each record takes at least a few bytes: a count larger than the data is corrupt, and
	// checking it first keeps a hostile count from allocating.
	count := func(min int) int {
		n := r.Uvarint()
		if n > uint64(len(r.B)/min) {
			r.Fail("count exceeds the data")
			return 0
		}
		return int(n)
	}
	if n := count(40); n > 0 {
		nb.Trades = make([]Trade, n)
		for i := range nb.Trades {
			r.trade(&nb.Trades[i])
		}
	}
	o := &nb.Output
	if n := count(40); n > 0 {
		o.Alerts = make([]Alert, n)
		for i := range o.Alerts {
			a := &o.Alerts[i]
			a.AlertID = r.raw16()
			a.AlertType = AlertType(r.str())
			a.Symbol = r.str()
			a.Exchange = r.str()
			a.Severity = Severity(r.Byte())
			a.ZScore = r.Float64()
			a.ThresholdValue = r.Float64()
			a.ActualValue = r.Float64()
			a.WindowStart = r.time()
			a.DetectedAt = r.time()
			a.Message = r.str()
			a.TTLEpoch = r.Varint()
			a.EmittedAt = r.time()
		}
	}
	if n := count(40); n > 0 {
		o.Volumes = make([]VolumeWindow, n)
		for i := range o.Volumes {
			v := &o.Volumes[i]
			v.Symbol = r.str()
			v.Exchange = r.str()
			v.WindowStart = r.time()
			v.WindowEnd = r.time()
			v.TradeCount = r.Varint()
			for _, f := range [...]*float64{&v.TotalVolume, &v.AvgPrice, &v.MaxPrice, &v.MinPrice, &v.BuyVolume, &v.SellVolume} {
				*f = r.Float64()
			}
		}
	}
	if n := count(24); n > 0 {
		o.Spreads = make([]SpreadWindow, n)
		for i := range o.Spreads {
			s := &o.Spreads[i]
			s.Symbol = r.str()
			s.WindowStart = r.time()
			s.WindowEnd = r.time()
			s.BinanceVWAP = r.Float64()
			s.CoinbaseVWAP = r.Float64()
			s.SpreadPct = r.Float64()
		}
	}
	if n := count(40); n > 0 {
		o.Whales = make([]WhaleTrade, n)
		for i := range o.Whales {
			w := &o.Whales[i]
			w.AlertID = r.raw16()
			w.Severity = Severity(r.Byte())
			w.ThresholdValue = r.Float64()
			w.DetectedAt = r.time()
			r.trade(&w.Trade)
		}
	}
	if n := count(40); n > 0 {
		o.Late = make([]LateTrade, n)
		for i := range o.Late {
			o.Late[i].Detector = r.str()
			r.trade(&o.Late[i].Trade)
		}
	}
	if n := count(5); n > 0 {
		nb.DeadLetters = make([]DeadLetter, n)
		for i := range nb.DeadLetters {
			d := &nb.DeadLetters[i]
			d.Reason = Reason(r.str())
			d.Detail = r.str()
			d.Data = []byte(r.str())
			d.Position.Partition = r.str()
			d.Position.Offset = r.Varint()
		}
	}
	if r.Err() == nil && len(r.B) > 0 {
		r.Fail("trailing bytes")
	}
	if r.Err() != nil {
		return r.Err()
	}
	*b = nb
	return nil
}

type bw struct{ b []byte }

func (w *bw) raw(s string)     { w.b = append(w.b, s...) }
func (w *bw) raw16(u [16]byte) { w.b = append(w.b, u[:]...) }
func (w *bw) byte(c byte)      { w.b = append(w.b, c) }
func (w *bw) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *bw) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *bw) f64(v float64)    { w.b = binx.AppendFloat64(w.b, v) }
func (w *bw) str(s string)     { w.b = binx.AppendBytes(w.b, s) }
func (w *bw) time(t time.Time) {
	if t.IsZero() {
		w.byte(0)
		return
	}
	w.byte(1)
	w.varint(t.Unix())
	w.uvarint(uint64(t.Nanosecond()))
}

func (w *bw) trade(t *Trade) {
	w.raw16(t.EventID)
	w.str(t.Exchange)
	w.str(t.Symbol)
	w.f64(t.Price)
	w.f64(t.Quantity)
	w.f64(t.QuoteVolume)
	w.byte(byte(t.Side))
	w.time(t.Timestamp)
	w.time(t.IngestionTimestamp)
}

// br reads the batch's binary form: binx's primitives, strings interned against the last few
// (a batch repeats a handful of exchanges and symbols), and the batch's times and trades.
type br struct {
	binx.Reader
	last [4]string
}

func (r *br) raw16() (u uuid.UUID) {
	copy(u[:], r.Take(16))
	return u
}

func (r *br) str() string {
	v := r.Bytes()
	for _, s := range r.last {
		if s == string(v) {
			return s
		}
	}
	s := string(v)
	copy(r.last[1:], r.last[:3])
	r.last[0] = s
	return s
}

func (r *br) time() time.Time {
	switch r.Byte() {
	case 0:
		return time.Time{}
	case 1:
		sec := r.Varint()
		nsec := r.Uvarint()
		if nsec >= 1e9 {
			r.Fail("nanoseconds out of range")
			return time.Time{}
		}
		return time.Unix(sec, int64(nsec)).UTC()
	}
	r.Fail("bad time flag")
	return time.Time{}
}

func (r *br) trade(t *Trade) {
	t.EventID = r.raw16()
	t.Exchange = r.str()
	t.Symbol = r.str()
	t.Price = r.Float64()
	t.Quantity = r.Float64()
	t.QuoteVolume = r.Float64()
	t.Side = Side(r.Byte())
	t.Timestamp = r.time()
	t.IngestionTimestamp = r.time()
}
