package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/coattailcapital/ctc"
)

// Defaults of Config's zero fields, and of ClientOptions.
const (
	DefaultTopic    = "coattail-trades"
	DefaultDLQTopic = "coattail-trades-dlq"
	// DefaultMaxDeadLetterBytes bounds the original bytes a dead letter carries: under the
	// broker's default max.message.bytes (1 MiB) with room for the headers.
	DefaultMaxDeadLetterBytes = 1000 << 10
	// MaxDetailBytes bounds the detail header of a dead letter.
	MaxDetailBytes = 1024
	// DefaultLinger is how long ClientOptions lets a partition's batch wait for more records.
	DefaultLinger = 5 * time.Millisecond
	// DefaultBatchMaxBytes is the largest record batch ClientOptions lets the client build.
	DefaultBatchMaxBytes = 1 << 20
)

// The headers of a dead-letter record.
const (
	HeaderReason    = "ctc-reason"
	HeaderDetail    = "ctc-detail"
	HeaderTopic     = "ctc-topic"
	HeaderPartition = "ctc-position-partition"
	HeaderOffset    = "ctc-position-offset"
	HeaderDataBytes = "ctc-data-bytes"
)

// Config configures a Producer. The zero value is usable.
type Config struct {
	// Topic receives the trades; default DefaultTopic.
	Topic string
	// DLQTopic receives the dead letters; default DefaultDLQTopic.
	DLQTopic string
	// Instruments maps symbols to the instruments their trades are keyed by; nil is the default
	// rule, ctc.InstrumentOf. Give the consumer the same map.
	Instruments ctc.Instruments
	// MaxDeadLetterBytes bounds the original bytes kept in a dead-letter record; longer ones keep a
	// prefix and say their length in the ctc-data-bytes header. Default DefaultMaxDeadLetterBytes.
	MaxDeadLetterBytes int
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Topic == c.DLQTopic:
		return fmt.Errorf("kafka: the DLQ topic must differ from the topic, both are %q", c.Topic)
	case c.MaxDeadLetterBytes < 0:
		return fmt.Errorf("kafka: MaxDeadLetterBytes must be >= 0 (0 for the default %d), got %d", DefaultMaxDeadLetterBytes, c.MaxDeadLetterBytes)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.DLQTopic == "" {
		c.DLQTopic = DefaultDLQTopic
	}
	if c.MaxDeadLetterBytes == 0 {
		c.MaxDeadLetterBytes = DefaultMaxDeadLetterBytes
	}
	return c
}

// ClientOptions are the kgo options a Producer's client should have besides its brokers and
// security: the Java client's key partitioner (murmur2 of the key, so every client agrees where an
// instrument goes), DefaultLinger and DefaultBatchMaxBytes, acks from all in-sync replicas. The
// idempotent producer is kgo's default and stays on: a batch retried after a lost response is
// written once, in order.
func ClientOptions() []kgo.Opt {
	return []kgo.Opt{
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(DefaultLinger),
		kgo.ProducerBatchMaxBytes(DefaultBatchMaxBytes),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}
}

// Stats counts what a Producer did. Once Flush has returned, every record handed to Write is in
// exactly one of Sent, DeadLettered and Dropped.
type Stats struct {
	// Sent counts trades acknowledged by Topic.
	Sent int64
	// DeadLettered counts dead letters acknowledged by DLQTopic.
	DeadLettered int64
	// Dropped counts records the client gave up on (its retries or delivery timeout exhausted, the
	// topic missing, the producer fenced); Flush reported them.
	Dropped int64
}

// Producer writes trades to a Kafka topic keyed by instrument, and dead letters to a DLQ topic.
// Write hands records to the client, which batches them per partition; Flush waits until all are
// acknowledged and reports the first record that failed since the previous Flush.
//
// A Producer is safe for concurrent use; records of one Write are produced in order, and the
// client keeps that order per partition (the idempotent producer keeps it across retries).
type Producer struct {
	client                *kgo.Client
	cfg                   Config
	sent, dead, dropped   atomic.Int64
	mu                    sync.Mutex
	err                   error // first failure since the last Flush
	closed                atomic.Bool
	ownsClient            bool
	promiseTrade, promDLQ func(*kgo.Record, error)
}

