package ctc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Side is the aggressor's (taker's) side of a trade.
type Side uint8

// The sides of a trade. The zero value is not a valid side: a record that does not say which side
// took liquidity fails validation rather than being guessed.
const (
	SideUnknown Side = iota
	Buy
	Sell
)

// String returns "buy", "sell" or "unknown".
func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return "unknown"
}

// ParseSide parses "buy" or "sell".
func ParseSide(s string) (Side, error) {
	switch s {
	case "buy":
		return Buy, nil
	case "sell":
		return Sell, nil
	}
	return SideUnknown, fmt.Errorf("side must be buy or sell, got %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Side) UnmarshalText(b []byte) error {
	v, err := ParseSide(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// The exchanges the built-in sources speak.
const (
	Binance  = "binance"
	Coinbase = "coinbase"
)

// Trade is the unified trade event (DESIGN §3.1): what every source produces and every detector
// consumes. Its JSON form is the record format on Kinesis and in replay files.
type Trade struct {
	// EventID is deterministic: NewEventID(exchange, symbol, exchange trade id), so that the same trade
	// seen twice (a reconnect overlap, a replay) has the same id and dedup can drop it.
	EventID uuid.UUID
	// Exchange is "binance" or "coinbase" for the built-in sources.
	Exchange string
	// Symbol is BASE-QUOTE, e.g. BTC-USDT.
	Symbol   string
	Price    float64
	Quantity float64
	// QuoteVolume is price × quantity in the quote currency.
	QuoteVolume float64
	// Side is the aggressor's side.
	Side Side
	// Timestamp is the exchange's trade time: the event time every window uses.
	Timestamp time.Time
	// IngestionTimestamp is when the trade entered the system; the zero time means unknown.
	IngestionTimestamp time.Time
}

// AlertType names what kind of anomaly an alert reports. User detectors may define their own.
type AlertType string

// The built-in alert types.
const (
	VolumeSpike AlertType = "volume_spike"
	Whale       AlertType = "whale"
	Spread      AlertType = "spread"
)

// Severity orders alerts by how much they matter.
type Severity uint8

// Severities, in increasing order.
const (
	SeverityNone Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"none", "low", "medium", "high", "critical"}

// String returns "low", "medium", "high" or "critical" ("none" for the zero value).
func (s Severity) String() string {
	if int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", uint8(s))
}

// ParseSeverity parses the names String returns.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if n == s && i > 0 {
			return Severity(i), nil
		}
	}
	return SeverityNone, fmt.Errorf("severity must be low, medium, high or critical, got %q", s)
}

// MarshalText implements encoding.TextMarshaler.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// AlertTTL is how long an alert stays in the hot store after its detection time.
const AlertTTL = 24 * time.Hour

// Alert is an anomaly a detector raised (DESIGN §3.2).
type Alert struct {
	// AlertID is a UUIDv5 of what identifies the alert (NewAlertID): the same input yields the same
	// id, so restarts and reprocessing are idempotent.
	AlertID   uuid.UUID
	AlertType AlertType
	Symbol    string
	Exchange  string
	Severity  Severity
	// ZScore is the z-score for statistical alerts, 0 otherwise; the JSON encoding writes the 0 as
	// null ("does not apply"), the tables as 0 (DESIGN §3.3's column is required).
	ZScore float64
	// ThresholdValue is the threshold that was crossed; ActualValue the value that crossed it.
	ThresholdValue float64
	ActualValue    float64
	// WindowStart is the start of the window the alert is about; for per-trade alerts the trade time.
	WindowStart time.Time
	// DetectedAt is event time: the window end for window alerts, the trade time for trade alerts.
	DetectedAt time.Time
	Message    string
	// TTLEpoch is DetectedAt + AlertTTL in Unix seconds: when the hot store forgets the alert.
	TTLEpoch int64
	// EmittedAt is processing time, not part of the alert's identity. In deterministic (replay)
	// runs it equals DetectedAt.
	EmittedAt time.Time
}

// VolumeWindow is one closed volume window of one (symbol, exchange): a row of volume_aggregates.
type VolumeWindow struct {
	Symbol      string
	Exchange    string
	WindowStart time.Time
	WindowEnd   time.Time
	TradeCount  int64
	// TotalVolume is Σ quote volume.
	TotalVolume float64
	// AvgPrice is the volume-weighted average price Σ(price×quantity) / Σ quantity.
	AvgPrice   float64
	MaxPrice   float64
	MinPrice   float64
	BuyVolume  float64
	SellVolume float64
}

// SpreadWindow is one joined cross-exchange window of an instrument: a row of exchange_spreads.
type SpreadWindow struct {
	// Symbol is the instrument, e.g. BTC.
	Symbol       string
	WindowStart  time.Time
	WindowEnd    time.Time
	BinanceVWAP  float64
	CoinbaseVWAP float64
	// SpreadPct is (binance − coinbase) / coinbase × 100.
	SpreadPct float64
}

