package jsonl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// The file names, one per record kind.
const (
	AlertsFile      = "alerts.ndjson"
	VolumesFile     = "volume_aggregates.ndjson"
	SpreadsFile     = "exchange_spreads.ndjson"
	WhalesFile      = "whale_trades.ndjson"
	LateFile        = "late.ndjson"
	DeadLettersFile = "dlq.ndjson"
	TradesFile      = "raw_trades.ndjson"
)

// BufferSize is the size of each file's write buffer: large enough that a busy minute of trades
// costs a handful of write calls, small enough for seven of them to be negligible.
const BufferSize = 256 << 10

// ErrClosed (which wraps ctc.ErrClosed) is returned by Write and Flush after Close.
var ErrClosed = fmt.Errorf("jsonl: sink is closed: %w", ctc.ErrClosed)

// kind indexes the files; trades last, since it is the only optional one.
type kind int

const (
	alerts kind = iota
	volumes
	spreads
	whales
	late
	deadLetters
	trades
	numKinds
)

var fileNames = [numKinds]string{AlertsFile, VolumesFile, SpreadsFile, WhalesFile, LateFile, DeadLettersFile, TradesFile}

// Sink writes batches to NDJSON files in one directory. Create it with New.
type Sink struct {
	dir string

	mu      sync.Mutex
	files   [numKinds]*file // files[trades] is nil without WithTrades
	scratch []byte
	closed  bool
}

var (
	_ ctc.Sink        = (*Sink)(nil)
	_ ctc.Flusher     = (*Sink)(nil)
	_ ctc.Closer      = (*Sink)(nil)
	_ ctc.TradeReader = (*Sink)(nil)
)

type file struct {
	path string
	f    *os.File
	w    *bufio.Writer
	// dirty records writes since the last fsync, so that a checkpoint with nothing new for a file
	// costs it no fsync.
	dirty bool
}

// err wraps a file error with the file's name, unless the error (an *os.PathError) already names it.
func (f *file) err(op string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Path == f.path {
		return fmt.Errorf("jsonl: %w", err)
	}
	return fmt.Errorf("jsonl: %s %s: %w", op, f.path, err)
}

// Option configures a Sink.
type Option func(*options)

type options struct {
	trades bool
	append bool
}

// ReadsTrades implements ctc.TradeReader: the sink writes trades only WithTrades.
func (s *Sink) ReadsTrades() bool { return s.files[trades] != nil }

// WithTrades also writes every valid trade to raw_trades.ndjson. It is off by default because
// trades outnumber everything else by orders of magnitude.
func WithTrades() Option { return func(o *options) { o.trades = true } }

// WithAppend appends to the files in dir instead of truncating them, to resume a run. A final line
// without its newline, torn by a crash, is cut off first, so that the file stays one object a line.
func WithAppend() Option { return func(o *options) { o.append = true } }

