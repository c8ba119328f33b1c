package ctc_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coattailcapital/ctc"
)

// sliceSource hands out records, then ends (or, with block, waits for its context).
type sliceSource struct {
	recs  []ctc.Record
	i     int
	block bool
}

func (s *sliceSource) Next(ctx context.Context, rec *ctc.Record) error {
	if s.i == len(s.recs) {
		if s.block {
			<-ctx.Done()
			return ctx.Err()
		}
		return ctc.ErrEndOfInput
	}
	*rec = s.recs[s.i]
	s.i++
	return nil
}

// acceptDecoded passes decoded trades, fails the rest, and drops repeated ids.
type acceptDecoded struct{ seen map[[16]byte]bool }

func (c *acceptDecoded) Check(rec *ctc.Record, t *ctc.Trade) ctc.Verdict {
	if !rec.Decoded {
		return ctc.Verdict{Status: ctc.Fail, Reason: ctc.Malformed, Detail: "not decoded"}
	}
	if c.seen == nil {
		c.seen = map[[16]byte]bool{}
	}
	if c.seen[t.EventID] {
		return ctc.Verdict{Status: ctc.Duplicate}
	}
	c.seen[t.EventID] = true
	return ctc.Verdict{}
}

// recorder alerts on every trade over 1,000 of quote volume, leaving id and TTL to the pipeline,
// and remembers the event times it was advanced to.
type recorder struct {
	mu       sync.Mutex
	advances []time.Time
	observed int
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Observe(t *ctc.Trade, out *ctc.Output) {
	r.mu.Lock()
	r.observed++
	r.mu.Unlock()
	if t.QuoteVolume > 1000 {
		out.Alerts = append(out.Alerts, ctc.Alert{AlertType: "big", Symbol: t.Symbol, Exchange: t.Exchange,
			Severity: ctc.Low, WindowStart: t.Timestamp})
	}
}

func (r *recorder) Advance(t time.Time, out *ctc.Output) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advances = append(r.advances, t)
}

// collect is a sink that keeps copies of everything, and can fail.
type collect struct {
	mu      sync.Mutex
	trades  []ctc.Trade
	alerts  []ctc.Alert
	dead    []ctc.DeadLetter
	flushes int
	fail    error
}

func (c *collect) Write(ctx context.Context, b *ctc.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.trades = append(c.trades, b.Trades...)
	c.alerts = append(c.alerts, b.Output.Alerts...)
	for _, d := range b.DeadLetters {
		d.Data = append([]byte(nil), d.Data...)
		c.dead = append(c.dead, d)
	}
	return nil
}

func (c *collect) Flush(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushes++
	return nil
}

var t0 = time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)

func rec(id int64, at time.Duration, qty float64) ctc.Record {
	return ctc.Record{Decoded: true, Position: ctc.Position{Partition: "p", Offset: id}, Trade: ctc.Trade{
		EventID: ctc.NewEventIDInt("binance", "BTC-USDT", id), Exchange: "binance", Symbol: "BTC-USDT",
		Price: 100, Quantity: qty, QuoteVolume: 100 * qty, Side: ctc.Buy, Timestamp: t0.Add(at)}}
}

