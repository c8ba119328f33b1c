package ctctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
)

// SourceFeatures declares what kind of source TestSource checks. The zero value is a bounded
// source that reads storage (a file, a slice, a simulator with a Duration) and gives the same
// records every time it is opened.
type SourceFeatures struct {
	// Live says the source waits for a feed (an exchange's WebSocket, a stream) rather than reading
	// storage, and never ends on its own. TestSource reads Records records from it, then expects
	// Next to block until its context ends. open must make the records arrive: a local server that
	// sends them once the source has subscribed, say.
	Live bool
	// Records is how many records the source yields: what a Live source delivers before it goes
	// quiet (required with Live), or every record of a bounded source (0: any number but at least
	// one).
	Records int
	// Nondeterministic says that two sources opened alike may yield different records — a feed
	// whose trade times follow the wall clock, a merge whose interleaving depends on scheduling —
	// so that Determinism and Seek are not checked and the other subtests compare only counts.
	Nondeterministic bool
	// KnownFailures maps the name of a subtest the source is known to fail to the defect, until the
	// source is fixed. Such a subtest still runs, against a recorder rather than the test: its
	// failures are logged, and it fails if it passes, so that the entry goes when the fix comes.
	KnownFailures map[string]string
}

// TestSource checks that a source meets the contract of ctc.Source, and of ctc.Closer,
// ctc.BulkSource and ctc.Seeker if it implements them. Every subtest calls open for a fresh source
// positioned before its first record; open should register any cleanup (a local server, a temporary
// file) with t.Cleanup. TestSource closes every source it opened that is a ctc.Closer before those
// cleanups run. Every call to Next has a deadline, so that a source that blocks where it must not
// fails the test rather than hanging it.
//
// The rules checked, each in its own subtest:
//
//   - Records: every record is something — a decoded trade (Decoded, Trade set), raw bytes for the
//     quality chain (Data), or bytes that could not be decoded with why (Data and Err, never with
//     Decoded) — and leaves Checked and Verdict, which belong to the checker, zero. Data stays as
//     it was until the next call to Next (the source may reuse it after that), and nothing else of
//     a record — the trade's strings, the error's message — changes when later records are read:
//     the pipeline keeps a chunk of records while it reads the next ones. A bounded source yields
//     Records records if declared, at least one otherwise.
//   - ReusedRecord: Next fills the record it is given whatever it held: read into one record that
//     holds another record's values and bytes before every call, as a pipeline reusing its record
//     does, a source yields the same records as into fresh ones, with nothing left over.
//   - End: a bounded source returns ctc.ErrEndOfInput after its last record, and again on every
//     later call. A Live source, once quiet, blocks in Next until the context's deadline and
//     then returns promptly an error wrapping context.DeadlineExceeded.
//   - CancelledContext: Next with a context already cancelled, or past its deadline, returns
//     promptly: an error wrapping the context's error, having consumed nothing (the next call with a
//     live context returns the record the cancelled one would have), or a record that was ready.
//     A Live source also returns promptly when the context is cancelled while Next waits.
//   - Close (ctc.Closer): Close succeeds, before the first Next, midway and at the end; Next
//     afterwards returns promptly an error wrapping ctc.ErrClosed, every time, and never a record;
//     a second Close returns nil.
//   - Positions: every record has a Partition, and within a partition Offsets count from 1 and
//     increase from record to record, so that a checkpoint's position names one record.
//   - Determinism (unless Nondeterministic): two sources opened alike yield the same records.
//   - Bulk (a ctc.BulkSource reporting Bulk): read ahead in chunks on another goroutine, as a
//     bounded pipeline reads it, the source yields the records it yields one by one, and no Next
//     waits.
//   - Seek (a deterministic ctc.Seeker): resumed after the position of any record (or the zero
//     Position, a checkpoint taken before the first record), the source yields exactly the records
//     after it.
//
// Records are compared field by field, errors by their messages and times as instants.
func TestSource(t *testing.T, f SourceFeatures, open func(t *testing.T) ctc.Source) {
	t.Helper()
	if f.Live && f.Records < 1 {
		t.Fatal("ctctest: SourceFeatures.Live needs Records: how many records the source delivers before it goes quiet")
	}
	s := &sourceSuite{f: f, open: open}
	rules := []sourceRule{
		{"Records", s.records},
		{"ReusedRecord", s.reusedRecord},
		{"End", s.end},
		{"CancelledContext", s.cancelledContext},
		{"Close", s.close},
		{"Positions", s.positions},
		{"Determinism", s.determinism},
		{"Bulk", s.bulk},
		{"Seek", s.seek},
	}
	for _, name := range slices.Sorted(maps.Keys(f.KnownFailures)) {
		if !slices.ContainsFunc(rules, func(r sourceRule) bool { return r.name == name }) {
			t.Fatalf("ctctest: SourceFeatures.KnownFailures names %q, which is not a subtest of TestSource", name)
		}
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) { s.run(t, r.name, r.rule) })
	}
}

