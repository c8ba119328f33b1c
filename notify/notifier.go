package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/internal/backoff"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// Notifier is a ctc.Sink that delivers each alert the pipeline writes to the destinations its
// rules name, from one worker goroutine per destination. Write only queues: it never waits on the
// network or the disk.
type Notifier struct {
	workers []*worker
	rules   []compiledRule
	del     Delivery
	logger  *slog.Logger
	red     *redactor
	dlog    *deliveryLog
	dead    *deadLetterWriter
	now     func() time.Time
	rnd     func(int64) int64
	rev     func(*ctc.Alert) uint32
	groups  *grouping // nil: every alert is delivered as it comes

	// stop ends the workers' waits and attempts; Close calls it once the queues drained or its
	// context ended.
	stopCtx context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mu          sync.Mutex // guards what follows; Write holds it throughout
	closed      bool
	outstanding int           // notifications queued, in flight, or dead-lettered but not yet written
	idle        chan struct{} // closed when outstanding falls to 0
	marks       []bool        // Write's scratch: which destinations an alert goes to
}

var (
	_ ctc.Sink        = (*Notifier)(nil)
	_ ctc.Flusher     = (*Notifier)(nil)
	_ ctc.Committer   = (*Notifier)(nil)
	_ ctc.Resumer     = (*Notifier)(nil)
	_ ctc.Closer      = (*Notifier)(nil)
	_ ctc.TradeReader = (*Notifier)(nil)
)

type compiledRule struct {
	Rule
	to []int // indexes into workers
}

// Option configures a Notifier.
type Option func(*options)

type options struct {
	logger *slog.Logger
	client *http.Client
	dests  []Destination
	now    func() time.Time
	rnd    func(int64) int64
	rev    func(*ctc.Alert) uint32
}

// WithLogger logs retries, dead letters and delivery-log failures to l, secrets redacted. The
// default logs nothing.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHTTPClient makes the built-in destinations use c. The default client follows no redirects;
// a client given here should not either, or a signed alert may go wherever a Location points.
// Each attempt is bounded by Delivery.Timeout whatever the client's own timeout.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithDestination adds a destination of the program's own, which rules name by d.Name(). Its
// Send must return when its context ends.
func WithDestination(d Destination) Option { return func(o *options) { o.dests = append(o.dests, d) } }

// WithClock sets the wall clock that signatures, ages and the logs read (default time.Now).
// Waits between attempts still take real time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRandom sets the jitter's random source: a uniform int64 in [0, k] (default math/rand/v2).
func WithRandom(rnd func(k int64) int64) Option { return func(o *options) { o.rnd = rnd } }

// WithRevision replaces Revision, the default way of telling versions of one alert apart.
func WithRevision(rev func(*ctc.Alert) uint32) Option { return func(o *options) { o.rev = rev } }

