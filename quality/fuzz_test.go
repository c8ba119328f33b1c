package quality

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/google/go-cmp/cmp"
)

// fuzzSeeds are valid, invalid and truncated lines.
func fuzzSeeds() []string {
	seeds := []string{
		typical,
		rec(nil, "quote_volume", "ingestion_timestamp"),
		rec(map[string]string{"timestamp": `"2024-01-15T16:00:00.123456789+05:30"`, "side": `"sell"`}),
		rec(map[string]string{"exchange": `"bin\u0061nce"`, "x": `{"a":[1,"\ud83d\ude00",null,true]}`}),
		rec(map[string]string{"price": `"abc"`}),
		rec(map[string]string{"price": `1e400`}),
		rec(map[string]string{"event_id": `"00000000-0000-0000-0000-000000000000"`}),
		rec(nil, "side"),
		`{}`, `[]`, ``, `null`, `{"a":01}`, `{"price":-}`, "{\"a\":\"\x01\"}", `{"a":"\ud800"}`,
	}
	for _, n := range []int{1, 20, 60, 100, 150, 200, len(typical) - 1} {
		seeds = append(seeds, typical[:n])
	}
	return seeds
}

// FuzzDecode: Decode never panics; it agrees with the reference decoder built on encoding/json;
// and what it accepts, AppendJSON writes back into bytes it decodes to the same trade (timestamps
// at the millisecond precision AppendJSON writes).
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstReference(t, data)
		var tr ctc.Trade
		if Decode(data, &tr) != nil {
			return
		}
		want := tr
		want.Timestamp = tr.Timestamp.Truncate(time.Millisecond)
		want.IngestionTimestamp = tr.IngestionTimestamp.Truncate(time.Millisecond)
		if want.Timestamp.IsZero() {
			return // within a millisecond after the zero time: written back, it reads as missing
		}
		b := tr.AppendJSON(nil)
		var again ctc.Trade
		if err := Decode(b, &again); err != nil {
			t.Fatalf("Decode(%q) = %v for what AppendJSON wrote from the trade of %q", b, err, data)
		}
		if again != want {
			t.Fatalf("re-encoded trade differs:\n%s", cmp.Diff(want, again))
		}
	})
}

// FuzzCheck: the chain never panics, its verdicts are well-formed, a duplicate only follows a
// pass of the same id, and its counters add up; a snapshot restores to the same decisions.
func FuzzCheck(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s), []byte(typical), false)
	}
	f.Add([]byte(typical), []byte(typical), true)
	f.Fuzz(func(t *testing.T, a, b []byte, decoded bool) {
		c := mustNew(t, Config{Symbols: []string{"BTC-USDT", "ETH-USD"}})
		recs := []*ctc.Record{{Data: a}, {Data: b}, {Data: a}}
		if decoded {
			// The same bytes through a source that decoded them itself.
			var tr ctc.Trade
			if err := (&tr).UnmarshalJSON(a); err == nil {
				recs = append(recs, &ctc.Record{Decoded: true, Trade: tr})
			}
		}
		for _, r := range recs {
			var tr ctc.Trade
			v := c.Check(r, &tr)
			switch v.Status {
			case ctc.Fail:
				if v.Reason != ctc.Malformed && v.Reason != ctc.Incomplete && v.Reason != ctc.Invalid || v.Detail == "" || v.Late || v.Warning {
					t.Fatalf("bad failure verdict %+v", v)
				}
				if !r.Decoded {
					var e *Error
					if err := Decode(r.Data, new(ctc.Trade)); err != nil && (!errors.As(err, &e) || e.Reason != v.Reason) {
						t.Fatalf("Check says %s, Decode says %v", v.Reason, err)
					}
				}
			case ctc.Pass, ctc.Duplicate:
				if v.Reason != "" || !strings.Contains(tr.Symbol, "-") || !(tr.QuoteVolume > 0) || tr.Timestamp.Location() != time.UTC {
					t.Fatalf("verdict %+v with trade %+v", v, tr)
				}
			default:
				t.Fatalf("unknown status %v", v.Status)
			}
		}
		s := c.Stats()
		if s.Processed != int64(len(recs)) || s.Passed+s.Failed+s.Duplicate != s.Processed ||
			s.FailedByReason[ctc.Malformed]+s.FailedByReason[ctc.Incomplete]+s.FailedByReason[ctc.Invalid] != s.Failed ||
			s.Late > s.Passed || s.Warnings > s.Passed {
			t.Fatalf("counters do not add up: %+v", s)
		}
		snap, err := c.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		d := mustNew(t, Config{Symbols: []string{"BTC-USDT", "ETH-USD"}})
		if err := d.Restore(snap); err != nil {
			t.Fatalf("Restore of a fresh snapshot: %v", err)
		}
		for _, r := range recs {
			if v1, v2 := c.Check(r, new(ctc.Trade)), d.Check(r, new(ctc.Trade)); v1 != v2 {
				t.Fatalf("restored chain decides %+v, the original %+v", v2, v1)
			}
		}
	})
}

// FuzzRestore: Restore never panics on any bytes, and what it accepts snapshots to a fixed point.
func FuzzRestore(f *testing.F) {
	c := mustNew(f, Config{})
	for i := range 5 {
		c.Check(jsonRecord(trade(i, t0.Add(time.Duration(i)*time.Second))), new(ctc.Trade))
	}
	snap, _ := c.Snapshot()
	f.Add(snap)
	f.Add([]byte("CTCQ\x01\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("CTCQ\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := mustNew(t, Config{})
		if d.Restore(b) != nil {
			return
		}
		s1, _ := d.Snapshot()
		e := mustNew(t, Config{})
		if err := e.Restore(s1); err != nil {
			t.Fatalf("Restore of a snapshot: %v", err)
		}
		if s2, _ := e.Snapshot(); string(s1) != string(s2) {
			t.Fatalf("snapshot is not a fixed point")
		}
		d.Check(jsonRecord(trade(1, t0)), new(ctc.Trade))
	})
}