func TestPipelineBounded(t *testing.T) {
	t.Parallel()
	src := &sliceSource{recs: []ctc.Record{
		rec(1, 0, 1), rec(2, time.Second, 20), rec(2, time.Second, 20), // a duplicate
		{Data: []byte(`{"broken`), Position: ctc.Position{Partition: "p", Offset: 4}},
		rec(5, 2*time.Second, 1),
	}}
	det, sink := &recorder{}, &collect{}
	p, err := ctc.NewPipeline(src, ctc.WithChecker(&acceptDecoded{}), ctc.WithDetectors(det),
		ctc.WithSinks(sink), ctc.WithBatchSize(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	st := p.Stats()
	if st.Records != 5 || st.Trades != 3 || st.Duplicates != 1 || st.DeadLetters != 1 || st.Alerts != 1 || st.Flushes != 1 {
		t.Fatalf("stats %+v", st)
	}
	if len(sink.trades) != 3 || len(sink.dead) != 1 || len(sink.alerts) != 1 || sink.flushes != 1 {
		t.Fatalf("sink got %d trades, %d dead letters, %d alerts, %d flushes", len(sink.trades), len(sink.dead), len(sink.alerts), sink.flushes)
	}
	if d := sink.dead[0]; string(d.Data) != `{"broken` || d.Reason != ctc.Malformed || d.Position.Offset != 4 {
		t.Fatalf("dead letter %+v", d)
	}
	a := sink.alerts[0]
	want := ctc.NewAlertID("big", "binance", "BTC-USDT", ctc.WindowKey(t0.Add(time.Second)))
	if a.AlertID != want || !a.DetectedAt.Equal(t0.Add(time.Second)) || !a.EmittedAt.Equal(a.DetectedAt) ||
		a.TTLEpoch != t0.Add(time.Second+24*time.Hour).Unix() {
		t.Fatalf("the pipeline did not complete the alert: %+v", a)
	}
	if len(det.advances) != 1 || !det.advances[0].Equal(ctc.EndOfTime) {
		t.Fatalf("want one advance to the end of time, got %v", det.advances)
	}
}

func TestPipelineSinkErrorStopsRun(t *testing.T) {
	t.Parallel()
	boom := errors.New("disk full")
	p, _ := ctc.NewPipeline(&sliceSource{recs: []ctc.Record{rec(1, 0, 1)}}, ctc.WithChecker(&acceptDecoded{}),
		ctc.WithSinks(&collect{fail: boom}))
	if err := p.Run(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("want the sink's error, got %v", err)
	}
}

func TestNewPipelineErrors(t *testing.T) {
	t.Parallel()
	src := &sliceSource{}
	for _, c := range []struct {
		opts []ctc.PipelineOption
		want string
	}{
		{nil, "quality checker"},
		{[]ctc.PipelineOption{ctc.WithChecker(&acceptDecoded{}), ctc.WithBatchSize(0)}, "batch size"},
		{[]ctc.PipelineOption{ctc.WithChecker(&acceptDecoded{}), ctc.WithIdleTimeout(time.Second)}, "clock"},
		{[]ctc.PipelineOption{ctc.WithChecker(&acceptDecoded{}), ctc.WithDetectors(&recorder{}, &recorder{})}, "two detectors"},
	} {
		if _, err := ctc.NewPipeline(src, c.opts...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error about %q, got %v", c.want, err)
		}
	}
}

// A live source that goes quiet must not freeze event time: after the idle timeout the detectors
// are advanced with the clock. synctest gives the test a fake clock that moves only when every
// goroutine is blocked.
func TestPipelineLiveIdleAdvance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &sliceSource{recs: []ctc.Record{rec(1, 0, 1), rec(2, time.Second, 20)}, block: true}
		det, sink, obs := &recorder{}, &collect{}, &observer{}
		p, err := ctc.NewPipeline(src, ctc.WithChecker(&acceptDecoded{}), ctc.WithDetectors(det), ctc.WithSinks(sink),
			ctc.WithClock(time.Now), ctc.WithIdleTimeout(4*time.Second), ctc.WithFlushInterval(time.Minute),
			ctc.WithObserver(obs))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		start := time.Now()
		go func() { errc <- p.Run(ctx) }()

		time.Sleep(3 * time.Second)
		synctest.Wait()
		det.mu.Lock()
		if n := len(det.advances); n != 0 {
			t.Errorf("advanced before the idle timeout: %v", det.advances)
		}
		det.mu.Unlock()
		sink.mu.Lock()
		if len(sink.alerts) != 1 || !sink.alerts[0].EmittedAt.Equal(start) {
			t.Errorf("a live pipeline writes alerts as soon as its source is quiet, stamped with the clock: %+v", sink.alerts)
		}
		sink.mu.Unlock()

		time.Sleep(5 * time.Second)
		synctest.Wait()
		det.mu.Lock()
		if len(det.advances) == 0 {
			t.Fatal("no idle advance after 8 s of silence with a 4 s timeout")
		}
		last := det.advances[len(det.advances)-1]
		// Event time estimate: the newest trade (t0+1s) plus the time since it arrived.
		if want := t0.Add(time.Second + 8*time.Second); !last.Equal(want) {
			t.Errorf("idle advance to %v, want %v", last, want)
		}
		det.mu.Unlock()

		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run after cancel: %v", err)
		}
		if sink.flushes != 1 {
			t.Fatalf("want a final flush on shutdown, got %d", sink.flushes)
		}
		if obs.calls["ctc_test.collect write"] == 0 || obs.calls["ctc_test.collect flush"] != 1 {
			t.Fatalf("observer saw %v", obs.calls)
		}
	})
}

type observer struct {
	mu    sync.Mutex
	calls map[string]int
}

func (o *observer) SinkCall(sink, op string, d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.calls == nil {
		o.calls = map[string]int{}
	}
	o.calls[sink+" "+op]++
}