// The suite's patience: how long Next may take to return a record, and how soon it must return
// once its context has ended or its source has been closed.
const (
	sourceWait = 10 * time.Second
	promptly   = 2 * time.Second
)

// maxRecords bounds a bounded source: one that yields more is taken not to end.
const maxRecords = 1 << 20

type sourceRule struct {
	name string
	rule func(c *sourceCheck)
}

type sourceSuite struct {
	f    SourceFeatures
	open func(t *testing.T) ctc.Source
}

// reporter is where a subtest's checks report: the subtest's *testing.T, or a recorder when the
// subtest is a known failure.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
}

// sourceCheck is what a rule works with: the subtest's T, which opens sources and owns their
// cleanups, and the reporter its checks go to.
type sourceCheck struct {
	t *testing.T
	reporter
}

// run runs a rule as the subtest t, or, when it is a known failure, against a recorder on a
// goroutine of its own (so that Fatalf and Skipf can end it) and then checks that it failed.
func (s *sourceSuite) run(t *testing.T, name string, rule func(c *sourceCheck)) {
	t.Helper()
	why, known := s.f.KnownFailures[name]
	if !known {
		rule(&sourceCheck{t: t, reporter: t})
		return
	}
	rec := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		rule(&sourceCheck{t: t, reporter: rec})
	}()
	<-done
	settleKnown(t, name, why, rec)
}

// settleKnown turns the outcome of a known failure into the subtest's: a log of its failures, or
// an error if it passed (or skipped) after all.
func settleKnown(t interface {
	Helper()
	Errorf(string, ...any)
	Logf(string, ...any)
}, name, why string, rec *recorder) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch {
	case rec.skipped != "":
		t.Errorf("%s is listed in KnownFailures (%s) but skipped: %s", name, why, rec.skipped)
	case len(rec.failures) == 0:
		t.Errorf("%s is listed in KnownFailures (%s) but passes: remove the entry", name, why)
	default:
		t.Logf("known failure (%s):\n%s", why, strings.Join(rec.failures, "\n"))
	}
}

// recorder is a reporter that keeps failures instead of failing a test. Fatalf and Skipf end the
// goroutine that calls them, which must be the one the rule runs on.
type recorder struct {
	mu       sync.Mutex
	failures []string
	skipped  string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Logf(format string, args ...any) {}

// openSource opens a fresh source and has it closed when the subtest ends, before the cleanups
// open registered (a server the source talks to) run.
func (s *sourceSuite) openSource(c *sourceCheck) ctc.Source {
	c.Helper()
	src := s.open(c.t)
	if src == nil {
		c.Fatalf("open returned nil")
	}
	if cl, ok := src.(ctc.Closer); ok {
		c.t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), sourceWait)
			defer cancel()
			_ = cl.Close(ctx) // may have been closed by the test already
		})
	}
	return src
}

// srcRecord is what the suite keeps of a record: Data copied at once (it is valid only until the
// next Next), the error as its message.
type srcRecord struct {
	Data     []byte
	Decoded  bool
	Trade    ctc.Trade
	Err      string
	Position ctc.Position
}

func keep(rec *ctc.Record) srcRecord {
	k := srcRecord{Data: bytes.Clone(rec.Data), Decoded: rec.Decoded, Trade: cloneTrade(rec.Trade), Position: rec.Position}
	k.Position.Partition = strings.Clone(k.Position.Partition)
	if len(k.Data) == 0 {
		k.Data = nil
	}
	if rec.Err != nil {
		k.Err = rec.Err.Error()
	}
	return k
}

