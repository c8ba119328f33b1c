package embedded_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// snapshot is everything a store answers, to compare a store before and after a reopen.
type snapshot struct {
	Alerts  []ctc.Alert
	Volumes []ctc.VolumeWindow
	Spreads []ctc.SpreadWindow
	Symbols []string
}

func snap(t *testing.T, s *embedded.Store) snapshot {
	t.Helper()
	ctx := t.Context()
	var sn snapshot
	var err error
	if sn.Alerts, err = s.QueryAlerts(ctx, ctc.AlertQuery{Limit: math.MaxInt}); err != nil {
		t.Fatal(err)
	}
	if sn.Volumes, err = s.Volumes(ctx, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if sn.Spreads, err = s.Spreads(ctx, "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if sn.Symbols, err = s.Symbols(ctx); err != nil {
		t.Fatal(err)
	}
	return sn
}

func mustOpen(t *testing.T, path string, c *clock) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path, embedded.WithClock(c.Now), embedded.WithJanitorInterval(0))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func mustWrite(t *testing.T, s *embedded.Store, b *ctc.Batch) {
	t.Helper()
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func mustClose(t *testing.T, s *embedded.Store) {
	t.Helper()
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func aggregates(now time.Time) *ctc.Batch {
	b := &ctc.Batch{}
	for i := range 20 {
		start := now.Add(-time.Hour).Truncate(time.Minute).Add(time.Duration(i/2) * time.Minute)
		sym, ex := "BTC-USDT", ctc.Binance
		if i%2 == 1 {
			sym, ex = "BTC-USD", ctc.Coinbase
		}
		b.Output.Volumes = append(b.Output.Volumes, ctc.VolumeWindow{
			Symbol: sym, Exchange: ex, WindowStart: start, WindowEnd: start.Add(time.Minute), TradeCount: int64(100 + i),
			TotalVolume: 1e6 + float64(i), AvgPrice: 67_000.5, MaxPrice: 67_100, MinPrice: 66_900, BuyVolume: 6e5, SellVolume: 4e5 + float64(i),
		})
		sstart := now.Add(-time.Hour).Truncate(30 * time.Second).Add(time.Duration(i) * 30 * time.Second)
		b.Output.Spreads = append(b.Output.Spreads, ctc.SpreadWindow{
			Symbol: "BTC", WindowStart: sstart, WindowEnd: sstart.Add(30 * time.Second),
			BinanceVWAP: 67_010.25, CoinbaseVWAP: 67_000, SpreadPct: 0.0153 * float64(i),
		})
	}
	return b
}

func TestReopen(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	path := filepath.Join(t.TempDir(), "hot.ctc")
	s := mustOpen(t, path, c)
	alerts := genAlerts(1, 300, testNow, 20*time.Hour)
	for i := 0; i < len(alerts); i += 30 {
		mustWrite(t, s, batchOf(alerts[i:i+30]...))
	}
	mustWrite(t, s, aggregates(testNow))
	// A reprocessing run rewrites some alerts with other values.
	changed := slices.Clone(alerts[:50])
	for i := range changed {
		changed[i].Message, changed[i].Severity = "reprocessed", ctc.Critical
	}
	mustWrite(t, s, batchOf(changed...))
	before := snap(t, s)
	if len(before.Alerts) != 300 || len(before.Volumes) != 20 || len(before.Spreads) != 20 {
		t.Fatalf("before reopen: %d alerts, %d volumes, %d spreads", len(before.Alerts), len(before.Volumes), len(before.Spreads))
	}
	mustClose(t, s)

	s = mustOpen(t, path, c)
	if diff := cmp.Diff(before, snap(t, s)); diff != "" {
		t.Fatalf("after reopen (-before +after):\n%s", diff)
	}
	// Idempotency survives the reopen: the replay after a restart writes everything again.
	mustWrite(t, s, batchOf(alerts...))
	mustWrite(t, s, batchOf(changed...))
	mustWrite(t, s, aggregates(testNow))
	if diff := cmp.Diff(before, snap(t, s)); diff != "" {
		t.Fatalf("after rewriting everything (-before +after):\n%s", diff)
	}
	st := s.Stats()
	if st.Alerts != 300 || st.Volumes != 20 || st.Spreads != 20 || st.DeadBytes <= 0 || st.TornBytes != 0 || st.SkippedBytes != 0 {
		t.Errorf("stats after the rewrites: %+v", st)
	}
	mustClose(t, s)
	s = mustOpen(t, path, c)
	if diff := cmp.Diff(before, snap(t, s)); diff != "" {
		t.Fatalf("after the second reopen (-before +after):\n%s", diff)
	}
	if got := s.Stats(); got.DeadBytes != st.DeadBytes || got.FileBytes != st.FileBytes {
		t.Errorf("reopened stats %+v, want the sizes of %+v", got, st)
	}

	// What has expired while the store was closed is not loaded.
	mustClose(t, s)
	c.add(ctc.AlertTTL - 10*time.Hour)
	s = mustOpen(t, path, c)
	if got, _ := s.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: math.MaxInt}); len(got) != s.Stats().Alerts || len(got) >= 300 || len(got) == 0 {
		t.Errorf("after 14 h: %d alerts returned, %d held; want the same, some but not all", len(got), s.Stats().Alerts)
	}
}

