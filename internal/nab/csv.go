package nab

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxLineLen bounds one line of a NAB CSV, in bytes without the line end. NAB's lines are
// about 30 bytes; anything near the bound is not a NAB file.
const MaxLineLen = 1024

// Header is the first line of every NAB data file.
const Header = "timestamp,value"

// timeLayout is NAB's timestamp: naive, read as UTC, with optional fractional seconds (the
// label file writes "2014-04-10 07:15:00.000000", the data files "2014-04-10 07:15:00").
const timeLayout = "2006-01-02 15:04:05.999999999"

// Row is one data row of a NAB file.
type Row struct {
	Time  time.Time
	Value float64
}

// ParseError is a malformed line of a NAB CSV.
type ParseError struct {
	Line int    // 1-based line number, the header being line 1
	Msg  string // what is wrong, with the offending text cut to a bounded length
}

func (e *ParseError) Error() string { return fmt.Sprintf("nab csv line %d: %s", e.Line, e.Msg) }

// Reader reads the rows of one NAB CSV (header "timestamp,value", then one "timestamp,value"
// row per line) as they arrive, without reading ahead more than its buffer. Blank lines are
// skipped, as NAB's own reader does; CRLF line ends are accepted.
type Reader struct {
	br     *bufio.Reader
	line   int
	header bool
	err    error
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	return &Reader{br: bufio.NewReaderSize(r, 64<<10)}
}

// Buffered reports how many bytes of input are buffered: when it is 0 the next Read may block
// on the underlying reader, so a streaming writer flushes first.
func (r *Reader) Buffered() int { return r.br.Buffered() }

// Read returns the next data row, or io.EOF after the last one. After any other error the
// Reader returns that error forever.
func (r *Reader) Read() (Row, error) {
	if r.err != nil {
		return Row{}, r.err
	}
	for {
		line, err := r.next()
		if err != nil {
			if err == io.EOF && !r.header {
				err = &ParseError{Line: r.line + 1, Msg: "empty input: want the header " + Header}
			}
			r.err = err
			return Row{}, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !r.header {
			h := strings.TrimSpace(strings.TrimPrefix(string(line), "\ufeff"))
			if !strings.EqualFold(h, Header) {
				r.err = &ParseError{Line: r.line, Msg: "want the header " + Header + ", got " + quote(line)}
				return Row{}, r.err
			}
			r.header = true
			continue
		}
		row, perr := parseRow(line)
		if perr != "" {
			r.err = &ParseError{Line: r.line, Msg: perr}
			return Row{}, r.err
		}
		return row, nil
	}
}

// next returns the next line without its line end. A last line without a newline counts.
func (r *Reader) next() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		r.line++
		return nil, &ParseError{Line: r.line, Msg: fmt.Sprintf("line longer than %d bytes", MaxLineLen)}
	}
	if err != nil && err != io.EOF {
		return nil, err
	}
	if err == io.EOF && len(line) == 0 {
		return nil, io.EOF
	}
	r.line++
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > MaxLineLen {
		return nil, &ParseError{Line: r.line, Msg: fmt.Sprintf("line longer than %d bytes", MaxLineLen)}
	}
	return line, nil
}

func parseRow(line []byte) (Row, string) {
	ts, val, ok := bytes.Cut(line, []byte(","))
	if !ok {
		return Row{}, "want timestamp,value, got " + quote(line)
	}
	t, err := ParseTime(string(bytes.TrimSpace(ts)))
	if err != nil {
		return Row{}, err.Error()
	}
	v, err := strconv.ParseFloat(string(bytes.TrimSpace(val)), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return Row{}, "value must be a finite number, got " + quote(val)
	}
	return Row{Time: t, Value: v}, ""
}

// ParseTime parses a NAB timestamp ("2006-01-02 15:04:05", optionally with fractional
// seconds), which has no zone, as UTC.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, errors.New("timestamp must look like 2006-01-02 15:04:05, got " + quote([]byte(s)))
	}
	return t, nil
}

// FormatTime formats t the way NAB's data files write timestamps.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// quote cuts b to a bounded length for an error message.
func quote(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "…"
	}
	return strconv.Quote(string(b))
}
