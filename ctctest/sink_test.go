package ctctest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/memory"
)

var allKinds = SinkFeatures{Trades: true, Alerts: true, Volumes: true, Spreads: true, Whales: true, DeadLetters: true, Late: true}

// fakeSink is a buffered sink (Write to pending, Flush to durable) with one deliberate defect per
// mode, to show that each subtest of TestSink catches what it claims to.
type fakeSink struct {
	mode    string
	mu      sync.Mutex
	pending ctc.Batch
	durable ctc.Batch
	closed  bool
}

func (s *fakeSink) Write(ctx context.Context, b *ctc.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		if s.mode == "half-cancel" {
			s.pending.Trades = append(s.pending.Trades, b.Trades...)
		}
		return err
	}
	if s.closed && s.mode != "write-after-close" {
		return memory.ErrClosed
	}
	if b.Len() == 0 && s.mode == "reject-empty" {
		return os.ErrInvalid
	}
	n := len(s.pending.DeadLetters)
	if s.mode == "alias-data" {
		// Copies the records but not the bytes behind the dead letters: the easy mistake.
		s.pending.Trades = append(s.pending.Trades, b.Trades...)
		s.pending.Output.Append(&b.Output)
		s.pending.DeadLetters = append(s.pending.DeadLetters, b.DeadLetters...)
	} else {
		appendBatch(&s.pending, b)
	}
	switch s.mode {
	case "drop-dead-letter":
		if len(b.DeadLetters) > 0 {
			s.pending.DeadLetters = s.pending.DeadLetters[:len(s.pending.DeadLetters)-1]
		}
	case "float32":
		for i := range s.pending.Output.Volumes {
			v := &s.pending.Output.Volumes[i]
			v.TotalVolume = float64(float32(v.TotalVolume))
		}
	case "seconds":
		for i := range s.pending.Output.Alerts {
			a := &s.pending.Output.Alerts[i]
			a.DetectedAt = a.DetectedAt.Truncate(time.Second)
		}
	case "mangle-utf8":
		for i := n; i < len(s.pending.DeadLetters); i++ {
			d := &s.pending.DeadLetters[i]
			d.Data = []byte(strings.ToValidUTF8(string(d.Data), "\uFFFD"))
		}
	}
	return nil
}

func (s *fakeSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode == "lazy-flush" {
		return nil
	}
	s.flushLocked()
	return nil
}

func (s *fakeSink) flushLocked() {
	s.durable.Trades = append(s.durable.Trades, s.pending.Trades...)
	s.durable.Output.Append(&s.pending.Output)
	s.durable.DeadLetters = append(s.durable.DeadLetters, s.pending.DeadLetters...)
	s.pending = ctc.Batch{}
}

func (s *fakeSink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mode != "write-after-close" {
		s.closed = true
	}
	return nil
}

func (s *fakeSink) read() *ctc.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.durable
	if s.mode == "reversed" {
		b = ctc.Batch{}
		appendBatch(&b, &s.durable)
		slices.Reverse(b.Trades)
		slices.Reverse(b.Output.Alerts)
		slices.Reverse(b.Output.Volumes)
		slices.Reverse(b.Output.Spreads)
		slices.Reverse(b.Output.Whales)
		slices.Reverse(b.Output.Late)
		slices.Reverse(b.DeadLetters)
	}
	if s.mode == "dedup" || s.mode == "dedup-first" {
		b.Output = s.durable.Output
		b.Output.Alerts = nil
		at := map[[16]byte]int{}
		for _, a := range s.durable.Output.Alerts {
			if i, ok := at[a.AlertID]; ok {
				if s.mode == "dedup" {
					b.Output.Alerts[i] = a
				}
				continue
			}
			at[a.AlertID] = len(b.Output.Alerts)
			b.Output.Alerts = append(b.Output.Alerts, a)
		}
	}
	return &b
}

func runFake(t *testing.T, mode string, f SinkFeatures) {
	TestSink(t, f, func(t *testing.T) ctc.Sink {
		return &fakeSink{mode: mode}
	}, func(t *testing.T, s ctc.Sink) *ctc.Batch {
		return s.(*fakeSink).read()
	})
}