// WhaleTrade is a whale alert together with the trade that raised it: a row of whale_trades.
type WhaleTrade struct {
	AlertID        uuid.UUID
	Severity       Severity
	ThresholdValue float64
	DetectedAt     time.Time
	Trade          Trade
}

// LateTrade is a trade that arrived after the window it belongs to had fired in one detector. It is
// counted and handed to the late output; it never re-fires the window.
type LateTrade struct {
	Detector string
	Trade    Trade
}

// Output collects what detectors emit. Detectors append to it; the pipeline hands it to the sinks
// and resets it, so its slices are reused and emitting costs no allocation in steady state.
type Output struct {
	Alerts  []Alert
	Volumes []VolumeWindow
	Spreads []SpreadWindow
	Whales  []WhaleTrade
	Late    []LateTrade
}

// Reset empties every slice, keeping its storage.
func (o *Output) Reset() {
	o.Alerts = o.Alerts[:0]
	o.Volumes = o.Volumes[:0]
	o.Spreads = o.Spreads[:0]
	o.Whales = o.Whales[:0]
	o.Late = o.Late[:0]
}

// Len is the number of records held.
func (o *Output) Len() int {
	return len(o.Alerts) + len(o.Volumes) + len(o.Spreads) + len(o.Whales) + len(o.Late)
}

// Append copies every record of p after o's.
func (o *Output) Append(p *Output) {
	o.Alerts = append(o.Alerts, p.Alerts...)
	o.Volumes = append(o.Volumes, p.Volumes...)
	o.Spreads = append(o.Spreads, p.Spreads...)
	o.Whales = append(o.Whales, p.Whales...)
	o.Late = append(o.Late, p.Late...)
}

// Position is where a record sits in its source, so that a consumer can resume after it. Partition
// names the ordered stream (a file, a shard, a connection); Offset counts records within it.
type Position struct {
	Partition string
	Offset    int64
}

// String formats the position as partition:offset.
func (p Position) String() string { return fmt.Sprintf("%s:%d", p.Partition, p.Offset) }

// Record is one input record as a source hands it over: raw unified-JSON bytes that the quality
// chain decodes, or a trade the source already decoded from its own wire format.
type Record struct {
	// Data holds the original bytes. The source may reuse them: they are valid until the next Next.
	Data []byte
	// Decoded reports that Trade holds the decoded trade (Data may still hold the original bytes).
	Decoded bool
	Trade   Trade
	// Err, when set, is why the source could not decode Data: the record goes to the dead letters as
	// malformed, with Err as its detail.
	Err      error
	Position Position
	// Checked says that a Checker's Predecoder examined the record ahead of Check: Trade holds
	// what it decoded and Verdict its verdict before dedup. Check then applies only its stateful
	// steps.
	Checked bool
	Verdict Verdict
}

// Reset clears the record for reuse, keeping Data's storage.
func (r *Record) Reset() {
	data := r.Data[:0]
	*r = Record{Data: data}
}

// BulkSource is implemented by sources that read from storage — a file, a slice, a table, an
// unpaced simulator — rather than wait for a feed: Next never blocks for long. A bounded Pipeline
// reads such a source ahead in chunks, decoding on a second core (Predecoder); a source that
// trickles is read record by record, so that no record waits for a chunk to fill.
type BulkSource interface {
	Source
	Bulk() bool
}

func isBulk(s Source) bool {
	b, ok := s.(BulkSource)
	return ok && b.Bulk()
}

// ErrClosed is what every ctc source, sink and store returns, wrapped in its own error, when it is
// used after Close: errors.Is(err, ctc.ErrClosed) recognises them all.
var ErrClosed = errors.New("ctc: used after Close")

// ErrEndOfInput is returned by a bounded Source after its last record.
var ErrEndOfInput = errors.New("ctc: end of input")

// Source produces records in order.
type Source interface {
	// Next fills rec with the next record. It blocks until a record is available, ctx is done, or
	// the input ends (ErrEndOfInput). A source that is also a Closer returns an error wrapping
	// ErrClosed after Close; a Pipeline reading it takes that as the end of its input, so closing
	// a live source stops its pipeline cleanly.
	Next(ctx context.Context, rec *Record) error
}

// Detector turns trades that passed quality checks into alerts and aggregates. Detectors are
// deterministic and event-time driven: they never read the wall clock, and their output depends
// only on the trades they observe and the event times they are advanced to.
type Detector interface {
	// Name identifies the detector in late output, metrics and snapshots.
	Name() string
	// Observe processes one trade, appending whatever it emits to out.
	Observe(t *Trade, out *Output)
	// Advance tells the detector that event time has reached t without a trade: an idle live source,
	// or the end of a bounded one (EndOfTime), at which every open window fires.
	Advance(t time.Time, out *Output)
}