// New returns a Notifier for cfg, with its workers running. It opens the delivery log and the
// dead-letter file the config names; Close closes them. cfg's secrets must be resolved
// (LoadConfig does it).
func New(cfg *Config, opts ...Option) (*Notifier, error) {
	o := options{now: time.Now, rnd: backoff.Uniform, rev: Revision}
	for _, f := range opts {
		f(&o)
	}
	if o.client == nil {
		o.client = newHTTPClient()
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	var errs []error
	if err := cfg.Delivery.Validate(); err != nil {
		errs = append(errs, err)
	}
	n := &Notifier{del: cfg.Delivery.withDefaults(), logger: o.logger, now: o.now, rnd: o.rnd, rev: o.rev}
	n.red = newRedactor(cfg.secrets())
	byName := map[string]int{}
	add := func(d Destination) {
		if _, dup := byName[d.Name()]; dup || d.Name() == "" {
			errs = append(errs, fmt.Errorf("destination %q is named twice, or has no name", d.Name()))
			return
		}
		byName[d.Name()] = len(n.workers)
		n.workers = append(n.workers, &worker{n: n, d: d, name: d.Name(), q: make([]*item, n.del.Queue),
			pending: map[pendKey]int{}, wake: make(chan struct{}, 1)})
	}
	for _, dc := range cfg.Destinations {
		if err := dc.validate(); err != nil {
			errs = append(errs, fmt.Errorf("destination %q: %w", dc.Name, err))
			continue
		}
		add(dc.build(poster{name: dc.Name, client: o.client, now: o.now}))
	}
	for _, d := range o.dests {
		add(d)
	}
	for i, r := range cfg.Rules {
		cr := compiledRule{Rule: r}
		if len(r.To) == 0 {
			errs = append(errs, fmt.Errorf("rule %d sends nowhere", i))
		}
		for _, name := range r.To {
			w, ok := byName[name]
			if !ok {
				errs = append(errs, fmt.Errorf("rule %d sends to %q, which is not a destination (have %s)", i, name, strings.Join(slices.Sorted(maps.Keys(byName)), ", ")))
				continue
			}
			cr.to = append(cr.to, w)
		}
		n.rules = append(n.rules, cr)
	}
	if !cfg.Incidents.Off {
		g, err := newGrouping(&cfg.Incidents, n.del.LogPath)
		if err != nil {
			errs = append(errs, err)
		}
		n.groups = g
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("notify: %s", n.red.Error(err))
	}
	n.marks = make([]bool, len(n.workers))

	var err error
	logErr := func(err error) {
		n.logger.Error("notify: delivery log not durable: a machine crash may send alerts again", "error", n.red.Error(err))
	}
	if n.dlog, err = openDeliveryLog(n.del.LogPath, logErr); err != nil {
		return nil, err
	}
	if n.dead, err = openDeadLetters(n.del.DeadLetterPath); err != nil {
		n.dlog.close()
		return nil, err
	}
	n.stopCtx, n.stop = context.WithCancel(context.Background())
	n.wg.Add(len(n.workers))
	for _, w := range n.workers {
		go w.run()
	}
	n.dead.done = make(chan struct{})
	go n.writeDeadLetters()
	return n, nil
}

// build makes the destination d describes.
func (d *DestinationConfig) build(p poster) Destination {
	switch d.Kind {
	case KindWebhook:
		return &webhook{poster: p, url: d.URL.Value(), secret: d.Secret}
	case KindSlack:
		return &slack{poster: p, url: d.URL}
	case KindDiscord:
		return &discord{poster: p, url: d.URL}
	}
	api := d.APIURL
	if api == "" {
		api = DefaultTelegramAPI
	}
	return &telegram{poster: p, api: api, token: d.Token, chatID: d.ChatID, parseMode: d.ParseMode}
}

// Open is LoadConfig then New.
func Open(path string, opts ...Option) (*Notifier, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	return New(cfg, opts...)
}

// Write queues each alert of the batch for every destination its rules name, unless the delivery
// log or the queue already holds it (a revision of it at least as high). It never blocks on a
// destination: a full queue drops its oldest alert to the dead letters. It returns an error only
// after Close, or when ctx is already done (and then queues nothing).
func (n *Notifier) Write(ctx context.Context, b *ctc.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return fmt.Errorf("notify: write: %w", ctc.ErrClosed)
	}
	now := n.now()
	if n.groups != nil {
		revs := n.groups.observe(b)
		for i := range revs {
			if r := &revs[i]; n.groups.deliver[r.Status] {
				a := r.Alert()
				n.route(&a, r.Revision, r, now)
			}
		}
		return nil
	}
	for i := range b.Output.Alerts {
		a := &b.Output.Alerts[i]
		n.route(a, n.rev(a), nil, now)
	}
	return nil
}

