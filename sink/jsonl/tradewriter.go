package jsonl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"sync"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// TradeWriter writes the trades of every batch to one NDJSON file, one trade a line, in the form
// of raw_trades.ndjson — what the historical loader writes and the replay source reads. Dead
// letters and detector output are not written.
//
// It is exactly-once under checkpoints, for any number of pipelines writing one after another
// (the loader's symbols): it holds what it is given until Commit, then appends it, fsyncs, and
// records the file's length and the checkpoint's sequence number per pipeline in a small log
// beside the file (path + CommitLogSuffix, replaced atomically). A Commit whose sequence number
// the log already has for its pipeline — the pending output a restored pipeline commits again —
// is dropped, and a writer reopened with appendTo cuts whatever follows the logged length (a
// commit torn by a crash), so every checkpoint's lines are in the file once. Flush, for
// pipelines without checkpoints, appends without a sequence number. It holds a checkpoint's
// trades in memory (about 250 bytes each) until the commit.
type TradeWriter struct {
	mu     sync.Mutex
	path   string
	f      *os.File
	buf    []byte
	log    tradeLog
	closed bool
}

// CommitLogSuffix names a TradeWriter's commit log: the file's path with this suffix.
const CommitLogSuffix = ".commits.json"

type tradeLog struct {
	// Size is the file's length after the last commit or flush.
	Size int64 `json:"size"`
	// Committed is the last checkpoint sequence number committed by each pipeline.
	Committed map[string]int64 `json:"committed"`
}

var (
	_ ctc.Sink        = (*TradeWriter)(nil)
	_ ctc.Committer   = (*TradeWriter)(nil)
	_ ctc.Flusher     = (*TradeWriter)(nil)
	_ ctc.Closer      = (*TradeWriter)(nil)
	_ ctc.TradeReader = (*TradeWriter)(nil)
)

// NewTradeWriter creates or truncates path (and forgets its commit log), or with appendTo
// continues it: after the length its commit log records, or, without a log, after cutting a
// line torn by a crash.
func NewTradeWriter(path string, appendTo bool) (*TradeWriter, error) {
	t := &TradeWriter{path: path, log: tradeLog{Committed: map[string]int64{}}}
	logPath := path + CommitLogSuffix
	if !appendTo {
		if err := os.Remove(logPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("jsonl: %w", err)
		}
	}
	fl, err := open(path, appendTo)
	if err != nil {
		return nil, err
	}
	t.f = fl.f
	size, err := t.f.Seek(0, io.SeekEnd)
	if err != nil {
		t.f.Close()
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	t.log.Size = size
	if b, err := os.ReadFile(logPath); err == nil && appendTo {
		var lg tradeLog
		if err := json.Unmarshal(b, &lg); err != nil {
			t.f.Close()
			return nil, fmt.Errorf("jsonl: %s: %w", logPath, err)
		}
		if lg.Size > size {
			t.f.Close()
			return nil, fmt.Errorf("jsonl: %s is %d bytes, shorter than the %d its commit log records: it lost committed trades", path, size, lg.Size)
		}
		if lg.Committed == nil {
			lg.Committed = map[string]int64{}
		}
		t.log = lg
		if err := t.f.Truncate(lg.Size); err != nil {
			t.f.Close()
			return nil, fmt.Errorf("jsonl: %w", err)
		}
		if _, err := t.f.Seek(lg.Size, io.SeekStart); err != nil {
			t.f.Close()
			return nil, fmt.Errorf("jsonl: %w", err)
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.f.Close()
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	return t, nil
}

// ReadsTrades implements ctc.TradeReader.
func (t *TradeWriter) ReadsTrades() bool { return true }

// Write adds b's trades to what the next Commit or Flush appends; it returns ctx.Err() without
// taking anything if ctx is done.
func (t *TradeWriter) Write(ctx context.Context, b *ctc.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	for i := range b.Trades {
		t.buf = append(b.Trades[i].AppendJSON(t.buf), '\n')
	}
	return nil
}

// Commit appends what was written since the last commit under cp, or drops it when the log
// has cp's sequence number for its pipeline already.
func (t *TradeWriter) Commit(ctx context.Context, cp ctc.Checkpoint) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if cp.Seq <= t.log.Committed[cp.PipelineID] {
		t.buf = t.buf[:0]
		return nil
	}
	return t.appendLocked(&cp)
}

// Flush appends what was written since the last commit, without a checkpoint.
func (t *TradeWriter) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	return t.appendLocked(nil)
}

// appendLocked writes the held lines, fsyncs, and records the new length (and cp) in the log.
func (t *TradeWriter) appendLocked(cp *ctc.Checkpoint) error {
	if len(t.buf) == 0 && cp == nil {
		return nil
	}
	if _, err := t.f.Write(t.buf); err != nil {
		return fmt.Errorf("jsonl: write %s: %w", t.path, err)
	}
	if err := t.f.Sync(); err != nil {
		return fmt.Errorf("jsonl: sync %s: %w", t.path, err)
	}
	lg := tradeLog{Size: t.log.Size + int64(len(t.buf)), Committed: maps.Clone(t.log.Committed)}
	if cp != nil {
		lg.Committed[cp.PipelineID] = cp.Seq
	}
	b, err := json.Marshal(lg)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	if err := fsx.WriteFileAtomic(t.path+CommitLogSuffix, b); err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	t.log, t.buf = lg, t.buf[:0]
	return nil
}

// Close appends what is held, as Flush does, and closes the file. Closing twice is not an error.
func (t *TradeWriter) Close(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	err := t.appendLocked(nil)
	if cerr := t.f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("jsonl: close %s: %w", t.path, cerr))
	}
	return err
}
