package replay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/clock"
)

// Format is the layout of a replay file.
type Format int

// The formats a Source reads.
const (
	// NDJSON is one unified trade (DESIGN §3.1) as a JSON object per line, as the jsonl sink writes
	// it. The source hands the lines over undecoded: the quality chain decodes and validates them.
	NDJSON Format = iota
	// BinanceCSV is Binance's public aggTrades CSV (data.binance.vision), decoded with DecodeCSV.
	BinanceCSV
)

// String returns "ndjson" or "binance-csv", the names ParseFormat accepts.
func (f Format) String() string {
	switch f {
	case NDJSON:
		return "ndjson"
	case BinanceCSV:
		return "binance-csv"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat parses the names String returns, for command-line flags.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "ndjson", "jsonl":
		return NDJSON, nil
	case "binance-csv", "csv":
		return BinanceCSV, nil
	}
	return 0, fmt.Errorf("replay: format must be ndjson or binance-csv, got %q", s)
}

// Option configures a Source.
type Option func(*options)

type options struct {
	format    Format
	formatSet bool
	exchange  string
	symbol    string
	speed     float64
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	partition string
	skip      int64
	maxLine   int
}

// WithFormat sets the file format. Open defaults to BinanceCSV for a path ending in .csv and to
// NDJSON otherwise; New defaults to NDJSON.
func WithFormat(f Format) Option { return func(o *options) { o.format, o.formatSet = f, true } }

// WithInstrument names the exchange and symbol of a BinanceCSV file, e.g. ("binance",
// "BTC-USDT"): the CSV lines carry neither. Required for BinanceCSV, ignored for NDJSON.
func WithInstrument(exchange, symbol string) Option {
	return func(o *options) { o.exchange, o.symbol = exchange, symbol }
}

// WithSpeed replays at factor × real time, paced by the records' event times. 0, the default,
// replays as fast as possible and never reads the clock, which keeps replays deterministic.
func WithSpeed(factor float64) Option { return func(o *options) { o.speed = factor } }

// WithClock replaces the wall clock and the sleep that pacing uses, for tests. sleep must return
// ctx.Err() when ctx ends first.
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.now, o.sleep = now, sleep }
}

// WithPartition sets Position.Partition. It defaults to the file's base name (Open) or "replay".
func WithPartition(name string) Option { return func(o *options) { o.partition = name } }

// WithSkip resumes after a checkpoint: records at positions 1..n are read but not emitted, so
// passing the Offset of the last record processed yields exactly the records after it.
func WithSkip(n int64) Option { return func(o *options) { o.skip = n } }

// DefaultMaxLineBytes is the longest line a replay hands over whole: a unified trade is a few
// hundred bytes, a CSV line less. A longer line becomes a record whose Err is a *LineTooLongError,
// holding the line's first bytes only, so that a hostile file cannot exhaust memory.
const DefaultMaxLineBytes = 1 << 20

// WithMaxLineBytes sets the longest line handed over whole (DefaultMaxLineBytes when n <= 0).
func WithMaxLineBytes(n int) Option { return func(o *options) { o.maxLine = n } }

// keepOfLongLine is how much of a line over the limit its record keeps.
const keepOfLongLine = 4096

// LineTooLongError is the Err of a line longer than the limit: the pipeline dead-letters it as
// malformed, with the line's first bytes and this message.
type LineTooLongError struct {
	Partition string
	Line      int64 // 1-based line number
	Length    int64 // bytes, without the line ending
	Max       int
}

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("replay: %s line %d is %d bytes, more than the limit of %d (replay.WithMaxLineBytes): only its first %d bytes are kept",
		e.Partition, e.Line, e.Length, e.Max, keepOfLongLine)
}

// readBufSize is the bufio buffer: a line that fits is handed out without a copy; a longer one is
// assembled in a separate buffer.
const readBufSize = 1 << 20

// Source replays a bounded input as records. It is not safe for concurrent use.
type Source struct {
	opt    options
	r      *bufio.Reader
	closer io.Closer
	read   atomic.Int64 // bytes read from an Open file (Progress)
	size   int64        // its size, when known
	long   []byte       // assembles lines longer than the read buffer
	line   int64        // lines read so far (the Offset of the last line)
	over   int64        // the length of the line just read when it was over the limit, else 0
	header bool         // whether the first line has been looked at for a CSV header
	err    error        // sticky: end of input, a read error, or a configuration error (Trades)
	closed bool

	mem    bool        // replaying trades from memory (Trades) rather than lines from r
	trades []ctc.Trade // Trades' input
	next   int

	// pacing: the wall time and event time of the first emitted record
	paced     bool
	wallStart time.Time
	evStart   time.Time
}

var (
	_ ctc.Source = (*Source)(nil)
	_ ctc.Closer = (*Source)(nil)
)

var errClosed = fmt.Errorf("replay: Next after Close: %w", ctc.ErrClosed)