// route queues a for every destination the rules send it to. n.mu is held.
func (n *Notifier) route(a *ctc.Alert, rev uint32, in *incident.Incident, now time.Time) {
	routed := false
	for _, r := range n.rules {
		if r.Matches(a) {
			for _, w := range r.to {
				n.marks[w] = true
				routed = true
			}
		}
	}
	if !routed {
		return
	}
	for w, marked := range n.marks {
		if marked {
			n.marks[w] = false
			// The alert is copied: its strings are immutable, and the batch is reused.
			if n.workers[w].enqueue(a, rev, in, now) {
				n.addOutstanding(1)
			}
		}
	}
}

// addOutstanding adds d to the count Flush waits on. n.mu must be held.
func (n *Notifier) addOutstanding(d int) {
	if n.outstanding == 0 && d > 0 {
		n.idle = make(chan struct{})
	}
	n.outstanding += d
	if n.outstanding == 0 && d < 0 {
		close(n.idle)
	}
}

func (n *Notifier) done() {
	n.mu.Lock()
	n.addOutstanding(-1)
	n.mu.Unlock()
}

// Flush waits until every alert written so far has been delivered or dead-lettered (and the dead
// letters written), or until ctx ends, or — when Delivery.FlushTimeout is set — until that much
// time has passed, in which case it logs how many alerts are still queued and returns nil.
//
// The pipeline calls Flush at every checkpoint, so a destination that is down holds the pipeline
// until its alerts are dead-lettered (Delivery.MaxAge at most) unless FlushTimeout is set: that
// wait is what makes delivery at-least-once across a crash.
func (n *Notifier) Flush(ctx context.Context) error {
	n.mu.Lock()
	closed := n.closed
	n.mu.Unlock()
	if closed {
		return fmt.Errorf("notify: flush: %w", ctc.ErrClosed)
	}
	if d := time.Duration(n.del.FlushTimeout); d > 0 {
		fctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		err := n.waitIdle(fctx)
		if err != nil && ctx.Err() == nil {
			n.logger.Warn("notify: flush timeout passed with alerts still queued; a crash now would lose them",
				"queued", n.Outstanding(), "flush_timeout", d)
			return nil
		}
		return err
	}
	return n.waitIdle(ctx)
}

// waitIdle waits until nothing is outstanding, then makes the delivery log durable.
func (n *Notifier) waitIdle(ctx context.Context) error {
	for {
		n.mu.Lock()
		if n.outstanding == 0 {
			n.mu.Unlock()
			return n.dlog.sync()
		}
		idle := n.idle
		n.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return fmt.Errorf("notify: %d alerts still queued: %w", n.Outstanding(), ctx.Err())
		}
	}
}

// Outstanding is the number of notifications not yet delivered or dead-lettered.
func (n *Notifier) Outstanding() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.outstanding
}

// Close stops taking alerts, waits (bounded by ctx) for the queues to drain, then stops the
// workers: what is still queued or in flight when ctx ends is dead-lettered with reason shutdown.
// It closes the delivery log and the dead-letter file. A second Close returns an error wrapping
// ctc.ErrClosed.
func (n *Notifier) Close(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return fmt.Errorf("notify: close: %w", ctc.ErrClosed)
	}
	n.closed = true
	n.mu.Unlock()

	drainErr := n.waitIdle(ctx)
	n.stop()
	n.wg.Wait()
	left := 0
	for _, w := range n.workers {
		left += w.abandon()
	}
	close(n.dead.stop)
	<-n.dead.done
	err := errors.Join(n.dlog.close(), n.dead.close())
	if drainErr != nil {
		err = errors.Join(fmt.Errorf("notify: closed before the queues drained: %d queued alerts, and any in flight, dead-lettered as %s: %w", left, ReasonShutdown, ctx.Err()), err)
	}
	return err
}

// ReadsTrades implements ctc.TradeReader: the notifier reads only alerts.
func (n *Notifier) ReadsTrades() bool { return false }