// EndOfTime is the final event time of a bounded source: advancing a detector to it fires every window.
var EndOfTime = time.Unix(0, 1<<63-1).UTC()

// Snapshotter is implemented by detectors (and other stateful parts) whose state can be saved to
// bytes and restored, for checkpoints and for Lambda invocations that must continue where the
// previous one stopped. Restoring a snapshot and continuing must give exactly the output of an
// uninterrupted run.
type Snapshotter interface {
	Snapshot() ([]byte, error)
	Restore(b []byte) error
}

// Batch is what the pipeline hands its sinks: the trades that passed quality, what the detectors
// emitted, and the dead letters, since the previous batch.
type Batch struct {
	Trades      []Trade
	Output      Output
	DeadLetters []DeadLetter
	// Position is the source position of the last record read into the batch.
	Position Position
}

// Reset empties the batch, keeping its storage.
func (b *Batch) Reset() {
	b.Trades = b.Trades[:0]
	b.Output.Reset()
	b.DeadLetters = b.DeadLetters[:0]
}

// Append copies every record of c after b's, and takes c's position.
func (b *Batch) Append(c *Batch) {
	b.Trades = append(b.Trades, c.Trades...)
	b.Output.Append(&c.Output)
	b.DeadLetters = append(b.DeadLetters, c.DeadLetters...)
	b.Position = c.Position
}

// Len is the number of records in the batch.
func (b *Batch) Len() int { return len(b.Trades) + b.Output.Len() + len(b.DeadLetters) }

// Sink receives batches. Write must not keep references to the batch's slices after it returns:
// the pipeline reuses them.
type Sink interface {
	Write(ctx context.Context, b *Batch) error
}

// TradeReader is implemented by sinks that may not read a batch's trades (Batch.Trades): the
// NDJSON sink without raw trades, the console, the alert stores. When no sink of a checkpointed
// pipeline reads them, its checkpoints save their output without the trades, which for a replay
// is most of the bytes. A sink that does not implement it is taken to read them.
type TradeReader interface {
	ReadsTrades() bool
}

// Flusher is implemented by sinks that buffer: Flush makes everything written so far durable. The
// pipeline calls it at every checkpoint and at the end of input.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Resumer is implemented by sinks that must return to a checkpoint before a restored pipeline
// writes to them again — files written past the last checkpoint before a crash, say. The pipeline
// calls Resume once at the start of a checkpointed Run with the checkpoint it resumes from
// (Seq 0 when it starts afresh).
type Resumer interface {
	Resume(ctx context.Context, cp Checkpoint) error
}

// Closer is implemented by sinks and sources that hold resources.
type Closer interface {
	Close(ctx context.Context) error
}

// DeadLetter is a record that failed the quality chain, kept with why and where (DESIGN §5).
type DeadLetter struct {
	Reason   Reason
	Detail   string
	Data     []byte
	Position Position
}

// Reason is why a record went to the dead letters.
type Reason string

// The dead-letter reasons, in the order the quality chain checks them.
const (
	Malformed  Reason = "malformed"
	Incomplete Reason = "incomplete"
	Invalid    Reason = "invalid"
)

// Verdict is the quality chain's decision on one record.
type Verdict struct {
	// Status says whether the trade goes on to the detectors.
	Status Status
	// Reason and Detail explain a Fail.
	Reason Reason
	Detail string
	// Late flags a trade ingested long after it happened; it is still processed.
	Late bool
	// Warning flags an inconsistent trade (quote volume ≠ price × quantity); it is still processed.
	Warning bool
}

// Status is the outcome of the quality chain for one record.
type Status uint8

// The outcomes of the quality chain.
const (
	Pass Status = iota
	Duplicate
	Fail
)

// String returns "pass", "duplicate" or "fail".
func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Duplicate:
		return "duplicate"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Predecoder is implemented by Checkers whose stateless steps — decoding and validating a
// record — can run ahead of Check on another goroutine. A bounded Pipeline then decodes the next
// records on one core while the previous ones go through dedup, the detectors and the sinks on
// another, with the same results in the same order.
type Predecoder interface {
	// Predecoder returns a function that examines a record as Check would, short of its stateful
	// steps, and leaves the result in it (Record.Checked). The function may run on another
	// goroutine than Check, but not on two at once.
	Predecoder() func(rec *Record)
}

// Checker decides what happens to each record before detection: it decodes rec into t (unless the
// source already did, in which case it copies rec.Trade) and validates it. After Check, t holds
// the trade as far as it could be decoded. The quality package provides the standard chain.
type Checker interface {
	Check(rec *Record, t *Trade) Verdict
}