var (
	_ ctc.Sink    = (*Producer)(nil)
	_ ctc.Flusher = (*Producer)(nil)
	_ ctc.Closer  = (*Producer)(nil)
)

// ErrClosed (which wraps ctc.ErrClosed) is returned by calls on a closed Producer.
var ErrClosed = fmt.Errorf("kafka: producer is closed: %w", ctc.ErrClosed)

// New returns a producer writing with client, which stays the caller's: Close flushes but does not
// close it.
func New(client *kgo.Client, cfg Config) (*Producer, error) {
	if client == nil {
		return nil, errors.New("kafka: New needs a client: kgo.NewClient(kgo.SeedBrokers(...), kafka.ClientOptions()...)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Producer{client: client, cfg: cfg.withDefaults()}
	p.promiseTrade = func(_ *kgo.Record, err error) { p.settle(&p.sent, err) }
	p.promDLQ = func(_ *kgo.Record, err error) { p.settle(&p.dead, err) }
	return p, nil
}

// Dial returns a producer with a client of its own, built from opts (brokers, TLS, SASL) and
// ClientOptions; Close closes it.
func Dial(cfg Config, opts ...kgo.Opt) (*Producer, error) {
	cl, err := kgo.NewClient(append(ClientOptions(), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	p, err := New(cl, cfg)
	if err != nil {
		cl.Close()
		return nil, err
	}
	p.ownsClient = true
	return p, nil
}

func (p *Producer) settle(ok *atomic.Int64, err error) {
	if err == nil {
		ok.Add(1)
		return
	}
	p.dropped.Add(1)
	p.mu.Lock()
	if p.err == nil {
		p.err = err
	}
	p.mu.Unlock()
}

// Topic is the topic trades go to.
func (p *Producer) Topic() string { return p.cfg.Topic }

// DLQTopic is the dead-letter topic.
func (p *Producer) DLQTopic() string { return p.cfg.DLQTopic }

// Client is the producer's client.
func (p *Producer) Client() *kgo.Client { return p.client }

// Stats returns the counters; safe to call at any time.
func (p *Producer) Stats() Stats {
	return Stats{Sent: p.sent.Load(), DeadLettered: p.dead.Load(), Dropped: p.dropped.Load()}
}

// Key is the record key of a trade of symbol under the default instrument rule, the Kinesis
// partition key's rule: BTC-USDT and BTC-USD are both BTC, so both exchanges of an instrument share
// a partition and the spread join stays within one.
func Key(symbol string) string { return ctc.InstrumentOf(symbol) }

// Write produces the batch's trades to Topic (unified JSON, keyed by instrument) and its dead
// letters to DLQTopic (the original bytes, the reason in headers). Alerts and aggregates are
// ignored: the producer's job is the trade stream. Write returns once the records are handed to
// the client; Flush waits for them. With a context already done it produces nothing.
func (p *Producer) Write(ctx context.Context, b *ctc.Batch) error {
	switch {
	case p.closed.Load():
		return ErrClosed
	case ctx.Err() != nil:
		return fmt.Errorf("kafka: nothing produced: %w", ctx.Err())
	}
	// Records outlive the call (the client batches them): they must not end with its context.
	pctx := context.WithoutCancel(ctx)
	size := 0
	for i := range b.Trades {
		size += 256 + len(b.Trades[i].Exchange) + 2*len(b.Trades[i].Symbol)
	}
	buf := make([]byte, 0, size)
	recs := make([]kgo.Record, len(b.Trades))
	for i := range b.Trades {
		t := &b.Trades[i]
		start := len(buf)
		buf = t.AppendJSON(buf)
		r := &recs[i]
		r.Topic = p.cfg.Topic
		r.Key = []byte(p.cfg.Instruments.Of(t.Symbol))
		r.Value = buf[start:len(buf):len(buf)]
		p.client.Produce(pctx, r, p.promiseTrade)
	}
	for i := range b.DeadLetters {
		r := DeadLetterRecord(&b.DeadLetters[i], p.cfg.Topic, p.cfg.MaxDeadLetterBytes)
		r.Topic = p.cfg.DLQTopic
		p.client.Produce(pctx, r, p.promDLQ)
	}
	return nil
}

// Flush waits until every record written so far is acknowledged or has failed, and returns the
// first failure since the previous Flush. A Flush whose context ends returns its error; the
// records stay with the client and a later Flush waits for them.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.client.Flush(ctx); err != nil {
		return fmt.Errorf("kafka: flush: %w", err)
	}
	p.mu.Lock()
	err := p.err
	p.err = nil
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("kafka: a record was not produced: %w", err)
	}
	return nil
}

// Close flushes, then makes later calls fail with ErrClosed, and closes the client if Dial made
// it. Closing twice is harmless.
func (p *Producer) Close(ctx context.Context) error {
	if p.closed.Swap(true) {
		return nil
	}
	err := p.Flush(ctx)
	if p.ownsClient {
		p.client.Close()
	}
	return err
}

// DeadLetterRecord is the Kafka record of a dead letter: the original bytes (at most max of them;
// max <= 0 keeps all) as the value, keyed by reason, with the reason, detail, intended topic and
// source position in headers, and the original length when the value is a prefix.
func DeadLetterRecord(d *ctc.DeadLetter, topic string, max int) *kgo.Record {
	data := d.Data
	r := &kgo.Record{Key: []byte(d.Reason)}
	detail := d.Detail
	if len(detail) > MaxDetailBytes {
		cut := MaxDetailBytes
		for cut > 0 && !utf8.RuneStart(detail[cut]) {
			cut--
		}
		detail = detail[:cut]
	}
	r.Headers = append(r.Headers,
		kgo.RecordHeader{Key: HeaderReason, Value: []byte(d.Reason)},
		kgo.RecordHeader{Key: HeaderDetail, Value: []byte(detail)},
		kgo.RecordHeader{Key: HeaderTopic, Value: []byte(topic)},
		kgo.RecordHeader{Key: HeaderPartition, Value: []byte(d.Position.Partition)},
		kgo.RecordHeader{Key: HeaderOffset, Value: strconv.AppendInt(nil, d.Position.Offset, 10)},
	)
	if max > 0 && len(data) > max {
		r.Headers = append(r.Headers, kgo.RecordHeader{Key: HeaderDataBytes, Value: strconv.AppendInt(nil, int64(len(data)), 10)})
		data = data[:max]
	}
	r.Value = append([]byte{}, data...)
	return r
}

// DeadLetter is a dead letter as a DLQ record carries it, with what DeadLetterOf read besides.
type DeadLetter struct {
	ctc.DeadLetter
	// Topic is the topic the record was meant for.
	Topic string
	// DataBytes is the length of the original record; more than len(Data) when Data is a prefix.
	DataBytes int64
}

// DeadLetterOf decodes a record of the DLQ topic, for a consumer of the DLQ or a tool that
// re-drives it. A record without the reason header, or with a position offset or data length that
// is not a non-negative decimal integer, is not a dead letter of this package.
func DeadLetterOf(r *kgo.Record) (DeadLetter, error) {
	d := DeadLetter{DataBytes: int64(len(r.Value))}
	d.Data = r.Value
	var haveReason bool
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderReason:
			d.Reason, haveReason = ctc.Reason(h.Value), true
		case HeaderDetail:
			d.Detail = string(h.Value)
		case HeaderTopic:
			d.Topic = string(h.Value)
		case HeaderPartition:
			d.Position.Partition = string(h.Value)
		case HeaderOffset, HeaderDataBytes:
			n, err := strconv.ParseInt(string(h.Value), 10, 64)
			if err != nil || n < 0 {
				return DeadLetter{}, fmt.Errorf("kafka: dead-letter header %s is %q, not a non-negative integer", h.Key, h.Value)
			}
			if h.Key == HeaderOffset {
				d.Position.Offset = n
			} else {
				d.DataBytes = n
			}
		}
	}
	switch {
	case !haveReason || d.Reason == "":
		return DeadLetter{}, fmt.Errorf("kafka: record %s/%d@%d has no %s header: not a ctc dead letter", r.Topic, r.Partition, r.Offset, HeaderReason)
	case d.DataBytes < int64(len(d.Data)):
		return DeadLetter{}, fmt.Errorf("kafka: dead letter says %d original bytes but carries %d", d.DataBytes, len(d.Data))
	}
	return d, nil
}