// Stats counts what happened to notifications, per destination.
type Stats struct {
	// Sent counts notifications the destination accepted.
	Sent int64
	// Retried counts attempts after the first.
	Retried int64
	// Dropped counts alerts pushed out of a full queue (each is dead-lettered too).
	Dropped int64
	// DeadLettered counts every dead letter, Dropped included.
	DeadLettered int64
	// Deduplicated counts alerts not sent because the delivery log or the queue already held
	// them (a revision of them at least as high).
	Deduplicated int64
	// Queued is how many wait now, the one in flight included.
	Queued int
}

// Stats returns the counters of every destination, by name.
func (n *Notifier) Stats() map[string]Stats {
	out := make(map[string]Stats, len(n.workers))
	for _, w := range n.workers {
		w.mu.Lock()
		s := w.stats
		s.Queued = w.len
		if w.inflight {
			s.Queued++
		}
		w.mu.Unlock()
		out[w.name] = s
	}
	return out
}

// Route returns the names of the destinations the rules send a to, in the order the config
// names them: what Write queues a on.
func (n *Notifier) Route(a *ctc.Alert) []string {
	marks := make([]bool, len(n.workers))
	for _, r := range n.rules {
		if r.Matches(a) {
			for _, w := range r.to {
				marks[w] = true
			}
		}
	}
	var out []string
	for w, m := range marks {
		if m {
			out = append(out, n.workers[w].name)
		}
	}
	return out
}

// String describes the notifier without its secrets.
func (n *Notifier) String() string {
	names := make([]string, len(n.workers))
	for i, w := range n.workers {
		names[i] = w.name
	}
	return fmt.Sprintf("notify.Notifier(%d rules to %v)", len(n.rules), names)
}

// item is one notification waiting or in flight.
type item struct {
	note   Notification
	queued time.Time
}

type pendKey struct {
	id  uuid.UUID
	rev uint32
}

// worker delivers to one destination, one notification at a time, in the order written.
type worker struct {
	n    *Notifier
	d    Destination
	name string
	wake chan struct{}

	mu       sync.Mutex // guards what follows
	q        []*item    // ring buffer of Delivery.Queue
	head     int
	len      int
	inflight bool
	pending  map[pendKey]int // queued or in flight, by (alert, revision)
	stats    Stats
}