// cloneTrade copies t's strings, so that the copy stays what t is now even if t's strings point
// into a buffer the source overwrites.
func cloneTrade(t ctc.Trade) ctc.Trade {
	t.Exchange, t.Symbol = strings.Clone(t.Exchange), strings.Clone(t.Symbol)
	return t
}

// diffRecords is cmp.Diff for records, comparing Data with bytes.Equal: cmp walks a slice
// element by element, which a replay line of megabytes makes slow.
func diffRecords(want, got []srcRecord) string {
	if len(want) == 0 && len(got) == 0 {
		return ""
	}
	return cmp.Diff(want, got, cmp.Comparer(bytes.Equal))
}

func (r srcRecord) String() string {
	switch {
	case r.Err != "":
		return fmt.Sprintf("%v: error %q, data %.80q", r.Position, r.Err, r.Data)
	case r.Decoded:
		return fmt.Sprintf("%v: %s %s %v@%v %v at %s", r.Position, r.Trade.Exchange, r.Trade.Symbol, r.Trade.Quantity,
			r.Trade.Price, r.Trade.Side, r.Trade.Timestamp.UTC().Format(ctc.TimeLayout))
	}
	return fmt.Sprintf("%v: data %.80q", r.Position, r.Data)
}

// next calls src.Next with a deadline of wait, on another goroutine so that a source that ignores
// its context fails the subtest instead of hanging it. It reports how long the call took.
func next(c *sourceCheck, ctx context.Context, src ctc.Source, rec *ctc.Record, wait time.Duration) (time.Duration, error) {
	c.Helper()
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	start := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- src.Next(ctx, rec) }()
	select {
	case err := <-errc:
		return time.Since(start), err
	case <-time.After(wait + promptly):
		c.Fatalf("Next did not return within %v of its context's deadline (%v): it must watch its context", promptly, wait)
		return 0, nil
	}
}

// checkRecord reports what makes rec no record at all, or one that claims the checker's fields.
func checkRecord(c *sourceCheck, i int, rec *ctc.Record) {
	c.Helper()
	switch {
	case rec.Decoded && rec.Err != nil:
		c.Errorf("record %d is Decoded and has Err %q: a record is a decoded trade or bytes that failed, not both", i, rec.Err)
	case rec.Decoded && rec.Trade == (ctc.Trade{}):
		c.Errorf("record %d is Decoded but its Trade is the zero value", i)
	case rec.Err != nil && len(rec.Data) == 0:
		c.Errorf("record %d has Err %q but no Data: the dead letter needs the bytes that could not be decoded", i, rec.Err)
	case !rec.Decoded && rec.Err == nil && len(rec.Data) == 0:
		c.Errorf("record %d is empty: no decoded trade, no data, no error", i)
	}
	if rec.Checked || rec.Verdict != (ctc.Verdict{}) {
		c.Errorf("record %d has Checked %v and Verdict %+v: those are the checker's, a source leaves them zero", i, rec.Checked, rec.Verdict)
	}
}

// readMode says how read hands records to the source, and what it checks of them.
type readMode int

const (
	// freshRecords reads into a zero ctc.Record every time.
	freshRecords readMode = iota
	// checkedRecords is freshRecords, checking every record (checkRecord), that Data stays as it
	// was until the next call, and that no record changes when later ones are read.
	checkedRecords
	// reusedRecord reads into one record filled with another record's values before every call,
	// and checks that nothing of them is left.
	reusedRecord
)

