package embedded_test

import (
	"cmp"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// Compaction keeps exactly the live records, in their latest versions, and nothing else.
func TestCompactKeepsExactlyTheLiveRecords(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	path := filepath.Join(t.TempDir(), "hot.ctc")
	s := mustOpen(t, path, c)
	o := newOracle()
	write := func(b *ctc.Batch) {
		mustWrite(t, s, b)
		o.write(b, c.Now())
	}
	alerts := genAlerts(7, 600, testNow, 30*time.Hour) // the oldest fifth expired on arrival
	for i := range alerts {
		if i%3 == 0 {
			alerts[i].TTLEpoch = testNow.Unix() + 10 // expires during the test
		}
	}
	for i := 0; i < len(alerts); i += 50 {
		write(batchOf(alerts[i : i+50]...))
	}
	rewritten := slices.Clone(alerts[300:400])
	for i := range rewritten {
		rewritten[i].Message = "reprocessed"
	}
	write(batchOf(rewritten...))
	write(aggregates(testNow.Add(-ctc.AlertTTL + 30*time.Minute))) // half expire within the hour
	write(aggregates(testNow))
	c.add(20 * time.Second)
	before := snap(t, s)

	if err := s.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, err := embedded.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	now := c.Now()
	wantAlerts := o.query(ctc.AlertQuery{Limit: math.MaxInt}, now)
	byID := func(a, b ctc.Alert) int { return slices.Compare(a.AlertID[:], b.AlertID[:]) }
	slices.SortFunc(wantAlerts, byID)
	slices.SortFunc(out.Alerts, byID)
	if diff := gocmp.Diff(wantAlerts, out.Alerts); diff != "" {
		t.Errorf("alerts in the compacted file (-live +file):\n%s", diff)
	}
	if diff := gocmp.Diff(o.volumesOf("", time.Time{}, now), out.Volumes); diff != "" {
		t.Errorf("volume windows in the compacted file (-live +file):\n%s", diff)
	}
	if diff := gocmp.Diff(o.spreadsOf("", time.Time{}, now), out.Spreads); diff != "" {
		t.Errorf("spread windows in the compacted file (-live +file):\n%s", diff)
	}
	st := s.Stats()
	if fi, err := os.Stat(path); err != nil || fi.Size() != st.FileBytes || st.FreeBytes != 0 || st.Compactions != 1 {
		t.Errorf("after compaction: stats %+v, file %v", st, fi.Size())
	}
	if len(wantAlerts) == 0 || len(wantAlerts) == len(alerts) || st.Removed == 0 {
		t.Fatalf("the fixture should leave some alerts live and expire others: %d of %d live, %d removed", len(wantAlerts), len(alerts), st.Removed)
	}
	if diff := gocmp.Diff(before, snap(t, s)); diff != "" {
		t.Errorf("answers changed by compaction (-before +after):\n%s", diff)
	}
	// Writes go on into the new file, and a reopen reads it.
	extra := genAlerts(8, 5, testNow, time.Minute)
	write(batchOf(extra...))
	before = snap(t, s)
	mustClose(t, s)
	s = mustOpen(t, path, c)
	if diff := gocmp.Diff(before, snap(t, s)); diff != "" {
		t.Errorf("after writing to the compacted file and reopening (-before +after):\n%s", diff)
	}
}

// The janitor removes expired records on its interval, compacts once they are half the file, and
// stops with Close: synctest fails the test if its goroutine outlives the store.
func TestJanitor(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hot.ctc")
		s, err := embedded.Open(path, embedded.WithJanitorInterval(time.Minute)) // the bubble's clock
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		alerts := genAlerts(9, 800, now, time.Hour)
		for i := range alerts {
			if i%8 != 0 {
				alerts[i].TTLEpoch = now.Add(30 * time.Second).Unix()
			}
		}
		mustWrite(t, s, batchOf(alerts...))
		if st := s.Stats(); st.Alerts != 800 || st.FileBytes < 128<<10 {
			t.Fatalf("fixture: %+v; want 800 alerts in more than 128 KiB", st)
		}

		time.Sleep(59 * time.Second)
		synctest.Wait()
		if st := s.Stats(); st.Alerts != 800 || st.Removed != 0 {
			t.Errorf("before the janitor's first run: %+v", st)
		}
		if got, _ := s.QueryAlerts(t.Context(), ctc.AlertQuery{Limit: math.MaxInt}); len(got) != 100 {
			t.Errorf("expired alerts not yet removed are returned: %d alerts, want 100", len(got))
		}

		time.Sleep(2 * time.Second)
		synctest.Wait()
		st := s.Stats()
		if st.Alerts != 100 || st.Removed != 700 || st.Compactions != 1 || st.FreeBytes != 0 || st.JanitorErr != nil {
			t.Errorf("after the janitor's first run: %+v; want 100 alerts, 700 removed, one compaction", st)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != st.FileBytes {
			t.Errorf("file size %d, want %d", fi.Size(), st.FileBytes)
		}

		// Nothing more to do: no further compaction.
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if st := s.Stats(); st.Compactions != 1 || st.Alerts != 100 {
			t.Errorf("idle janitor: %+v", st)
		}
		if err := s.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}

// Little dead weight is not worth a rewrite: the janitor removes but does not compact.
func TestJanitorSkipsSmallCompactions(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hot.ctc")
		s, err := embedded.Open(path, embedded.WithJanitorInterval(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close(context.Background())
		alerts := genAlerts(10, 40, time.Now(), time.Hour)
		for i := range alerts[:30] {
			alerts[i].TTLEpoch = time.Now().Unix() + 1
		}
		mustWrite(t, s, batchOf(alerts...))
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if st := s.Stats(); st.Alerts != 10 || st.Removed != 30 || st.Compactions != 0 || st.FreeBytes >= 64<<10 {
			t.Errorf("stats %+v; want 30 removed and no compaction", st)
		}
	})
}

// Queries run while the writer writes and the janitor and Compact rewrite the file (run with -race).
func TestConcurrentCompaction(t *testing.T) {
	t.Parallel()
	c := newClock(testNow)
	s, _ := open(t, embedded.WithClock(c.Now), embedded.WithJanitorInterval(time.Millisecond))
	alerts := genAlerts(11, 3000, testNow, 30*time.Hour)
	ctx := context.Background()
	var wg sync.WaitGroup
	done := make(chan struct{})
	for r := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				q := ctc.AlertQuery{Limit: 50}
				if r%2 == 0 {
					q.Type = testTypes[i%len(testTypes)]
				} else {
					q.Symbol = testSymbols[i%len(testSymbols)]
				}
				got, err := s.QueryAlerts(ctx, q)
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.IsSortedFunc(got, func(a, b ctc.Alert) int {
					return cmp.Or(b.DetectedAt.Compare(a.DetectedAt), slices.Compare(b.AlertID[:], a.AlertID[:]))
				}) {
					t.Error("result out of order")
					return
				}
				if _, err := s.Symbols(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for i := 0; i < len(alerts); i += 100 {
		mustWrite(t, s, batchOf(alerts[i:i+100]...))
		mustWrite(t, s, aggregates(testNow.Add(time.Duration(i)*time.Minute-ctc.AlertTTL)))
		c.add(10 * time.Minute)
		if i%500 == 0 {
			if err := s.Compact(ctx); err != nil {
				t.Error(err)
			}
		}
	}
	close(done)
	wg.Wait()
}