// enqueue queues a for the destination and reports whether it did (rather than deduplicate it).
// n.mu is held.
func (w *worker) enqueue(a *ctc.Alert, rev uint32, in *incident.Incident, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	pk := pendKey{a.AlertID, rev}
	if w.pending[pk] > 0 || w.n.dlog.has(a.AlertID, w.name, rev) {
		w.stats.Deduplicated++
		return false
	}
	if w.len == len(w.q) {
		old := w.q[w.head]
		w.q[w.head] = nil
		w.head = (w.head + 1) % len(w.q)
		w.len--
		w.unpend(old)
		w.stats.Dropped++
		w.stats.DeadLettered++
		// Still outstanding until the dead-letter writer has written it.
		if !w.n.dead.push(w.deadLetter(old, ReasonQueueFull, 0, errors.New("queue full: dropped the oldest alert for a newer one"))) {
			w.n.addOutstanding(-1)
		}
	}
	note := Notification{Alert: *a, Revision: rev}
	if in != nil {
		c := *in
		note.Incident = &c
	}
	w.q[(w.head+w.len)%len(w.q)] = &item{note: note, queued: now}
	w.len++
	w.pending[pk]++
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

func (w *worker) unpend(it *item) {
	pk := pendKey{it.note.Alert.AlertID, it.note.Revision}
	if w.pending[pk]--; w.pending[pk] <= 0 {
		delete(w.pending, pk)
	}
}

// next takes the oldest queued notification, waiting for one; nil once the notifier stops.
func (w *worker) next() *item {
	for {
		w.mu.Lock()
		if w.len > 0 {
			it := w.q[w.head]
			w.q[w.head] = nil
			w.head = (w.head + 1) % len(w.q)
			w.len--
			w.inflight = true
			w.mu.Unlock()
			return it
		}
		w.mu.Unlock()
		select {
		case <-w.wake:
		case <-w.n.stopCtx.Done():
			return nil
		}
	}
}

func (w *worker) run() {
	defer w.n.wg.Done()
	for {
		it := w.next()
		if it == nil {
			return
		}
		w.deliver(it)
	}
}

// finish ends it's time in flight; with a dead letter, hands it to the writer (which then counts
// it done), otherwise counts it done.
func (w *worker) finish(it *item, dl *DeadLetter, f func(s *Stats)) {
	w.mu.Lock()
	w.unpend(it)
	w.inflight = false
	f(&w.stats)
	w.mu.Unlock()
	if dl != nil && w.n.dead.push(dl) {
		return
	}
	w.n.done()
}

func (w *worker) giveUp(it *item, reason string, attempts int, err error) {
	dl := w.deadLetter(it, reason, attempts, err)
	w.finish(it, dl, func(s *Stats) { s.DeadLettered++ })
}

func (w *worker) deadLetter(it *item, reason string, attempts int, err error) *DeadLetter {
	return &DeadLetter{AlertID: it.note.Alert.AlertID, Revision: it.note.Revision, Destination: w.name,
		Reason: reason, Attempts: attempts, Error: w.n.red.Error(err), At: w.n.now(), Alert: it.note.Alert}
}

// deliver tries it until it is delivered or given up on.
func (w *worker) deliver(it *item) {
	n := w.n
	note := &it.note
	if n.dlog.has(note.Alert.AlertID, w.name, note.Revision) {
		w.finish(it, nil, func(s *Stats) { s.Deduplicated++ })
		return
	}
	deadline := it.queued.Add(time.Duration(n.del.MaxAge))
	var lastErr error
	for attempt := 1; ; attempt++ {
		if !n.now().Before(deadline) {
			w.giveUp(it, ReasonExpired, attempt-1, lastErr)
			return
		}
		note.Attempt, note.At = attempt, n.now()
		ctx, cancel := context.WithTimeout(n.stopCtx, time.Duration(n.del.Timeout))
		err := w.d.Send(ctx, note)
		timedOut := ctx.Err() == context.DeadlineExceeded
		cancel()
		if err == nil {
			if lerr := n.dlog.record(note.Alert.AlertID, w.name, note.Revision, n.now()); lerr != nil {
				n.logger.Error("notify: delivered but not logged: a restart may send it again",
					"destination", w.name, "alert_id", note.Alert.AlertID, "error", n.red.Error(lerr))
			}
			w.finish(it, nil, func(s *Stats) { s.Sent++ })
			return
		}
		if timedOut && n.stopCtx.Err() == nil {
			err = fmt.Errorf("no answer within %s: %w", time.Duration(n.del.Timeout), err)
		}
		lastErr = err
		if n.stopCtx.Err() != nil {
			w.giveUp(it, ReasonShutdown, attempt, err)
			return
		}
		var se *SendError
		isSend := errors.As(err, &se)
		if isSend && se.Permanent {
			w.giveUp(it, ReasonRejected, attempt, err)
			return
		}
		if attempt >= n.del.Attempts {
			w.giveUp(it, ReasonAttempts, attempt, err)
			return
		}
		wait := backoff.Equal(backoff.Cap(time.Duration(n.del.BackoffBase), time.Duration(n.del.BackoffMax), 2, attempt-1), n.rnd)
		if isSend && se.RetryAfter > 0 {
			wait = se.RetryAfter
		}
		if n.now().Add(wait).After(deadline) {
			w.giveUp(it, ReasonExpired, attempt, fmt.Errorf("next attempt (in %s) would be past max age %s: %w", wait, time.Duration(n.del.MaxAge), err))
			return
		}
		n.logger.Warn("notify: attempt failed; retrying", "destination", w.name, "alert_id", note.Alert.AlertID,
			"revision", note.Revision, "attempt", attempt, "wait", wait, "error", n.red.Error(err))
		w.mu.Lock()
		w.stats.Retried++
		w.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-n.stopCtx.Done():
			t.Stop()
			w.giveUp(it, ReasonShutdown, attempt, err)
			return
		}
	}
}

