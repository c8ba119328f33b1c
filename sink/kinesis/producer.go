package kinesis

import (
	"context"
	"errors"
	"fmt"
	"github.com/coattailcapital/ctc/internal/backoff"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/clock"
)

// Defaults of Config's zero fields, and the PutRecords limits of Kinesis Data Streams.
const (
	DefaultStream      = "coattail-trades"
	DefaultDLQStream   = "coattail-trades-dlq"
	DefaultMaxAttempts = 8
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffCap  = 5 * time.Second

	// MaxRequestRecords and MaxRequestBytes bound one PutRecords request: 500 records and 5 MiB,
	// counting partition keys and data.
	MaxRequestRecords = 500
	MaxRequestBytes   = 5 << 20
	// DefaultMaxRecordBytes is the largest record (partition key + data) a stream accepts unless its
	// maximum record size was raised (UpdateMaxRecordSize).
	DefaultMaxRecordBytes = 1 << 20
	// MaxPartitionKeyRunes is the longest partition key Kinesis accepts, in Unicode characters.
	MaxPartitionKeyRunes = 256
)

// Config configures a Producer. The zero value is usable: every field has a default.
type Config struct {
	// Stream receives the trades; default DefaultStream.
	Stream string
	// DLQStream receives the envelopes of records that could not be put on Stream, and the dead
	// letters of the quality chain; default DefaultDLQStream.
	DLQStream string
	// MaxAttempts bounds how often one record is sent (the first attempt included) before it is
	// dead-lettered; default DefaultMaxAttempts. The SDK client's own retryer, which retries a
	// request that failed as a whole, works underneath and is not counted here.
	MaxAttempts int
	// BackoffBase and BackoffCap shape the wait before attempt n+1: a uniformly random duration in
	// [0, min(BackoffCap, BackoffBase·2^(n−1))] ("full jitter"). Defaults 100 ms and 5 s.
	BackoffBase, BackoffCap time.Duration
	// MaxRecordBytes is the largest record (partition key + data) the stream accepts; default
	// DefaultMaxRecordBytes (1 MiB). Larger records are dead-lettered at once, never sent.
	MaxRecordBytes int
	// Grace lets a call whose context ends while it runs go on for up to Grace to settle the
	// records it holds, so that a Ctrl-C or SIGTERM between two requests of a batch loses nothing;
	// default 0: the call stops at once and counts the rest as dropped. A call whose context has
	// already ended when it starts sends nothing either way.
	Grace time.Duration
	// Sleep waits between attempts and must return ctx.Err() when ctx ends first; default a timer.
	// Tests set it to record the back-off without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a uniformly random int64 in [0, n]; default math/rand/v2. Tests fix it.
	Jitter func(n int64) int64
	// Instruments maps symbols to the instruments they are written under (the partition key);
	// nil is the default rule, ctc.InstrumentOf. Give it the spread detector's pairs
	// (detect.SpreadConfig.InstrumentMap) when their bases differ, so that both exchanges of a
	// pair meet on one shard; the consumer's Runners take the same map.
	Instruments ctc.Instruments
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case c.MaxAttempts < 0:
		return fmt.Errorf("kinesis: MaxAttempts must be >= 1 (0 for the default %d), got %d", DefaultMaxAttempts, c.MaxAttempts)
	case c.BackoffBase < 0 || c.BackoffCap < 0 || c.Grace < 0:
		return errors.New("kinesis: BackoffBase, BackoffCap and Grace must not be negative")
	case c.MaxRecordBytes < 0 || c.MaxRecordBytes > 10<<20:
		return fmt.Errorf("kinesis: MaxRecordBytes must be 1..%d (0 for the default 1 MiB), got %d", 10<<20, c.MaxRecordBytes)
	case c.Stream != "" && c.Stream == c.DLQStream:
		return fmt.Errorf("kinesis: the DLQ stream must differ from the stream, both are %q", c.Stream)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.DLQStream == "" {
		c.DLQStream = DefaultDLQStream
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = DefaultBackoffBase
	}
	if c.BackoffCap == 0 {
		c.BackoffCap = DefaultBackoffCap
	}
	if c.BackoffCap < c.BackoffBase {
		c.BackoffCap = c.BackoffBase
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if c.Sleep == nil {
		c.Sleep = clock.Sleep
	}
	if c.Jitter == nil {
		c.Jitter = func(n int64) int64 { return rand.Int64N(n + 1) }
	}
	return c
}

// Stats counts what a Producer did. Every record handed to it ends up in exactly one of Sent,
// DeadLettered and Dropped (Dropped ones were reported to the caller as an error).
type Stats struct {
	// Sent counts records acknowledged by Stream.
	Sent int64
	// DeadLettered counts records whose envelope was acknowledged by DLQStream: records that could
	// not be put on Stream, and quality dead letters handed to Write.
	DeadLettered int64
	// Dropped counts records neither acknowledged nor dead-lettered: the call that was given them
	// returned an error (context cancelled, the stream missing, the DLQ stream failing too).
	Dropped int64
	// Retried counts records sent again after a failed attempt.
	Retried int64
	// Requests counts PutRecords calls, to either stream, whatever their outcome.
	Requests int64
	// ThrottledRecords counts records a response refused for throughput
	// (ProvisionedThroughputExceededException, KMSThrottlingException); ThrottledRequests counts
	// whole requests refused so, after the SDK's own retries.
	ThrottledRecords  int64
	ThrottledRequests int64
}

type counters struct {
	sent, dead, dropped, retried, requests, throttledRecords, throttledRequests atomic.Int64
}

// Producer puts trades on a Kinesis stream with PutRecords, in requests of at most 500 records and
// 5 MiB, partitioned by instrument (PartitionKey). Records a request fails are sent again, alone
// and in their original order, with exponential back-off and full jitter; a record that keeps
// failing, is refused for good, or can never be sent goes to the DLQ stream as an Envelope.
//
// A call returns only when every record it was given is acknowledged by the stream or the DLQ
// stream, or it returns an error and counts the rest as Dropped. Requests of one call go one at a
// time, and the next starts only when the previous one's records are all settled, so a record that
// had to be retried is never overtaken by a later record of its key from a later request.
//
// A Producer is safe for concurrent use; records of concurrent calls are not ordered relative to
// each other.
type Producer struct {
	client *kinesis.Client
	cfg    Config
	n      counters
	closed atomic.Bool
}

var (
	_ ctc.Sink   = (*Producer)(nil)
	_ ctc.Closer = (*Producer)(nil)
)

// ErrClosed (which wraps ctc.ErrClosed) is returned by calls on a closed Producer.
var ErrClosed = fmt.Errorf("kinesis: producer is closed: %w", ctc.ErrClosed)

// Close makes later calls fail with ErrClosed. A Producer holds nothing to release (the client is
// the caller's), and Write returns only when its records are settled, so there is nothing to
// flush. Closing twice is harmless.
func (p *Producer) Close(ctx context.Context) error {
	p.closed.Store(true)
	return nil
}

// New returns a producer that writes with client.
func New(client *kinesis.Client, cfg Config) (*Producer, error) {
	if client == nil {
		return nil, errors.New("kinesis: New needs a client: kinesis.NewFromConfig(awsConfig)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Producer{client: client, cfg: cfg.withDefaults()}, nil
}

// Stream is the name of the stream trades go to.
func (p *Producer) Stream() string { return p.cfg.Stream }

// DLQStream is the name of the dead-letter stream.
func (p *Producer) DLQStream() string { return p.cfg.DLQStream }

// Stats returns the counters. It is safe to call at any time, from any goroutine.
func (p *Producer) Stats() Stats {
	return Stats{
		Sent:              p.n.sent.Load(),
		DeadLettered:      p.n.dead.Load(),
		Dropped:           p.n.dropped.Load(),
		Retried:           p.n.retried.Load(),
		Requests:          p.n.requests.Load(),
		ThrottledRecords:  p.n.throttledRecords.Load(),
		ThrottledRequests: p.n.throttledRequests.Load(),
	}
}

// PartitionKey is the Kinesis partition key of a trade of symbol under the default instrument rule,
// ctc.InstrumentOf: the base asset before the first '-' (BTC-USDT and BTC-USD are both BTC), so
// that both exchanges of an instrument land on one shard and the spread join stays within a shard
// (DESIGN §4). A Producer with Config.Instruments writes under that map's instruments instead.
func PartitionKey(symbol string) string { return ctc.InstrumentOf(symbol) }

// Put puts trades on the stream, in order, partitioned by PartitionKey(symbol). Trades that cannot
// be put go to the DLQ stream; the error is non-nil only when some trade is neither on the stream
// nor on the DLQ stream (see Stats.Dropped).
func (p *Producer) Put(ctx context.Context, trades []ctc.Trade) error {
	return p.write(ctx, trades, nil)
}

// Write puts the batch's trades on the stream as Put does and its dead letters (records the
// quality chain refused) on the DLQ stream as envelopes with their reason, detail and position,
// making the producer the sink of a pipeline "source → quality → producer". Alerts and aggregates
// in the batch are ignored: the producer's job is the trade stream.
func (p *Producer) Write(ctx context.Context, b *ctc.Batch) error {
	return p.write(ctx, b.Trades, b.DeadLetters)
}

func (p *Producer) write(ctx context.Context, trades []ctc.Trade, dls []ctc.DeadLetter) error {
	if err := p.refuse(ctx, len(trades)+len(dls)); err != nil {
		return err
	}
	size := 0
	for i := range trades {
		size += 256 + len(trades[i].Exchange) + 2*len(trades[i].Symbol)
	}
	buf := make([]byte, 0, size)
	recs := make([]entry, len(trades))
	for i := range trades {
		start := len(buf)
		buf = trades[i].AppendJSON(buf)
		recs[i] = entry{key: p.cfg.Instruments.Of(trades[i].Symbol), data: buf[start:len(buf):len(buf)]}
	}
	var dead []entry
	for i := range dls {
		d := &dls[i]
		env := Envelope{Reason: string(d.Reason), ErrorMessage: d.Detail, Stream: p.cfg.Stream,
			Position: d.Position, Data: d.Data}
		dead = append(dead, entry{key: dlqKey(string(d.Reason), d.Position.Partition), data: env.appendJSON(nil, p.cfg.MaxRecordBytes)})
	}
	return p.send(ctx, recs, dead)
}

// PutRaw puts records on the stream with the given partition keys (len(keys) == len(records)),
// with the same batching, retries and dead-lettering as Put. The records are not validated: a
// consumer dead-letters what it cannot decode.
func (p *Producer) PutRaw(ctx context.Context, records [][]byte, keys []string) error {
	if len(records) != len(keys) {
		return fmt.Errorf("kinesis: PutRaw needs one key per record, got %d records and %d keys", len(records), len(keys))
	}
	if err := p.refuse(ctx, len(records)); err != nil {
		return err
	}
	recs := make([]entry, len(records))
	for i := range records {
		recs[i] = entry{key: keys[i], data: records[i]}
	}
	return p.send(ctx, recs, nil)
}

// refuse returns why a call of n records cannot start, counting them as dropped: a closed producer
// or a context already done. Nothing of such a call is sent.
func (p *Producer) refuse(ctx context.Context, n int) error {
	var err error
	switch {
	case p.closed.Load():
		err = ErrClosed
	case ctx.Err() != nil:
		err = fmt.Errorf("kinesis: nothing sent: %w", ctx.Err())
	default:
		return nil
	}
	p.n.dropped.Add(int64(n))
	return err
}

// entry is one record on its way: its key and bytes, and why its last attempt failed.
type entry struct {
	key       string
	data      []byte
	code, msg string
}

func (e *entry) size() int { return len(e.key) + len(e.data) }

// failure is a record that could not be put, on its way to the DLQ stream.
type failure struct {
	entry
	reason string
}

// dlqKey spreads dead letters of unknown instrument over the DLQ stream's shards by where they
// came from.
func dlqKey(reason, partition string) string {
	k := reason
	if partition != "" {
		k += "|" + partition
	}
	if utf8.RuneCountInString(k) > MaxPartitionKeyRunes {
		k = string([]rune(k)[:MaxPartitionKeyRunes])
	}
	return k
}

// send puts recs on the stream and then every failed record, with dead (already envelopes), on the
// DLQ stream.
func (p *Producer) send(ctx context.Context, recs, dead []entry) error {
	if p.cfg.Grace > 0 {
		var cancel context.CancelFunc
		ctx, cancel = withGrace(ctx, p.cfg.Grace)
		defer cancel()
	}
	var failed []failure
	err := p.put(ctx, p.cfg.Stream, recs, &failed)
	for i := range failed {
		f := &failed[i]
		env := Envelope{Reason: f.reason, ErrorCode: f.code, ErrorMessage: f.msg, Stream: p.cfg.Stream,
			PartitionKey: f.key, Data: f.data}
		key := f.key
		if !validKey(key) {
			key = dlqKey(f.reason, "")
		}
		dead = append(dead, entry{key: key, data: env.appendJSON(nil, p.cfg.MaxRecordBytes)})
	}
	if len(dead) == 0 {
		return err
	}
	if err != nil && ctx.Err() != nil {
		p.n.dropped.Add(int64(len(dead)))
		return fmt.Errorf("%w; %d records were not dead-lettered", err, len(dead))
	}
	var lost []failure
	dlqErr := p.put(ctx, p.cfg.DLQStream, dead, &lost)
	if len(lost) > 0 {
		p.n.dropped.Add(int64(len(lost)))
		f := lost[0]
		dlqErr = errors.Join(dlqErr, fmt.Errorf("kinesis: %d records could not be put on DLQ stream %q either (first: %s %s: %s)",
			len(lost), p.cfg.DLQStream, f.reason, f.code, f.msg))
	}
	return errors.Join(err, dlqErr)
}

// withGrace returns a context that ends grace after parent does (with parent's cause), or when
// the returned function is called.
func withGrace(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	var timer *time.Timer
	var mu sync.Mutex
	stop := context.AfterFunc(parent, func() {
		mu.Lock()
		defer mu.Unlock()
		timer = time.AfterFunc(grace, func() { cancel(context.Cause(parent)) })
	})
	return ctx, func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
		cancel(context.Canceled)
	}
}

func validKey(k string) bool {
	return k != "" && utf8.ValidString(k) && utf8.RuneCountInString(k) <= MaxPartitionKeyRunes
}

// The reasons of an Envelope written by the producer itself (the quality chain's dead letters keep
// theirs: malformed, incomplete, invalid).
const (
	// ReasonTooLarge: the record is larger than the stream's maximum record size.
	ReasonTooLarge = "too_large"
	// ReasonBadKey: the partition key is empty, longer than 256 characters, or not UTF-8.
	ReasonBadKey = "bad_partition_key"
	// ReasonRejected: the stream refused the record with an error that retrying cannot cure
	// (a KMS key disabled or not found, access denied).
	ReasonRejected = "rejected"
	// ReasonRetriesExhausted: the record still failed after MaxAttempts attempts.
	ReasonRetriesExhausted = "retries_exhausted"
)

// put sends recs to stream in order, appending what cannot be put to failed. The error reports
// records that were neither put nor added to failed: they are counted as dropped.
func (p *Producer) put(ctx context.Context, stream string, recs []entry, failed *[]failure) error {
	dlq := stream == p.cfg.DLQStream
	ok := recs[:0:0]
	for _, r := range recs {
		switch {
		case !validKey(r.key):
			*failed = append(*failed, failure{entry: entry{key: r.key, data: r.data,
				msg: fmt.Sprintf("partition key must be 1..%d UTF-8 characters, got %q", MaxPartitionKeyRunes, r.key)}, reason: ReasonBadKey})
		case r.size() > p.cfg.MaxRecordBytes:
			*failed = append(*failed, failure{entry: entry{key: r.key, data: r.data,
				msg: fmt.Sprintf("record of %d bytes (key + data) exceeds the stream's maximum of %d", r.size(), p.cfg.MaxRecordBytes)}, reason: ReasonTooLarge})
		default:
			ok = append(ok, r)
		}
	}
	for len(ok) > 0 {
		n, bytes := 0, 0
		for n < len(ok) && n < MaxRequestRecords && bytes+ok[n].size() <= MaxRequestBytes {
			bytes += ok[n].size()
			n++
		}
		if err := p.request(ctx, stream, ok[:n], failed, dlq); err != nil {
			p.n.dropped.Add(int64(len(ok) - n))
			return err
		}
		ok = ok[n:]
	}
	return nil
}

// request puts one request's records, retrying the failed ones, until each is acknowledged or
// failed. On an error it counts the records it did not settle as dropped.
func (p *Producer) request(ctx context.Context, stream string, pending []entry, failed *[]failure, dlq bool) error {
	in := &kinesis.PutRecordsInput{StreamName: &stream, Records: make([]types.PutRecordsRequestEntry, 0, len(pending))}
	pending = append([]entry(nil), pending...)
	for attempt := 1; ; attempt++ {
		in.Records = in.Records[:0]
		for i := range pending {
			in.Records = append(in.Records, types.PutRecordsRequestEntry{Data: pending[i].data, PartitionKey: &pending[i].key})
		}
		p.n.requests.Add(1)
		out, err := p.client.PutRecords(ctx, in)
		if err == nil && len(out.Records) != len(pending) {
			err = fmt.Errorf("kinesis: PutRecords answered %d results for %d records", len(out.Records), len(pending))
		}
		if err != nil {
			code, msg, retry := classify(err)
			if ctx.Err() != nil || !retry {
				p.n.dropped.Add(int64(len(pending)))
				return fmt.Errorf("kinesis: PutRecords on stream %q failed for %d records: %w", stream, len(pending), err)
			}
			if isThrottle(code) {
				p.n.throttledRequests.Add(1)
			}
			for i := range pending {
				pending[i].code, pending[i].msg = code, msg
			}
		} else {
			next := pending[:0]
			for i, r := range out.Records {
				if r.ErrorCode == nil {
					if dlq {
						p.n.dead.Add(1)
					} else {
						p.n.sent.Add(1)
					}
					continue
				}
				e := pending[i]
				e.code, e.msg = *r.ErrorCode, deref(r.ErrorMessage)
				if isThrottle(e.code) {
					p.n.throttledRecords.Add(1)
				}
				if retryableCode(e.code) {
					next = append(next, e)
				} else {
					*failed = append(*failed, failure{entry: e, reason: ReasonRejected})
				}
			}
			pending = next
		}
		if len(pending) == 0 {
			return nil
		}
		if attempt >= p.cfg.MaxAttempts {
			for _, e := range pending {
				e.msg = fmt.Sprintf("after %d attempts: %s", attempt, e.msg)
				*failed = append(*failed, failure{entry: e, reason: ReasonRetriesExhausted})
			}
			return nil
		}
		if err := p.cfg.Sleep(ctx, p.backoff(attempt)); err != nil {
			p.n.dropped.Add(int64(len(pending)))
			return fmt.Errorf("kinesis: %d records not put on stream %q: %w", len(pending), stream, err)
		}
		p.n.retried.Add(int64(len(pending)))
	}
}

// backoff is the wait after attempt n (1-based): full jitter over an exponentially growing cap.
func (p *Producer) backoff(n int) time.Duration {
	return backoff.Full(backoff.Cap(p.cfg.BackoffBase, p.cfg.BackoffCap, 2, n-1), p.cfg.Jitter)
}

// The per-record and per-request error codes that a later attempt may cure.
func retryableCode(code string) bool {
	switch code {
	case "ProvisionedThroughputExceededException", "KMSThrottlingException", "InternalFailure",
		"InternalFailureException", "ServiceUnavailable", "ServiceUnavailableException",
		"LimitExceededException", "ThrottlingException":
		return true
	}
	return false
}

func isThrottle(code string) bool {
	switch code {
	case "ProvisionedThroughputExceededException", "KMSThrottlingException", "LimitExceededException", "ThrottlingException":
		return true
	}
	return false
}

// classify names a request error and says whether a later attempt may cure it. Errors without an
// API code (the connection failed after the SDK's own retries) are retried too.
func classify(err error) (code, msg string, retry bool) {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode(), api.ErrorMessage(), retryableCode(api.ErrorCode())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "", err.Error(), false
	}
	return "RequestFailed", err.Error(), true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