// read reads src to its end (a bounded source) or its Records records (a Live one).
func (s *sourceSuite) read(c *sourceCheck, src ctc.Source, mode readMode) []srcRecord {
	c.Helper()
	var (
		got   []srcRecord
		kept  []ctc.Trade // as Next left them, strings shared with the source
		errs  []error
		rec   ctc.Record
		junk  = make([]byte, 4096)
		fresh ctc.Record
	)
	for i := 0; ; i++ {
		if mode == checkedRecords && i > 0 && !bytes.Equal(rec.Data, got[i-1].Data) {
			c.Errorf("record %d's Data changed before the next call to Next: was %.80q, now %.80q", i-1, got[i-1].Data, rec.Data)
		}
		if s.f.Live && i == s.f.Records {
			break
		}
		if i == maxRecords {
			c.Fatalf("more than %d records: a bounded source must end with ctc.ErrEndOfInput (declare Live for one that does not)", maxRecords)
		}
		if mode == reusedRecord {
			scribbleRecord(&rec, junk)
		} else {
			rec = fresh
		}
		_, err := next(c, c.t.Context(), src, &rec, sourceWait)
		if !s.f.Live && errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			c.Fatalf("Next after %d records: %v", i, err)
		}
		if mode == checkedRecords {
			checkRecord(c, i, &rec)
		}
		if mode == reusedRecord {
			if what := leftover(&rec); what != "" {
				c.Errorf("record %d keeps the %s the record held before Next: Next must fill every field", i, what)
			}
		}
		got = append(got, keep(&rec))
		kept = append(kept, rec.Trade)
		errs = append(errs, rec.Err)
	}
	for i := range got {
		if mode != checkedRecords {
			break
		}
		if kept[i] != got[i].Trade {
			c.Errorf("record %d changed while later records were read: the source reuses what it handed over (-when read +now):\n%s",
				i, cmp.Diff(got[i].Trade, kept[i]))
			break
		}
		if errs[i] != nil && errs[i].Error() != got[i].Err {
			c.Errorf("record %d's error changed while later records were read: was %q, now %q", i, got[i].Err, errs[i].Error())
			break
		}
	}
	if !s.f.Live && s.f.Records > 0 && len(got) != s.f.Records {
		c.Errorf("%d records, want %d (SourceFeatures.Records)", len(got), s.f.Records)
	}
	if len(got) == 0 {
		c.Fatalf("the source yielded no record: give TestSource one with records")
	}
	return got
}

// The values scribbleRecord leaves in a record, which leftover recognises.
var (
	scribbleMark   = "scribbled by ctctest"
	scribbleBytes  = []byte("\x00scribbled-by-ctctest\x00")
	errScribbled   = errors.New(scribbleMark)
	scribbledTrade = ctc.Trade{Exchange: scribbleMark, Symbol: scribbleMark, Price: -1, Quantity: -1, QuoteVolume: -1,
		Side: ctc.Sell, Timestamp: time.Unix(1, 0), IngestionTimestamp: time.Unix(2, 0)}
)

// scribbleRecord fills rec as a pipeline's reused record may be filled before Next: another
// record's trade, error, position and verdict, and Data in storage of the caller's with room to
// grow.
func scribbleRecord(rec *ctc.Record, junk []byte) {
	for i := range junk {
		junk[i] = scribbleBytes[i%len(scribbleBytes)]
	}
	*rec = ctc.Record{
		Data: junk[:4*len(scribbleBytes)], Decoded: true, Trade: scribbledTrade, Err: errScribbled,
		Position: ctc.Position{Partition: scribbleMark, Offset: 1 << 40}, Checked: true,
		Verdict: ctc.Verdict{Status: ctc.Duplicate, Reason: ctc.Invalid, Detail: scribbleMark, Late: true, Warning: true},
	}
}

// leftover names what of scribbleRecord's values rec still holds.
func leftover(rec *ctc.Record) string {
	switch {
	case rec.Trade.Exchange == scribbleMark || rec.Trade.Symbol == scribbleMark:
		return "trade"
	case errors.Is(rec.Err, errScribbled):
		return "error"
	case rec.Position.Partition == scribbleMark:
		return "position"
	case bytes.Contains(rec.Data, scribbleBytes):
		return "data"
	}
	return ""
}

func (s *sourceSuite) records(c *sourceCheck) {
	s.read(c, s.openSource(c), checkedRecords)
}

func (s *sourceSuite) reusedRecord(c *sourceCheck) {
	got := s.read(c, s.openSource(c), reusedRecord)
	s.compare(c, "read into one reused record", s.read(c, s.openSource(c), freshRecords), got)
}

// compare reports how got differs from want: record by record for a deterministic source, in
// number for a Nondeterministic one.
func (s *sourceSuite) compare(c *sourceCheck, what string, want, got []srcRecord) {
	c.Helper()
	if s.f.Nondeterministic {
		if len(got) != len(want) {
			c.Errorf("%s: %d records, want %d", what, len(got), len(want))
		}
		return
	}
	if diff := diffRecords(want, got); diff != "" {
		c.Errorf("%s: the records differ from a plain read (-plain +%s):\n%s", what, what, diff)
	}
}

