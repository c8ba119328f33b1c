package nab

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Detector scores one series, one row at a time, knowing only the rows before.
type Detector interface {
	// Score returns the anomaly score, in [0, 1], of value v observed at t.
	Score(t time.Time, v float64) float64
}

// DetectorFunc adapts a function to a Detector.
type DetectorFunc func(t time.Time, v float64) float64

// Score calls f.
func (f DetectorFunc) Score(t time.Time, v float64) float64 { return f(t, v) }

// Run streams one NAB CSV from r through d and writes one score per data row to w, one per
// line. Output is flushed whenever the input has nothing buffered, so a consumer sees each
// score as soon as its row has arrived. A score outside [0, 1] (or NaN) is an error, as in
// NAB. Scores are written in the shortest form that reads back to the same float64, so that
// ties at a threshold survive the text.
func Run(r io.Reader, w io.Writer, d Detector) error {
	in := NewReader(r)
	out := bufio.NewWriter(w)
	var buf []byte
	for n := 1; ; n++ {
		if in.Buffered() == 0 {
			if err := out.Flush(); err != nil {
				return err
			}
		}
		row, err := in.Read()
		if err == io.EOF {
			return out.Flush()
		}
		if err != nil {
			return err
		}
		s := d.Score(row.Time, row.Value)
		if !(s >= 0 && s <= 1) {
			return fmt.Errorf("nab: the detector scored row %d (%s, %v) %v, outside [0, 1]", n, FormatTime(row.Time), row.Value, s)
		}
		buf = strconv.AppendFloat(buf[:0], s, 'g', -1, 64)
		buf = append(buf, '\n')
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
}

// ReadScores reads a detector's output for one file: one finite score per line, blank lines
// skipped.
// A NAB results file (a CSV whose header has an anomaly_score column) is read too, from that
// column.
func ReadScores(r io.Reader) ([]float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var out []float64
	col := -1
	for line := 0; sc.Scan(); {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if line == 1 && bytes.Contains(text, []byte("anomaly_score")) {
			for i, h := range bytes.Split(text, []byte(",")) {
				if string(bytes.TrimSpace(h)) == "anomaly_score" {
					col = i
				}
			}
			continue
		}
		field := text
		if col >= 0 {
			fields := bytes.Split(text, []byte(","))
			if col >= len(fields) {
				return nil, fmt.Errorf("line %d: no anomaly_score column", line)
			}
			field = bytes.TrimSpace(fields[col])
		}
		v, err := strconv.ParseFloat(string(field), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("line %d: want a finite score, got %s", line, quote(field))
		}
		out = append(out, v)
	}
	return out, sc.Err()
}

// RunCorpus runs a fresh detector from newDetector over every file of c through Run, exactly
// as the runner command does (CSV text in, score text out), files in parallel, and returns the
// scores by file name, ready for Score. Files are read from c.Dir; a corpus built in memory
// is written out as CSV first.
func RunCorpus(c *Corpus, newDetector func() Detector) (map[string][]float64, error) {
	scores := make(map[string][]float64, len(c.Files))
	errs := make([]error, len(c.Files))
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(c.Files)) {
		wg.Go(func() {
			for i := range jobs {
				s, err := runFile(c, c.Files[i], newDetector())
				if err != nil {
					errs[i] = fmt.Errorf("nab: %s: %w", c.Files[i].Name, err)
					continue
				}
				mu.Lock()
				scores[c.Files[i].Name] = s
				mu.Unlock()
			}
		})
	}
	for i := range c.Files {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return scores, nil
}

func runFile(c *Corpus, f *File, d Detector) ([]float64, error) {
	var in io.Reader
	if c.Dir != "" {
		fh, err := os.Open(filepath.Join(c.Dir, "data", filepath.FromSlash(f.Name)))
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		in = fh
	} else {
		in = bytes.NewReader(AppendCSV(nil, f))
	}
	var out bytes.Buffer
	if err := Run(in, &out, d); err != nil {
		return nil, err
	}
	s, err := ReadScores(&out)
	if err != nil {
		return nil, err
	}
	if len(s) != len(f.Timestamps) {
		return nil, fmt.Errorf("the runner wrote %d scores for %d rows", len(s), len(f.Timestamps))
	}
	return s, nil
}

// AppendCSV appends f as a NAB CSV: the header, then one row per line.
func AppendCSV(b []byte, f *File) []byte {
	b = append(b, Header...)
	b = append(b, '\n')
	for i, t := range f.Timestamps {
		b = append(b, FormatTime(t)...)
		b = append(b, ',')
		v := 0.0
		if f.Values != nil {
			v = f.Values[i]
		}
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
		b = append(b, '\n')
	}
	return b
}

// Rounded returns d with its scores rounded to digits significant decimal digits.
//
// NAB's published result files hold scores to 12 significant digits (Python 2 wrote floats
// with str()), which merges every score above 1 - 5e-13 into 1.0. For a detector whose scores
// crowd towards 1, such as the windowed Gaussian, that is the threshold NAB's published figures
// rest on: at full precision the optimiser finds a finer one. Rounded(d, 12) reproduces them.
func Rounded(d Detector, digits int) Detector {
	return DetectorFunc(func(t time.Time, v float64) float64 {
		s := d.Score(t, v)
		r, err := strconv.ParseFloat(strconv.FormatFloat(s, 'g', digits, 64), 64)
		if err != nil {
			return s
		}
		return r
	})
}
