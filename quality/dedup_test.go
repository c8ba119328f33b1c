package quality

import (
	"bytes"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/google/uuid"
	"pgregory.net/rapid"
)

// TestDedupMatchesModel: the bucketed dedup decides exactly as the plain rule — a duplicate iff
// the id passed and its remembered time >= max − window — over random streams that go back and
// forth in event time, land on the window's edges and jump far; and a chain restored from a
// snapshot mid-stream decides as the uninterrupted one and ends with the same snapshot bytes.
func TestDedupMatchesModel(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		w := rapid.SampledFrom([]time.Duration{time.Hour, time.Second, 1500 * time.Millisecond,
			90 * time.Second, time.Nanosecond, 59 * time.Second}).Draw(t, "window")
		cfg := Config{DedupWindow: w}
		c, twin := mustNew(t, cfg), mustNew(t, cfg)
		model := map[uuid.UUID]time.Time{}
		var maxT time.Time
		n := rapid.IntRange(1, 200).Draw(t, "n")
		restoreAt := rapid.IntRange(-1, n-1).Draw(t, "restoreAt")
		cur := t0
		for i := range n {
			id := trade(rapid.IntRange(0, 15).Draw(t, "id"), t0).EventID
			switch rapid.IntRange(0, 5).Draw(t, "move") {
			case 0: // to an edge of the window
				edge := maxT.Add(-w)
				if maxT.IsZero() {
					edge = cur
				}
				cur = edge.Add(time.Duration(rapid.IntRange(-1, 1).Draw(t, "edgeNs")))
			case 1: // a jump, either way
				cur = cur.Add(time.Duration(rapid.Int64Range(-int64(3*w), int64(3*w)).Draw(t, "jump")))
			case 2: // far ahead
				cur = cur.Add(time.Duration(rapid.Int64Range(0, int64(100*w)).Draw(t, "far")))
			default: // small steps
				cur = cur.Add(time.Duration(rapid.Int64Range(-int64(w/10), int64(w/4)).Draw(t, "step")))
			}
			tr := trade(0, cur)
			tr.EventID = id
			last, ok := model[id]
			wantDup := ok && !last.Before(maxT.Add(-w))
			for _, ch := range []*Chain{c, twin} {
				v := ch.Check(&ctc.Record{Decoded: true, Trade: tr}, new(ctc.Trade))
				if got := v.Status == ctc.Duplicate; got != wantDup || v.Status == ctc.Fail {
					t.Fatalf("record %d (id %v at %v, max %v): %+v, want duplicate %v", i, id, cur, maxT, v, wantDup)
				}
			}
			if !wantDup {
				model[id] = cur
				if cur.After(maxT) {
					maxT = cur
				}
			}
			if i == restoreAt {
				snap, err := c.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				c = mustNew(t, cfg)
				if err := c.Restore(snap); err != nil {
					t.Fatalf("Restore: %v", err)
				}
				if again, _ := c.Snapshot(); !bytes.Equal(again, snap) {
					t.Fatalf("Snapshot after Restore differs")
				}
			}
		}
		a, _ := c.Snapshot()
		b, _ := twin.Snapshot()
		if !bytes.Equal(a, b) {
			t.Fatalf("restored and uninterrupted chains end with different snapshots")
		}
		if c.Stats().Duplicate != twin.Stats().Duplicate {
			t.Fatalf("counters differ")
		}
	})
}

func TestSnapshotRestore(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{})
	if b, err := c.Snapshot(); err != nil || !bytes.Equal(b, []byte("CTCQ\x01\x00\x00\x00\x00\x00\x00\x00\x00")) {
		t.Errorf("empty snapshot = %q, %v", b, err)
	}
	late := trade(3, t0.Add(time.Second))
	late.IngestionTimestamp = t0.Add(time.Hour)
	for _, r := range []*ctc.Record{jsonRecord(trade(1, t0)), jsonRecord(trade(2, t0.Add(-time.Minute))),
		jsonRecord(trade(1, t0)), jsonRecord(late), {Data: []byte("x")}, {Data: []byte("{}")}} {
		c.Check(r, new(ctc.Trade))
	}
	snap, err := c.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	d := mustNew(t, Config{})
	if err := d.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if got, want := d.Stats(), c.Stats(); string(got.AppendJSON(nil)) != string(want.AppendJSON(nil)) {
		t.Errorf("restored stats %+v, want %+v", got, want)
	}
	for i, want := range []ctc.Status{ctc.Duplicate, ctc.Duplicate, ctc.Duplicate, ctc.Pass} {
		if v := d.Check(jsonRecord(trade(i+1, t0)), new(ctc.Trade)); v.Status != want {
			t.Errorf("trade %d after Restore: %v, want %v", i+1, v.Status, want)
		}
	}

	// Bad snapshots are rejected and leave the chain as it was.
	before, _ := d.Snapshot()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"magic":     []byte("XXXX\x01"),
		"version":   []byte("CTCQ\x02"),
		"truncated": snap[:len(snap)-3],
		"trailing":  append(append([]byte(nil), snap...), 0),
		"counters":  []byte("CTCQ\x01\x01\x05\x00\x00\x00\x00\x00\x00"), // 5 duplicates of 1 record
		"flag":      []byte("CTCQ\x01\x00\x00\x00\x00\x00\x00\x00\x07"),
	} {
		if err := d.Restore(b); err == nil {
			t.Errorf("Restore(%s) accepted %q", name, b)
		}
		if after, _ := d.Snapshot(); !bytes.Equal(after, before) {
			t.Errorf("Restore(%s) changed the chain", name)
		}
	}
}

// TestRestoreWithAnotherWindow: a snapshot restores into a chain with a shorter window, which
// forgets what is now outside it.
func TestRestoreWithAnotherWindow(t *testing.T) {
	t.Parallel()
	c := mustNew(t, Config{DedupWindow: time.Hour})
	for i := range 60 {
		c.Check(&ctc.Record{Decoded: true, Trade: trade(i, t0.Add(time.Duration(i)*time.Minute))}, new(ctc.Trade))
	}
	snap, _ := c.Snapshot()
	d := mustNew(t, Config{DedupWindow: 10 * time.Minute})
	if err := d.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if n := d.dd.len(); n != 11 {
		t.Errorf("remembers %d ids, want the 11 of the last 10 minutes", n)
	}
	if v := d.Check(&ctc.Record{Decoded: true, Trade: trade(49, t0)}, new(ctc.Trade)); v.Status != ctc.Duplicate {
		t.Errorf("an id inside the new window: %v", v.Status)
	}
	if v := d.Check(&ctc.Record{Decoded: true, Trade: trade(48, t0)}, new(ctc.Trade)); v.Status != ctc.Pass {
		t.Errorf("an id outside the new window: %v", v.Status)
	}
}