func (s *sourceSuite) end(c *sourceCheck) {
	src := s.openSource(c)
	s.read(c, src, freshRecords)
	var rec ctc.Record
	if s.f.Live {
		const wait = 200 * time.Millisecond
		took, err := next(c, c.t.Context(), src, &rec, wait)
		switch {
		case err == nil:
			c.Errorf("Next returned a record beyond the %d declared (SourceFeatures.Records): %v", s.f.Records, keep(&rec))
		case !errors.Is(err, context.DeadlineExceeded):
			c.Errorf("Next on a quiet live source returned %v when its context's deadline passed, want an error wrapping context.DeadlineExceeded", err)
		case took > wait+promptly:
			c.Errorf("Next returned %v after its context's deadline, want promptly", took-wait)
		}
		return
	}
	for i := range 3 {
		if _, err := next(c, c.t.Context(), src, &rec, sourceWait); !errors.Is(err, ctc.ErrEndOfInput) {
			c.Errorf("Next %d after the end of input returned %v, want ctc.ErrEndOfInput again", i+1, err)
			if err == nil {
				c.Errorf("the record after the end: %v", keep(&rec))
			}
			return
		}
	}
}

// cancelled returns a context that has ended: cancelled, or past its deadline.
func cancelled(parent context.Context, deadline bool) context.Context {
	if deadline {
		ctx, cancel := context.WithDeadline(parent, time.Now().Add(-time.Second))
		_ = cancel // the deadline has passed: the context is done already
		return ctx
	}
	ctx, cancel := context.WithCancel(parent)
	cancel()
	return ctx
}

func (s *sourceSuite) cancelledContext(c *sourceCheck) {
	if s.f.Live {
		s.cancelledLive(c)
		return
	}
	want := s.read(c, s.openSource(c), freshRecords)
	src := s.openSource(c)
	var got []srcRecord
	var rec ctc.Record
	ended := false
	for i := 0; !ended; i++ {
		if i == maxRecords {
			c.Fatalf("more than %d records", maxRecords)
		}
		// Before every other record, a call with a context that has ended.
		if i%2 == 0 {
			ctx := cancelled(c.t.Context(), i%4 == 2)
			rec = ctc.Record{}
			took, err := next(c, ctx, src, &rec, sourceWait)
			if took > promptly {
				c.Errorf("Next with a context that had ended took %v, want it to return promptly", took)
			}
			switch {
			case err == nil: // a record that was ready: as good as any
				got = append(got, keep(&rec))
				continue
			case errors.Is(err, ctc.ErrEndOfInput):
				ended = true
				continue
			case !errors.Is(err, ctx.Err()):
				c.Fatalf("Next with a context that had ended (%v) returned %v, want an error wrapping the context's error", ctx.Err(), err)
			}
		}
		rec = ctc.Record{}
		_, err := next(c, c.t.Context(), src, &rec, sourceWait)
		if errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			c.Fatalf("Next after a call with a context that had ended, %d records in: %v", len(got), err)
		}
		got = append(got, keep(&rec))
	}
	if ended {
		// A call with an ended context saw the end of input: so must the next one.
		if _, err := next(c, c.t.Context(), src, &rec, sourceWait); !errors.Is(err, ctc.ErrEndOfInput) {
			c.Errorf("Next after the end of input (seen by a call with an ended context) returned %v, want ctc.ErrEndOfInput", err)
		}
	}
	s.compare(c, "read with calls whose context had ended", want, got)
}

func (s *sourceSuite) cancelledLive(c *sourceCheck) {
	src := s.openSource(c)
	s.read(c, src, freshRecords)
	var rec ctc.Record
	for _, deadline := range []bool{false, true} {
		ctx := cancelled(c.t.Context(), deadline)
		took, err := next(c, ctx, src, &rec, sourceWait)
		switch {
		case err == nil:
			c.Errorf("Next returned a record beyond the %d declared (SourceFeatures.Records): %v", s.f.Records, keep(&rec))
		case !errors.Is(err, ctx.Err()):
			c.Errorf("Next with a context that had ended (%v) returned %v, want an error wrapping the context's error", ctx.Err(), err)
		case took > promptly:
			c.Errorf("Next with a context that had ended took %v, want it to return promptly", took)
		}
	}
	// Cancelled while it waits.
	ctx, cancel := context.WithCancel(c.t.Context())
	const after = 100 * time.Millisecond
	stop := time.AfterFunc(after, cancel)
	defer stop.Stop()
	took, err := next(c, ctx, src, &rec, sourceWait)
	switch {
	case err == nil:
		c.Errorf("Next returned a record beyond the %d declared (SourceFeatures.Records): %v", s.f.Records, keep(&rec))
	case !errors.Is(err, context.Canceled):
		c.Errorf("Next whose context was cancelled while it waited returned %v, want an error wrapping context.Canceled", err)
	case took > after+promptly:
		c.Errorf("Next returned %v after its context was cancelled, want promptly", took-after)
	}
}