func TestSinkPassesCorrectSinks(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		TestSink(t, allKinds, func(t *testing.T) ctc.Sink { return memory.New() },
			func(t *testing.T, s ctc.Sink) *ctc.Batch { c := s.(*memory.Sink).Contents(); return c.Batch() })
	})
	t.Run("buffered", func(t *testing.T) { runFake(t, "", allKinds) })
	unordered := allKinds
	unordered.Unordered = true
	t.Run("unordered", func(t *testing.T) { runFake(t, "reversed", unordered) })
	idem := allKinds
	idem.IdempotentAlerts = true
	t.Run("idempotent-last-wins", func(t *testing.T) { runFake(t, "dedup", idem) })
	t.Run("idempotent-first-wins", func(t *testing.T) { runFake(t, "dedup-first", idem) })
	// A sink that stores only alerts may lose everything else.
	t.Run("alerts-only", func(t *testing.T) { runFake(t, "drop-dead-letter", SinkFeatures{Alerts: true}) })
}

// TestSinkCatchesBrokenSinks runs TestSink on a defective sink in a child process (a failing
// subtest cannot be contained in this one) and checks that the subtest meant to catch the defect
// fails.
func TestSinkCatchesBrokenSinks(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ mode, subtest string }{
		{"drop-dead-letter", "RoundTrip"},
		{"reversed", "RoundTrip"},
		{"mangle-utf8", "RoundTrip"},
		{"alias-data", "BatchReuse"},
		{"reject-empty", "EmptyBatch"},
		{"lazy-flush", "Flush"},
		{"write-after-close", "Close"},
		{"half-cancel", "CancelledContext"},
		{"duplicates", "IdempotentAlerts"},
		{"float32", "ExactValues"},
		{"seconds", "ExactValues"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenSink$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), "CTCTEST_BROKEN_SINK="+c.mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("TestSink passed a sink with defect %q:\n%s", c.mode, out)
			}
			if want := "--- FAIL: TestBrokenSink/" + c.subtest + " "; !bytes.Contains(out, []byte(want)) {
				t.Fatalf("defect %q: want subtest %s to fail; output:\n%s", c.mode, c.subtest, out)
			}
		})
	}
}

// TestBrokenSink is run by TestSinkCatchesBrokenSinks in a child process.
func TestBrokenSink(t *testing.T) {
	mode := os.Getenv("CTCTEST_BROKEN_SINK")
	if mode == "" {
		t.Skip("run by TestSinkCatchesBrokenSinks")
	}
	f := allKinds
	if mode == "duplicates" {
		f.IdempotentAlerts = true
	}
	runFake(t, mode, f)
}

// The generated batches must hold what the suite's doc comment promises to check.
func TestSampleBatchCoverage(t *testing.T) {
	t.Parallel()
	sev := map[ctc.Severity]bool{}
	var nonUTF8, unicode, quotes, zeroEmitted, zeroIngestion bool
	for seed := range uint64(4) {
		b := sampleBatch(seed, 3+int(seed))
		if diff := cmp.Diff(b, sampleBatch(seed, 3+int(seed))); diff != "" {
			t.Fatalf("sampleBatch(%d) is not deterministic:\n%s", seed, diff)
		}
		for _, a := range b.Output.Alerts {
			sev[a.Severity] = true
			unicode = unicode || strings.ContainsAny(a.Message, "σ🐋\u2028")
			quotes = quotes || strings.Contains(a.Message, `"`)
			zeroEmitted = zeroEmitted || a.EmittedAt.IsZero()
			if a.DetectedAt.Sub(a.WindowStart) != time.Minute || a.TTLEpoch != a.DetectedAt.Add(ctc.AlertTTL).Unix() {
				t.Errorf("unrealistic alert times: %+v", a)
			}
		}
		for _, tr := range b.Trades {
			zeroIngestion = zeroIngestion || tr.IngestionTimestamp.IsZero()
			if tr.Price <= 0 || tr.Quantity <= 0 || tr.Timestamp.Nanosecond()%1e6 != 0 {
				t.Errorf("unrealistic trade: %v", &tr)
			}
		}
		for _, w := range b.Output.Whales {
			if w.Trade.QuoteVolume <= w.ThresholdValue {
				t.Errorf("whale below its threshold: %+v", w)
			}
		}
		for _, d := range b.DeadLetters {
			nonUTF8 = nonUTF8 || !utf8.Valid(d.Data)
		}
	}
	if len(sev) != 4 || !nonUTF8 || !unicode || !quotes || !zeroEmitted || !zeroIngestion {
		t.Errorf("sample batches miss a case: severities=%v nonUTF8=%v unicode=%v quotes=%v zeroEmitted=%v zeroIngestion=%v",
			sev, nonUTF8, unicode, quotes, zeroEmitted, zeroIngestion)
	}
}