// tornCases cut or damage the last record of a file, as a crash during its write can.
var tornCases = []struct {
	name   string
	damage func(last []byte) []byte
}{
	{"one byte", func(b []byte) []byte { return b[:1] }},
	{"frame only", func(b []byte) []byte { return b[:8] }},
	{"frame and kind", func(b []byte) []byte { return b[:9] }},
	{"all but one byte", func(b []byte) []byte { return b[:len(b)-1] }},
	{"zeros", func(b []byte) []byte { return make([]byte, len(b)) }},
	{"zeros past the end", func(b []byte) []byte { return make([]byte, 4096) }},
	{"payload not persisted", func(b []byte) []byte { return append(b[:8:8], make([]byte, len(b)-8)...) }},
	{"one bit flipped", func(b []byte) []byte { b = slices.Clone(b); b[len(b)/2] ^= 0x10; return b }},
}

func TestTornTail(t *testing.T) {
	t.Parallel()
	for _, tc := range tornCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClock(testNow)
			path := filepath.Join(t.TempDir(), "hot.ctc")
			alerts := genAlerts(2, 41, testNow, time.Hour)
			s := mustOpen(t, path, c)
			mustWrite(t, s, batchOf(alerts[:40]...))
			mustWrite(t, s, aggregates(testNow))
			want := snap(t, s)
			good := s.Stats().FileBytes
			mustWrite(t, s, batchOf(alerts[40]))
			mustClose(t, s)

			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tail := tc.damage(data[good:])
			if err := os.WriteFile(path, append(data[:good:good], tail...), 0o644); err != nil {
				t.Fatal(err)
			}
			// ReadFile reads around the torn tail without changing the file.
			if out, err := embedded.ReadFile(path); err != nil || len(out.Alerts) != 40 {
				t.Fatalf("ReadFile: %d alerts, %v; want 40", len(out.Alerts), err)
			}
			s = mustOpen(t, path, c)
			if diff := cmp.Diff(want, snap(t, s)); diff != "" {
				t.Fatalf("after the crash (-before the last write +after):\n%s", diff)
			}
			if st := s.Stats(); st.TornBytes != int64(len(tail)) || st.FileBytes != good || st.SkippedBytes != 0 {
				t.Errorf("stats: %+v; want %d torn bytes and the file cut back to %d bytes", st, len(tail), good)
			}
			if fi, err := os.Stat(path); err != nil || fi.Size() != good {
				t.Fatalf("file size after Open: %v, %v; want %d", fi.Size(), err, good)
			}
			// The store goes on after the cut: the next write follows the last intact record.
			mustWrite(t, s, batchOf(alerts[40]))
			mustClose(t, s)
			s = mustOpen(t, path, c)
			if got := snap(t, s); len(got.Alerts) != 41 || s.Stats().TornBytes != 0 {
				t.Errorf("after writing again and reopening: %d alerts, torn %d; want 41 and 0", len(got.Alerts), s.Stats().TornBytes)
			}
		})
	}
}

