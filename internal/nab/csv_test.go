package nab

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readAll(in string) ([]Row, error) {
	r := NewReader(strings.NewReader(in))
	var rows []Row
	for {
		row, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
	}
}

func TestReader(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		tm, err := time.Parse(time.DateTime, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	two := []Row{{at("2014-04-01 00:00:00"), 20}, {at("2014-04-01 00:05:00"), -1.5e3}}
	for _, tc := range []struct {
		name, in string
		want     []Row
	}{
		{"NAB", "timestamp,value\n2014-04-01 00:00:00,20\n2014-04-01 00:05:00,-1.5e3\n", two},
		{"no final newline", "timestamp,value\n2014-04-01 00:00:00,20\n2014-04-01 00:05:00,-1.5e3", two},
		{"CRLF, BOM, blank lines", "\ufefftimestamp,value\r\n\r\n2014-04-01 00:00:00,20\r\n\n2014-04-01 00:05:00,-1.5e3\r\n\n", two},
		{"fractional seconds, spaces", "timestamp,value\n2014-04-01 00:00:00.000000, 20\n 2014-04-01 00:05:00 ,-1.5e3 \n", two},
		{"header only", "timestamp,value\n", nil},
	} {
		got, err := readAll(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if d := cmp.Diff(tc.want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"empty", "", 1, "empty input"},
		{"no header", "2014-04-01 00:00:00,20\n", 1, "want the header"},
		{"one column", "timestamp,value\n2014-04-01 00:00:00\n", 2, "want timestamp,value"},
		{"bad time", "timestamp,value\n2014-04-01T00:00:00Z,1\n", 2, "timestamp must look like"},
		{"bad value", "timestamp,value\n2014-04-01 00:00:00,abc\n", 2, "finite number"},
		{"NaN", "timestamp,value\n2014-04-01 00:00:00,NaN\n", 2, "finite number"},
		{"Inf", "timestamp,value\n2014-04-01 00:00:00,1e999\n", 2, "finite number"},
		{"long line", "timestamp,value\n2014-04-01 00:00:00," + strings.Repeat("1", MaxLineLen) + "\n", 2, "longer than"},
		{"very long line", "timestamp,value\n" + strings.Repeat("x", 100<<10), 2, "longer than"},
	} {
		_, err := readAll(tc.in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%s: got %v, want a ParseError on line %d saying %q", tc.name, err, tc.line, tc.msg)
		}
		if len(err.Error()) > 200 {
			t.Errorf("%s: unbounded error message of %d bytes", tc.name, len(err.Error()))
		}
	}
}

// FuzzReader: any input either reads or fails with an error, never panics; every row read has
// a finite value; and the rows written back as a NAB CSV read back the same.
func FuzzReader(f *testing.F) {
	f.Add([]byte("timestamp,value\n2014-04-01 00:00:00,20\n2014-04-01 00:05:00,-1.5e3\n"))
	f.Add([]byte("timestamp,value\r\n2015-02-26 21:42:53,104\r\n\r\n"))
	f.Add([]byte("\ufefftimestamp,value\n2014-04-10 07:15:00.000000,0x1p-2\n"))
	f.Add([]byte("timestamp,value\n2014-04-01 00:00:00,NaN\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		file := &File{}
		for {
			row, err := r.Read()
			if err != nil {
				if err != io.EOF {
					if _, again := r.Read(); again != err {
						t.Fatalf("the error changed after %v: %v", err, again)
					}
				}
				break
			}
			if math.IsNaN(row.Value) || math.IsInf(row.Value, 0) {
				t.Fatalf("read a non-finite value %v", row.Value)
			}
			file.Timestamps = append(file.Timestamps, row.Time)
			file.Values = append(file.Values, row.Value)
		}
		back, err := readAll(string(AppendCSV(nil, file)))
		if err != nil {
			t.Fatalf("the rows written back do not read: %v", err)
		}
		if len(back) != len(file.Values) {
			t.Fatalf("%d rows read back, want %d", len(back), len(file.Values))
		}
		for i, row := range back {
			if !row.Time.Equal(file.Timestamps[i]) || row.Value != file.Values[i] {
				t.Fatalf("row %d: read back %v, want %v %v", i, row, file.Timestamps[i], file.Values[i])
			}
		}
	})
}
