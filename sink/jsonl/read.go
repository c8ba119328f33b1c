package jsonl

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/memory"
)

// maxLine bounds one line in Read. A dead letter holds a whole input record (a Kinesis record is at
// most 1 MiB, a third more in base64), so the scanner's 64 KiB default would be too small.
const maxLine = 16 << 20

// Read parses every file a Sink wrote in dir back into records, with the root types' UnmarshalJSON
// methods, in file order. A missing file reads as no records (raw_trades.ndjson exists only
// WithTrades), but a missing dir is an error. Batches, Flushes and Position are zero: the files do
// not record them. An error names the file and line.
//
// Read sees only what reached the files: call the sink's Flush (or Close) first.
func Read(dir string) (*memory.Contents, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	c := &memory.Contents{}
	o := &c.Output
	err := errors.Join(
		readFile(dir, TradesFile, &c.Trades, (*ctc.Trade).UnmarshalJSON),
		readFile(dir, AlertsFile, &o.Alerts, (*ctc.Alert).UnmarshalJSON),
		readFile(dir, VolumesFile, &o.Volumes, (*ctc.VolumeWindow).UnmarshalJSON),
		readFile(dir, SpreadsFile, &o.Spreads, (*ctc.SpreadWindow).UnmarshalJSON),
		readFile(dir, WhalesFile, &o.Whales, (*ctc.WhaleTrade).UnmarshalJSON),
		readFile(dir, LateFile, &o.Late, unmarshalLate),
		readFile(dir, DeadLettersFile, &c.DeadLetters, (*ctc.DeadLetter).UnmarshalJSON),
	)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func readFile[T any](dir, name string, dst *[]T, unmarshal func(*T, []byte) error) error {
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		var v T
		if err := unmarshal(&v, sc.Bytes()); err != nil {
			return fmt.Errorf("jsonl: %s:%d: %w", filepath.Join(dir, name), n, err)
		}
		*dst = append(*dst, v)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("jsonl: %s: %w", filepath.Join(dir, name), err)
	}
	return nil
}

// unmarshalLate decodes a late.ndjson line: the detector and the trade's fields, flat, as
// ctc.LateTrade.AppendJSON writes them (the root type has no UnmarshalJSON of its own).
func unmarshalLate(l *ctc.LateTrade, b []byte) error {
	var v struct {
		Detector string `json:"detector"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = ctc.LateTrade{Detector: v.Detector}
	return l.Trade.UnmarshalJSON(b)
}