func newOptions(partition string, opts []Option) options {
	o := options{partition: partition}
	for _, f := range opts {
		f(&o)
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.sleep == nil {
		o.sleep = clock.Sleep
	}
	return o
}

func (o *options) validate() error {
	var errs []error
	if o.format != NDJSON && o.format != BinanceCSV {
		errs = append(errs, fmt.Errorf("replay: format must be NDJSON or BinanceCSV, got %v", o.format))
	}
	if o.format == BinanceCSV && (o.exchange == "" || o.symbol == "") {
		errs = append(errs, errors.New(`replay: BinanceCSV needs WithInstrument(exchange, symbol), e.g. ("binance", "BTC-USDT"): the CSV has no symbol column`))
	}
	if o.speed < 0 || math.IsNaN(o.speed) || math.IsInf(o.speed, 0) {
		errs = append(errs, fmt.Errorf("replay: speed must be a finite factor >= 0 (0 = as fast as possible), got %v", o.speed))
	}
	if o.skip < 0 {
		errs = append(errs, fmt.Errorf("replay: skip must be >= 0, got %d", o.skip))
	}
	return errors.Join(errs...)
}

// Open replays the file at path. Close releases it.
func Open(path string, opts ...Option) (*Source, error) {
	o := newOptions(filepath.Base(path), opts)
	if !o.formatSet && strings.EqualFold(filepath.Ext(path), ".csv") {
		o.format = BinanceCSV
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, fmt.Errorf("replay: %s is a directory; give the path of an NDJSON or CSV file", path)
	}
	src := &Source{opt: o, closer: f}
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		src.size = fi.Size()
	}
	src.r = bufio.NewReaderSize(countingReader{f, &src.read}, readBufSize)
	return src, nil
}

// countingReader counts the bytes read from r into n, for Progress.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Progress reports how far an Open source is through its file: the bytes read from it (up to a
// megabyte ahead of the records handed out) and its size. Size is 0 for a source made by New or
// Trades, or a file that is not a regular file. It may be called from any goroutine.
func (s *Source) Progress() (read, size int64) { return s.read.Load(), s.size }

// New replays r. The Source does not close r.
func New(r io.Reader, opts ...Option) (*Source, error) {
	o := newOptions("replay", opts)
	if err := o.validate(); err != nil {
		return nil, err
	}
	return &Source{opt: o, r: bufio.NewReaderSize(r, readBufSize)}, nil
}

// Trades replays trades already decoded (rec.Decoded = true, rec.Data = nil), at positions 1..n:
// the in-memory reference source for tests and examples. Format and instrument options are
// ignored; an invalid option is returned by the first Next.
func Trades(trades []ctc.Trade, opts ...Option) *Source {
	o := newOptions("replay", opts)
	o.format = NDJSON
	s := &Source{opt: o, mem: true, trades: trades}
	s.err = o.validate()
	return s
}

// Bulk implements ctc.BulkSource: a replay as fast as possible reads storage and never waits; one
// paced to real time (WithSpeed) does.
func (s *Source) Bulk() bool { return s.opt.speed == 0 }

var _ ctc.BulkSource = (*Source)(nil)