// abandon dead-letters whatever is still queued once the workers have stopped, and returns how
// many it did (in flight ones included, which the workers dead-lettered).
func (w *worker) abandon() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := 0
	for w.len > 0 {
		it := w.q[w.head]
		w.q[w.head] = nil
		w.head = (w.head + 1) % len(w.q)
		w.len--
		w.unpend(it)
		w.stats.DeadLettered++
		if !w.n.dead.push(w.deadLetter(it, ReasonShutdown, 0, errors.New("closed before delivery"))) {
			w.n.done()
		}
		k++
	}
	return k
}

// deadLetterWriter appends dead letters to the file from a goroutine of its own, so that Write,
// which dead-letters what a full queue drops, never waits on the disk.
type deadLetterWriter struct {
	mu    sync.Mutex
	queue []*DeadLetter
	lost  int // dead letters not written because the queue was full, since last logged
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
	f     *os.File
}

func openDeadLetters(path string) (*deadLetterWriter, error) {
	d := &deadLetterWriter{wake: make(chan struct{}, 1), stop: make(chan struct{})}
	if path == "" {
		return d, nil
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("notify: open dead-letter file: %w", err)
	}
	if statErr != nil {
		if err := fsx.SyncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, fmt.Errorf("notify: create dead-letter file: %w", err)
		}
	}
	d.f = f
	return d, nil
}

// maxDeadLetterQueue bounds the dead letters waiting for the disk. Only a disk far slower than
// the alerts dropped for a dead destination fills it; then the counters and the log still
// tell, and memory stays bounded.
const maxDeadLetterQueue = 1 << 16

// push queues dl for writing and reports whether it did; when the queue is full it counts dl as
// lost instead, and the caller counts it done.
func (d *deadLetterWriter) push(dl *DeadLetter) bool {
	d.mu.Lock()
	if len(d.queue) >= maxDeadLetterQueue {
		d.lost++
		d.mu.Unlock()
		return false
	}
	d.queue = append(d.queue, dl)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
	return true
}

func (d *deadLetterWriter) close() error {
	if d.f == nil {
		return nil
	}
	return d.f.Close()
}

// writeDeadLetters writes what is pushed until stop, then what is left.
func (n *Notifier) writeDeadLetters() {
	d := n.dead
	defer close(d.done)
	var buf []byte
	for {
		d.mu.Lock()
		batch, lost := d.queue, d.lost
		d.queue, d.lost = nil, 0
		d.mu.Unlock()
		if lost > 0 {
			n.logger.Error("notify: dead letters lost: the dead-letter file is written slower than alerts are dropped", "count", lost)
		}
		if len(batch) > 0 {
			buf = buf[:0]
			for _, dl := range batch {
				n.logger.Error("notify: dead letter", "destination", dl.Destination, "alert_id", dl.AlertID,
					"revision", dl.Revision, "reason", dl.Reason, "attempts", dl.Attempts, "error", dl.Error)
				buf = append(dl.appendJSON(buf), '\n')
			}
			if d.f != nil {
				_, err := d.f.Write(buf)
				if err == nil {
					err = d.f.Sync()
				}
				if err != nil {
					n.logger.Error("notify: dead letters not written", "count", len(batch), "error", n.red.Error(err))
				}
			}
			n.mu.Lock()
			n.addOutstanding(-len(batch))
			n.mu.Unlock()
			continue
		}
		select {
		case <-d.wake:
		case <-d.stop:
			d.mu.Lock()
			empty := len(d.queue) == 0
			d.mu.Unlock()
			if empty {
				return
			}
		}
	}
}