// New creates dir if needed and opens its files. Without WithAppend it starts the directory afresh:
// it truncates every file it writes and removes a raw_trades.ndjson left by an earlier run with
// WithTrades, so that Read never mixes two runs.
func New(dir string, opts ...Option) (*Sink, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	s := &Sink{dir: dir, scratch: make([]byte, 0, 4096)}
	for k := range numKinds {
		path := filepath.Join(dir, fileNames[k])
		if k == trades && !o.trades {
			if o.append {
				continue
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				s.closeFiles()
				return nil, fmt.Errorf("jsonl: %w", err)
			}
			continue
		}
		f, err := open(path, o.append)
		if err != nil {
			s.closeFiles()
			return nil, err
		}
		s.files[k] = f
	}
	if err := syncDir(dir); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

func open(path string, appending bool) (*file, error) {
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if appending {
		flag = os.O_RDWR | os.O_CREATE
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	fl := &file{path: path, f: f, w: bufio.NewWriterSize(f, BufferSize)}
	if appending {
		if err := cutTornLine(f); err != nil {
			f.Close()
			return nil, fl.err("resume", err)
		}
	}
	return fl, nil
}

// cutTornLine truncates f after its last newline and leaves the offset at the end. It reads
// backwards in blocks, since a resumed file may be large but a torn line is short.
func cutTornLine(f *os.File) error {
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	keep := int64(0)
	buf := make([]byte, 64<<10)
	for off := end; off > 0; {
		n := min(int64(len(buf)), off)
		off -= n
		if _, err := f.ReadAt(buf[:n], off); err != nil {
			return err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			keep = off + int64(i) + 1
			break
		}
	}
	if keep == end {
		return nil
	}
	if err := f.Truncate(keep); err != nil {
		return err
	}
	_, err = f.Seek(keep, io.SeekStart)
	return err
}

// syncDir makes the files' directory entries durable.
func syncDir(dir string) error {
	if err := fsx.SyncDir(dir); err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}

// Dir returns the directory the sink writes to, for Read.
func (s *Sink) Dir() string { return s.dir }

// Write appends one line per record to the record's file. If ctx is already done it returns
// ctx.Err() and writes nothing: local writes cannot be abandoned half-way, so checking first is
// what keeps a cancelled context from leaving part of a batch behind.
//
// After an I/O error the files may hold part of the batch and every later call fails; Close the
// sink and resume WithAppend from the last checkpoint.
func (s *Sink) Write(ctx context.Context, b *ctc.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	o := &b.Output
	if err := writeAll(s, trades, b.Trades); err != nil {
		return err
	}
	if err := writeAll(s, alerts, o.Alerts); err != nil {
		return err
	}
	if err := writeAll(s, volumes, o.Volumes); err != nil {
		return err
	}
	if err := writeAll(s, spreads, o.Spreads); err != nil {
		return err
	}
	if err := writeAll(s, whales, o.Whales); err != nil {
		return err
	}
	if err := writeAll(s, late, o.Late); err != nil {
		return err
	}
	return writeAll(s, deadLetters, b.DeadLetters)
}

// record is every root record type, encoded through a type parameter rather than an interface or
// a func so that writing a record allocates nothing.
type record[T any] interface {
	*T
	AppendJSON([]byte) []byte
}

// writeAll writes recs, one line each, to the file of kind k, if the sink writes that kind.
func writeAll[T any, P record[T]](s *Sink, k kind, recs []T) error {
	f := s.files[k]
	if f == nil {
		return nil
	}
	for i := range recs {
		s.scratch = P(&recs[i]).AppendJSON(s.scratch[:0])
		if err := s.line(f); err != nil {
			return err
		}
	}
	return nil
}

// line writes the encoded record in s.scratch, and its newline, to f.
func (s *Sink) line(f *file) error {
	s.scratch = append(s.scratch, '\n')
	f.dirty = true
	if _, err := f.w.Write(s.scratch); err != nil {
		return f.err("write", err)
	}
	return nil
}

// Flush writes every buffered line to its file and fsyncs the files written since the last Flush.
// It returns ctx.Err() if ctx is already done, and ErrClosed after Close.
func (s *Sink) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.flushLocked()
}

func (s *Sink) flushLocked() error {
	var errs []error
	for _, f := range s.files {
		if f == nil || !f.dirty {
			continue
		}
		if err := f.w.Flush(); err != nil {
			errs = append(errs, f.err("write", err))
			continue
		}
		if err := f.f.Sync(); err != nil {
			errs = append(errs, f.err("sync", err))
			continue
		}
		f.dirty = false
	}
	return errors.Join(errs...)
}

// Close flushes and fsyncs what was written, as Flush does, and closes the files. It does so even
// if ctx is done, since local file I/O cannot be abandoned midway, and the files are closed even if
// the flush fails. Closing twice is not an error.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.flushLocked()
	return errors.Join(err, s.closeFiles())
}

func (s *Sink) closeFiles() error {
	var errs []error
	for k, f := range s.files {
		if f == nil {
			continue
		}
		if err := f.f.Close(); err != nil {
			errs = append(errs, f.err("close", err))
		}
		s.files[k] = nil
	}
	return errors.Join(errs...)
}