// Next fills rec with the next record, or returns ctc.ErrEndOfInput after the last one. rec.Data
// may point into the Source's buffers: it is valid until the next call, and its capacity is cut to
// its length so that appending to it copies rather than overwrites what the Source has not read yet.
func (s *Source) Next(ctx context.Context, rec *ctc.Record) error {
	if s.closed {
		return errClosed
	}
	if s.err != nil {
		return s.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var ev time.Time
	if s.mem {
		if err := s.nextTrade(rec); err != nil {
			return err
		}
		ev = rec.Trade.Timestamp
	} else {
		if err := s.nextLine(rec); err != nil {
			return err
		}
		if s.opt.speed > 0 {
			switch {
			case rec.Decoded:
				ev = rec.Trade.Timestamp
			case s.opt.format == NDJSON:
				ev = jsonTimestamp(rec.Data)
			}
		}
	}
	if s.opt.speed > 0 && !ev.IsZero() {
		return s.pace(ctx, ev)
	}
	return nil
}

// Seek makes the source resume after a checkpointed position: records at or before after.Offset
// are skipped. It must be called before the first Next; it implements ctc.Seeker.
func (s *Source) Seek(ctx context.Context, after ctc.Position) error {
	if s.line > 0 || s.next > 0 {
		return errors.New("replay: Seek must come before the first Next")
	}
	if after.Partition != "" && after.Partition != s.opt.partition {
		return fmt.Errorf("replay: the checkpoint is for %q but this source reads %q", after.Partition, s.opt.partition)
	}
	if after.Offset < 0 {
		return fmt.Errorf("replay: cannot seek to offset %d", after.Offset)
	}
	s.opt.skip = after.Offset
	return nil
}

func (s *Source) nextTrade(rec *ctc.Record) error {
	for s.next < len(s.trades) {
		i := s.next
		s.next++
		if int64(i+1) <= s.opt.skip {
			continue
		}
		*rec = ctc.Record{Decoded: true, Trade: s.trades[i],
			Position: ctc.Position{Partition: s.opt.partition, Offset: int64(i + 1)}}
		return nil
	}
	s.err = ctc.ErrEndOfInput
	return s.err
}

func (s *Source) nextLine(rec *ctc.Record) error {
	for {
		line, err := s.readLine()
		if err != nil {
			s.err = err
			return err
		}
		if s.line == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		if blank(line) {
			continue
		}
		first := !s.header
		s.header = true
		if s.line <= s.opt.skip {
			continue
		}
		pos := ctc.Position{Partition: s.opt.partition, Offset: s.line}
		if s.over > 0 {
			*rec = ctc.Record{Data: line, Position: pos,
				Err: &LineTooLongError{Partition: s.opt.partition, Line: s.line, Length: s.over, Max: s.maxLine()}}
			return nil
		}
		if s.opt.format == NDJSON {
			*rec = ctc.Record{Data: line, Position: pos}
			return nil
		}
		if first && isLetter(line[0]) { // a header row such as agg_trade_id,price,…
			continue
		}
		*rec = ctc.Record{Data: line, Position: pos}
		if err := DecodeCSV(line, s.opt.exchange, s.opt.symbol, &rec.Trade); err != nil {
			rec.Err = fmt.Errorf("%s line %d: %w", s.opt.partition, s.line, err)
		} else {
			rec.Decoded = true
		}
		return nil
	}
}

var utf8BOM = []byte("\xef\xbb\xbf")

func (s *Source) maxLine() int {
	if s.opt.maxLine <= 0 {
		return DefaultMaxLineBytes
	}
	return max(s.opt.maxLine, keepOfLongLine)
}

// trailingEOL is the length of the line ending at the end of b: 0, 1 (\n) or 2 (\r\n).
func trailingEOL(b []byte) int64 {
	n := len(b)
	switch {
	case n >= 2 && b[n-2] == '\r' && b[n-1] == '\n':
		return 2
	case n >= 1 && b[n-1] == '\n':
		return 1
	}
	return 0
}

// readLine returns the next line without its line ending, or ctc.ErrEndOfInput. A line over the
// limit is returned cut to its first keepOfLongLine bytes, with s.over set to its length; the
// rest of it is read and dropped, never held.
func (s *Source) readLine() ([]byte, error) {
	s.over = 0
	frag, err := s.r.ReadSlice('\n')
	var line []byte
	total := int64(len(frag))
	switch {
	case err == nil:
		line = frag
	case errors.Is(err, bufio.ErrBufferFull):
		s.long = append(s.long[:0], frag...)
		for errors.Is(err, bufio.ErrBufferFull) {
			frag, err = s.r.ReadSlice('\n')
			total += int64(len(frag))
			if len(s.long) <= s.maxLine() {
				s.long = append(s.long, frag...) // beyond the limit only the length is kept
			}
		}
		if err != nil && err != io.EOF {
			return nil, s.readErr(err)
		}
		line = s.long
	case err == io.EOF:
		if len(frag) == 0 {
			return nil, ctc.ErrEndOfInput
		}
		line = frag // a last line without a newline still counts
	default:
		return nil, s.readErr(err)
	}
	s.line++
	if n := total - trailingEOL(frag); n > int64(s.maxLine()) {
		s.over = n
		return line[:keepOfLongLine:keepOfLongLine], nil
	}
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
	}
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	return line[:n:n], nil
}

func (s *Source) readErr(err error) error {
	return fmt.Errorf("replay: reading %s after line %d: %w", s.opt.partition, s.line, err)
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// pace holds the record back until the wall clock has moved (ev − first event)/speed past the
// moment the first record went out. Measuring every record from that one origin, rather than
// sleeping the gap between neighbours, keeps rounding and scheduling delays from accumulating.
func (s *Source) pace(ctx context.Context, ev time.Time) error {
	if !s.paced {
		s.paced = true
		s.wallStart, s.evStart = s.opt.now(), ev
		return nil
	}
	due := s.wallStart.Add(time.Duration(float64(ev.Sub(s.evStart)) / s.opt.speed))
	if d := due.Sub(s.opt.now()); d > 0 {
		return s.opt.sleep(ctx, d)
	}
	return nil
}

// jsonTimestamp finds the "timestamp" member of a unified trade line for pacing, without a full
// decode: the quality chain decodes the line properly later, and a line whose time cannot be found
// here is simply not paced.
func jsonTimestamp(line []byte) time.Time {
	const key = `"timestamp"`
	i := bytes.Index(line, []byte(key))
	if i < 0 {
		return time.Time{}
	}
	rest := bytes.TrimLeft(line[i+len(key):], " \t")
	if len(rest) == 0 || rest[0] != ':' {
		return time.Time{}
	}
	rest = bytes.TrimLeft(rest[1:], " \t")
	if len(rest) == 0 || rest[0] != '"' {
		return time.Time{}
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[1:1+end]))
	if err != nil {
		return time.Time{}
	}
	return t
}

// Close releases the file Open opened. It is safe to call more than once.
func (s *Source) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.closer != nil {
		if err := s.closer.Close(); err != nil {
			return fmt.Errorf("replay: closing %s: %w", s.opt.partition, err)
		}
	}
	return nil
}