func (s *sourceSuite) close(c *sourceCheck) {
	src := s.openSource(c)
	if _, ok := src.(ctc.Closer); !ok {
		c.Skipf("%T does not implement ctc.Closer", src)
	}
	all := len(s.read(c, s.openSource(c), freshRecords))
	for _, at := range []struct {
		what string
		n    int // records read before Close
	}{{"before the first Next", 0}, {"midway", all / 2}, {"at the end", all}} {
		if at.what != "before the first Next" {
			src = s.openSource(c)
		}
		if !s.closeAfter(c, src, at.what, at.n, at.n == all) {
			return
		}
	}
}

// closeAfter reads n records of src (and, atEnd, the end of input), closes it and checks what
// Next and Close do afterwards. It reports whether src passed, so that a failing source is not
// waited on again.
func (s *sourceSuite) closeAfter(c *sourceCheck, src ctc.Source, what string, n int, atEnd bool) bool {
	c.Helper()
	cl := src.(ctc.Closer)
	var rec ctc.Record
	for i := range n {
		rec = ctc.Record{}
		if _, err := next(c, c.t.Context(), src, &rec, sourceWait); err != nil {
			c.Fatalf("Next after %d records: %v", i, err)
		}
	}
	if atEnd && !s.f.Live {
		if _, err := next(c, c.t.Context(), src, &rec, sourceWait); !errors.Is(err, ctc.ErrEndOfInput) {
			c.Fatalf("Next after the last record returned %v, want ctc.ErrEndOfInput", err)
		}
	}
	ctx, cancel := context.WithTimeout(c.t.Context(), sourceWait)
	defer cancel()
	if err := cl.Close(ctx); err != nil {
		c.Errorf("Close %s: %v", what, err)
		return false
	}
	for i := range 3 {
		rec = ctc.Record{}
		took, err := next(c, c.t.Context(), src, &rec, promptly)
		switch {
		case err == nil:
			c.Errorf("Next %d after Close %s returned a record, want an error wrapping ctc.ErrClosed: %v", i+1, what, keep(&rec))
			return false
		case errors.Is(err, context.DeadlineExceeded) && took >= promptly:
			c.Errorf("Next %d after Close %s blocked until its context's deadline (%v), want an error wrapping ctc.ErrClosed at once", i+1, what, promptly)
			return false
		case !errors.Is(err, ctc.ErrClosed):
			c.Errorf("Next %d after Close %s returned %v, want an error wrapping ctc.ErrClosed", i+1, what, err)
			return false
		}
	}
	if err := cl.Close(ctx); err != nil {
		c.Errorf("second Close %s returned %v, want nil: Close is idempotent", what, err)
		return false
	}
	return true
}

func (s *sourceSuite) positions(c *sourceCheck) {
	recs := s.read(c, s.openSource(c), freshRecords)
	last := map[string]int64{}
	bad := 0
	for i, r := range recs {
		var msg string
		switch prev, seen := last[r.Position.Partition]; {
		case r.Position.Partition == "":
			msg = "has no Partition"
		case r.Position.Offset < 1:
			msg = "has an Offset below 1: offsets count records from 1"
		case seen && r.Position.Offset <= prev:
			msg = fmt.Sprintf("does not come after the previous record of its partition (offset %d): offsets name one record each and increase", prev)
		}
		last[r.Position.Partition] = r.Position.Offset
		if msg == "" {
			continue
		}
		c.Errorf("record %d (%v) %s", i, r, msg)
		if bad++; bad == 5 {
			c.Fatalf("giving up after %d bad positions", bad)
		}
	}
}

func (s *sourceSuite) determinism(c *sourceCheck) {
	if s.f.Nondeterministic {
		c.Skipf("the source is declared Nondeterministic")
	}
	first := s.read(c, s.openSource(c), freshRecords)
	again := s.read(c, s.openSource(c), freshRecords)
	if diff := diffRecords(first, again); diff != "" {
		c.Errorf("two sources opened alike yield different records (-first +second):\n%s", diff)
	}
}

