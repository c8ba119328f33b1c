package quality

import (
	"bytes"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
)

func reportTradesPerSecond(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trades/s")
}

// BenchmarkDecode decodes the typical record.
func BenchmarkDecode(b *testing.B) {
	data := []byte(typical)
	var tr ctc.Trade
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Decode(data, &tr); err != nil {
			b.Fatal(err)
		}
	}
	reportTradesPerSecond(b)
}

// BenchmarkDecodeEncodingJSON is the same record through ctc.Trade.UnmarshalJSON (encoding/json),
// for scale.
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	data := []byte(typical)
	var tr ctc.Trade
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := tr.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
	reportTradesPerSecond(b)
}

// uniqueRecords rewrites the typical record in place for each trade: a new event_id (its first
// eight hex digits) and an event time 10 ms after the previous one, so that a window of an hour
// holds 360,000 ids. The rewriting is part of what is measured (a few ns).
type uniqueRecords struct {
	data         []byte
	id, ts, ing  int // offsets of the id, the timestamp's "HH:MM:SS.mmm", the ingestion time's
	n            int
	rec          ctc.Record
	hhmmssBase   int // milliseconds into the day of the template's timestamp
	stepMillisec int
}

func newUniqueRecords() *uniqueRecords {
	u := &uniqueRecords{data: []byte(typical), stepMillisec: 10}
	u.id = bytes.Index(u.data, []byte(`"event_id":"`)) + len(`"event_id":"`)
	u.ts = bytes.Index(u.data, []byte(`"timestamp":"2024-01-15T`)) + len(`"timestamp":"2024-01-15T`)
	u.ing = bytes.Index(u.data, []byte(`"ingestion_timestamp":"2024-01-15T`)) + len(`"ingestion_timestamp":"2024-01-15T`)
	u.hhmmssBase = (10*3600+30*60)*1000 + 123
	return u
}

func (u *uniqueRecords) next() *ctc.Record {
	u.n++
	const hex = "0123456789abcdef"
	for i, v := 7, uint32(u.n); i >= 0; i, v = i-1, v>>4 {
		u.data[u.id+i] = hex[v&0xf]
	}
	ms := (u.hhmmssBase + u.n*u.stepMillisec) % (24 * 3600 * 1000) // stays within the day for the benchmark's length
	for _, at := range []int{u.ts, u.ing} {
		d := u.data[at : at+12] // HH:MM:SS.mmm
		h, m, s, f := ms/3600000, ms/60000%60, ms/1000%60, ms%1000
		d[0], d[1], d[3], d[4], d[6], d[7] = byte('0'+h/10), byte('0'+h%10), byte('0'+m/10), byte('0'+m%10), byte('0'+s/10), byte('0'+s%10)
		d[9], d[10], d[11] = byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10)
	}
	u.rec = ctc.Record{Data: u.data}
	return &u.rec
}

// BenchmarkChainCheck runs the whole chain, decoding included, on records with unique ids, after
// a first hour of event time has filled the dedup window, so that every record is remembered and
// old buckets are evicted as it runs.
func BenchmarkChainCheck(b *testing.B) {
	c, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	u := newUniqueRecords()
	var tr ctc.Trade
	for range 370_000 {
		if v := c.Check(u.next(), &tr); v.Status != ctc.Pass {
			b.Fatalf("warm-up: %+v", v)
		}
	}
	b.SetBytes(int64(len(u.data)))
	b.ReportAllocs()
	for b.Loop() {
		if v := c.Check(u.next(), &tr); v.Status != ctc.Pass {
			b.Fatalf("%+v", v)
		}
	}
	reportTradesPerSecond(b)
}

// BenchmarkChainCheckDecoded runs the chain on trades a source decoded itself.
func BenchmarkChainCheckDecoded(b *testing.B) {
	c, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	rec := ctc.Record{Decoded: true, Trade: trade(0, t0)}
	n := uint64(0)
	next := func() *ctc.Record {
		n++
		for i := range 8 {
			rec.Trade.EventID[i] = byte(n >> (8 * i))
		}
		rec.Trade.Timestamp = t0.Add(time.Duration(n) * 10 * time.Millisecond)
		return &rec
	}
	var tr ctc.Trade
	for range 370_000 {
		c.Check(next(), &tr)
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := c.Check(next(), &tr); v.Status != ctc.Pass {
			b.Fatalf("%+v", v)
		}
	}
	reportTradesPerSecond(b)
}