// A damaged record followed by intact ones (pages persisted out of order, a bad sector) is skipped
// and counted, not fatal: the hot store is a cache the pipeline can refill.
func TestDamagedRecordSkipped(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	path := filepath.Join(t.TempDir(), "hot.ctc")
	alerts := genAlerts(3, 10, testNow, time.Hour)
	s := mustOpen(t, path, c)
	var offsets []int64
	for _, a := range alerts {
		offsets = append(offsets, s.Stats().FileBytes)
		mustWrite(t, s, batchOf(a))
	}
	mustClose(t, s)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[offsets[4]+20] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, c)
	got := snap(t, s)
	var ids []string
	for _, a := range got.Alerts {
		ids = append(ids, a.AlertID.String())
	}
	if len(got.Alerts) != 9 || slices.Contains(ids, alerts[4].AlertID.String()) {
		t.Errorf("got %d alerts (%v), want the 9 undamaged ones", len(got.Alerts), ids)
	}
	if st := s.Stats(); st.SkippedBytes != offsets[5]-offsets[4] || st.TornBytes != 0 || st.DeadBytes != st.SkippedBytes {
		t.Errorf("stats %+v, want %d skipped and dead bytes", st, offsets[5]-offsets[4])
	}
	// Compaction drops the damage for good.
	if err := s.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	mustClose(t, s)
	s = mustOpen(t, path, c)
	if st := s.Stats(); st.SkippedBytes != 0 || st.Alerts != 9 {
		t.Errorf("after compaction and reopen: %+v", st)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"text":         "hello, world\n",
		"newer format": "CTCHOT\x00\x02",
		"json":         `{"alert_id":"x"}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := embedded.Open(path)
		if !errors.Is(err, embedded.ErrCorrupt) {
			t.Errorf("%s: Open returned %v, want ErrCorrupt", name, err)
		}
		if _, err := embedded.ReadFile(path); !errors.Is(err, embedded.ErrCorrupt) {
			t.Errorf("%s: ReadFile returned %v, want ErrCorrupt", name, err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%s: Open changed the file it refused", name)
		}
	}
	if _, err := embedded.Open(filepath.Join(dir, "newer_format")); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("a newer format should be named: %v", err)
	}
}

// A record whose checksum holds but whose content does not decode is a bug or a newer build, not
// crash damage: Open refuses to guess.
func TestOpenRefusesUndecodableRecord(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	path := filepath.Join(t.TempDir(), "hot.ctc")
	s := mustOpen(t, path, c)
	mustWrite(t, s, batchOf(genAlerts(4, 3, testNow, time.Hour)...))
	mustClose(t, s)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte{9, 'n', 'e', 'w'}
	f.Write(frame(payload))
	f.Close()
	if _, err := embedded.Open(path); !errors.Is(err, embedded.ErrCorrupt) || !strings.Contains(err.Error(), "kind 9") {
		t.Errorf("Open: %v, want ErrCorrupt naming the record kind", err)
	}
}

// A file cut short while being created (no complete header) or empty opens as an empty store.
func TestOpenIncompleteHeader(t *testing.T) {
	t.Parallel()
	for _, content := range []string{"", "C", "CTCHOT\x00"} {
		path := filepath.Join(t.TempDir(), "hot.ctc")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		c := newClock(testNow)
		s := mustOpen(t, path, c)
		mustWrite(t, s, batchOf(genAlerts(5, 2, testNow, time.Hour)...))
		mustClose(t, s)
		s = mustOpen(t, path, c)
		if st := s.Stats(); st.Alerts != 2 {
			t.Errorf("header %q: %d alerts after a write and reopen, want 2", content, st.Alerts)
		}
	}
}

// A compaction that crashed before its rename leaves its temporary file; Open removes it and the
// store file is intact.
func TestStaleCompactionFile(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	path := filepath.Join(t.TempDir(), "hot.ctc")
	s := mustOpen(t, path, c)
	mustWrite(t, s, batchOf(genAlerts(6, 5, testNow, time.Hour)...))
	mustClose(t, s)
	if err := os.WriteFile(path+".compact", []byte("CTCHOT\x00\x01 half written"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, c)
	if st := s.Stats(); st.Alerts != 5 {
		t.Errorf("%d alerts, want 5", st.Alerts)
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale compaction file is still there: %v", err)
	}
}