func (s *sourceSuite) bulk(c *sourceCheck) {
	src := s.openSource(c)
	if b, ok := src.(ctc.BulkSource); !ok || !b.Bulk() {
		c.Skipf("%T is not a ctc.BulkSource reporting Bulk() == true", src)
	}
	want := s.read(c, s.openSource(c), freshRecords)

	// As Pipeline.runAhead does: a goroutine reads chunks of records, each record with its own
	// storage, the records of a chunk kept while the next ones are read.
	type chunk struct {
		recs []ctc.Record
		data [][]byte // copied at once: Data is valid only until the next Next
		err  error
		slow time.Duration
	}
	chunks := make(chan *chunk, 4)
	ctx, cancel := context.WithCancel(c.t.Context())
	done := make(chan struct{})
	// The reader has ended before the subtest's cleanups close the source.
	defer func() { cancel(); <-done }()
	go func() {
		defer close(done)
		defer close(chunks)
		for n := 0; n <= maxRecords; {
			ch := &chunk{recs: make([]ctc.Record, 7)}
			for i := range ch.recs {
				start := time.Now()
				ch.err = src.Next(ctx, &ch.recs[i])
				ch.slow = max(ch.slow, time.Since(start))
				if ch.err != nil {
					ch.recs = ch.recs[:i]
					break
				}
				ch.data = append(ch.data, bytes.Clone(ch.recs[i].Data))
				n++
			}
			select {
			case chunks <- ch:
			case <-ctx.Done():
				return
			}
			if ch.err != nil {
				return
			}
		}
	}()
	var got []srcRecord
	timer := time.NewTimer(sourceWait)
	defer timer.Stop()
	for {
		var ch *chunk
		select {
		case ch = <-chunks:
		case <-timer.C:
			c.Fatalf("reading ahead: no chunk within %v", sourceWait)
		}
		if ch == nil {
			c.Fatalf("reading ahead: more than %d records", maxRecords)
		}
		if ch.slow > promptly {
			c.Errorf("a Next took %v: a source reporting Bulk() must never wait", ch.slow)
		}
		for i := range ch.recs {
			r := ch.recs[i]
			r.Data = nil // may point into a buffer the reader is filling again
			k := keep(&r)
			k.Data = ch.data[i]
			if len(k.Data) == 0 {
				k.Data = nil
			}
			got = append(got, k)
		}
		if ch.err != nil {
			if !errors.Is(ch.err, ctc.ErrEndOfInput) {
				c.Fatalf("reading ahead, Next after %d records: %v", len(got), ch.err)
			}
			break
		}
		timer.Reset(sourceWait)
	}
	s.compare(c, "read ahead in chunks", want, got)
}

func (s *sourceSuite) seek(c *sourceCheck) {
	src := s.openSource(c)
	if _, ok := src.(ctc.Seeker); !ok {
		c.Skipf("%T does not implement ctc.Seeker", src)
	}
	if s.f.Nondeterministic {
		c.Skipf("the source is declared Nondeterministic: what comes after a position cannot be known")
	}
	all := s.read(c, s.openSource(c), freshRecords)
	cuts := []int{-1, 0, len(all) / 2, len(all) - 1} // -1: the zero Position, before every record
	for j, k := range cuts {
		if j > 0 {
			src = s.openSource(c)
		}
		var after ctc.Position
		if k >= 0 {
			after = all[k].Position
		}
		if err := src.(ctc.Seeker).Seek(c.t.Context(), after); err != nil {
			c.Errorf("Seek(%v): %v", after, err)
			continue
		}
		var got []srcRecord
		for !s.f.Live || len(got) < len(all)-(k+1) {
			var rec ctc.Record
			_, err := next(c, c.t.Context(), src, &rec, sourceWait)
			if errors.Is(err, ctc.ErrEndOfInput) {
				break
			}
			if err != nil {
				c.Fatalf("after Seek(%v), Next after %d records: %v", after, len(got), err)
			}
			got = append(got, keep(&rec))
			if len(got) > len(all) {
				break
			}
		}
		if diff := diffRecords(all[k+1:], got); diff != "" {
			c.Errorf("after Seek(%v) the records are not those after record %d (-want +got):\n%s", after, k, diff)
		}
	}
}
