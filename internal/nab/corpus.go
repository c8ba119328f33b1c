package nab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Window is one labelled anomaly window of a file: its rows First..Last, both inclusive, whose
// timestamps are Start and End.
type Window struct {
	Start, End  time.Time
	First, Last int
}

// File is one series of the corpus.
type File struct {
	// Name is the path relative to the corpus's data directory, with slashes, as the label file
	// names it: "realTweets/Twitter_volume_AAPL.csv".
	Name       string
	Timestamps []time.Time
	Values     []float64
	// Windows are the labelled anomaly windows in time order. NewCorpus fills First and Last
	// from Start and End.
	Windows []Window
}

// Probation is the number of leading rows of an n-row file that are not scored: 15 % of the
// file, at most 750 rows. A detector learns there; its scores there count for nothing.
func Probation(n int) int {
	return int(math.Min(math.Floor(0.15*float64(n)), 750))
}

// Corpus is a set of labelled series, prepared for scoring: for every row, whether it is
// probationary, which window it is in, and its unweighted sweep score.
type Corpus struct {
	// Dir is the corpus root (with data/ and labels/) for a corpus from LoadCorpus, "" for
	// one from NewCorpus.
	Dir   string
	Files []*File // sorted by Name

	index       map[string]int
	offset      []int   // offset[i] is the index in pts of file i's first row
	pts         []point // every row of every file, in file order
	windows     int     // labelled windows
	scorableWin int     // windows with at least one row after the probationary period
	winBase     []int   // winBase[i] is the corpus-wide index of file i's first window
}

// point is one row as the scorer sees it.
type point struct {
	// win is the corpus-wide index of the row's window, outside (-1) or probationary (-2).
	win int32
	// u is the unweighted sweep score: inside a window, the scaled sigmoid of the row's
	// position divided by its value at the window's start (so 1 at the start); outside, the
	// scaled sigmoid of the distance past the previous window (-1 with none before).
	u float64
}

const (
	outside      = -1
	probationary = -2
)

// LoadCorpus reads a NAB corpus laid out as NAB's repository: dir/data/<category>/<file>.csv
// and dir/labels/combined_windows.json. Every data file must be labelled (an empty list for
// none) and every labelled file present.
func LoadCorpus(dir string) (*Corpus, error) {
	raw, err := readBounded(filepath.Join(dir, "labels", "combined_windows.json"), 16<<20)
	if err != nil {
		return nil, fmt.Errorf("nab: labels: %w", err)
	}
	var labels map[string][][]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("nab: labels/combined_windows.json: %w", err)
	}
	dataDir := filepath.Join(dir, "data")
	var names []string
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".csv") {
			return nil
		}
		rel, err := filepath.Rel(dataDir, path)
		if err != nil {
			return err
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("nab: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("nab: no .csv files under %s", dataDir)
	}
	files := make([]*File, 0, len(names))
	for _, name := range names {
		lw, ok := labels[name]
		if !ok {
			return nil, fmt.Errorf("nab: data/%s has no entry in labels/combined_windows.json", name)
		}
		f, err := readFile(filepath.Join(dataDir, filepath.FromSlash(name)))
		if err != nil {
			return nil, fmt.Errorf("nab: data/%s: %w", name, err)
		}
		f.Name = name
		for _, w := range lw {
			if len(w) != 2 {
				return nil, fmt.Errorf("nab: labels for %s: a window is [start, end], got %d timestamps", name, len(w))
			}
			s, err1 := ParseTime(w[0])
			e, err2 := ParseTime(w[1])
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("nab: labels for %s: %w", name, err)
			}
			f.Windows = append(f.Windows, Window{Start: s, End: e})
		}
		files = append(files, f)
	}
	for name := range labels {
		if !slices.Contains(names, name) {
			return nil, fmt.Errorf("nab: labels name %s, which is not under %s", name, dataDir)
		}
	}
	c, err := NewCorpus(files...)
	if err != nil {
		return nil, err
	}
	c.Dir = dir
	return c, nil
}

func readBounded(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

func readFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	f := &File{}
	r := NewReader(fh)
	for {
		row, err := r.Read()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		f.Timestamps = append(f.Timestamps, row.Time)
		f.Values = append(f.Values, row.Value)
	}
}

// NewCorpus prepares files for scoring. Names must be unique, and each file's
// windows in time order, disjoint, and bounded by timestamps of the file (NAB's rule: a
// window's start and end are rows). Values may be nil when only scoring is needed.
func NewCorpus(files ...*File) (*Corpus, error) {
	c := &Corpus{Files: slices.Clone(files), index: make(map[string]int, len(files))}
	slices.SortFunc(c.Files, func(a, b *File) int { return strings.Compare(a.Name, b.Name) })
	for i, f := range c.Files {
		if f.Name == "" {
			return nil, errors.New("nab: a file has no name")
		}
		if _, dup := c.index[f.Name]; dup {
			return nil, fmt.Errorf("nab: file %s appears twice", f.Name)
		}
		c.index[f.Name] = i
		if f.Values != nil && len(f.Values) != len(f.Timestamps) {
			return nil, fmt.Errorf("nab: %s has %d timestamps and %d values", f.Name, len(f.Timestamps), len(f.Values))
		}
		// A timestamp may repeat (a clock set back, as in one of NAB's files): like NAB, a
		// window bound is the first row with that timestamp.
		at := make(map[time.Time]int, len(f.Timestamps))
		for j, t := range f.Timestamps {
			if _, dup := at[t]; !dup {
				at[t] = j
			}
		}
		for k := range f.Windows {
			w := &f.Windows[k]
			first, ok1 := at[w.Start]
			last, ok2 := at[w.End]
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("nab: %s: window %s..%s: a window's start and end must be timestamps of the file",
					f.Name, FormatTime(w.Start), FormatTime(w.End))
			}
			if last < first {
				return nil, fmt.Errorf("nab: %s: window %s..%s ends before it starts", f.Name, FormatTime(w.Start), FormatTime(w.End))
			}
			if k > 0 && first <= f.Windows[k-1].Last {
				return nil, fmt.Errorf("nab: %s: window %s..%s overlaps or precedes the one before it", f.Name, FormatTime(w.Start), FormatTime(w.End))
			}
			w.First, w.Last = first, last
		}
		c.offset = append(c.offset, len(c.pts))
		c.pts = c.appendPoints(c.pts, f)
	}
	return c, nil
}

// appendPoints lays out the sweep of one file, in NAB's terms: inside a window a detection
// earns the scaled sigmoid of its relative position, -(Last-i+1)/width, normalised to 1 at
// the window's first row and falling to near 0 at its last; outside, a detection costs the
// scaled sigmoid of its distance past the previous window's last row in units of that
// window's width-1 (little just after a window, -0.987 one width later, -1 from three widths
// on), or -1 with no window before it.
func (c *Corpus) appendPoints(pts []point, f *File) []point {
	n := len(f.Timestamps)
	prob := Probation(n)
	maxTP := scaledSigmoid(-1)
	prevLast, prevWidth := -1, 0.0
	next, cur := 0, -1
	base := c.windows
	c.winBase = append(c.winBase, base)
	for k := range f.Windows {
		if f.Windows[k].Last >= prob {
			c.scorableWin++
		}
	}
	c.windows += len(f.Windows)
	for i := range n {
		if cur < 0 && next < len(f.Windows) && i == f.Windows[next].First {
			cur, next = next, next+1
		}
		var p point
		if cur >= 0 {
			w := f.Windows[cur]
			width := float64(w.Last - w.First + 1)
			p = point{win: int32(base + cur), u: scaledSigmoid(-float64(w.Last-i+1)/width) / maxTP}
			if i == w.Last {
				prevLast, prevWidth, cur = i, width, -1
			}
		} else {
			p = point{win: outside, u: -1}
			if prevLast >= 0 {
				// A one-row window has width-1 = 0: the distance is +Inf and the cost the full -1.
				p.u = scaledSigmoid(float64(i-prevLast) / (prevWidth - 1))
			}
		}
		if i < prob {
			p.win = probationary
		}
		pts = append(pts, p)
	}
	return pts
}

// scaledSigmoid is NAB's weighting of a detection by its position x relative to a window:
// 2·sigmoid(-5x) - 1, which is 0.987 at x = -1 (a window's start), 0 at x = 0 (its end),
// -0.987 at x = 1, and -1 beyond x = 3.
func scaledSigmoid(x float64) float64 {
	if x > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*x)) - 1
}

// File returns the file of that name, or nil.
func (c *Corpus) File(name string) *File {
	i, ok := c.index[name]
	if !ok {
		return nil
	}
	return c.Files[i]
}

// Windows returns the number of labelled windows.
func (c *Corpus) Windows() int { return c.windows }

// Rows returns the number of data rows of all files.
func (c *Corpus) Rows() int { return len(c.pts) }

// CorpusDir returns where the NAB corpus is: $CTC_NAB_DIR if set, else ../shared/data/nab
// beside the module root (found by walking up from the working directory to go.mod). It fails
// with a message that says where it looked when the directory is absent, so that tests can
// skip with it.
func CorpusDir() (string, error) {
	if d := os.Getenv("CTC_NAB_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "labels", "combined_windows.json")); err != nil {
			return "", fmt.Errorf("CTC_NAB_DIR=%s is not a NAB corpus: %w", d, err)
		}
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			d := filepath.Join(dir, "..", "shared", "data", "nab")
			if _, err := os.Stat(filepath.Join(d, "labels", "combined_windows.json")); err != nil {
				return "", fmt.Errorf("NAB corpus not found at %s (set CTC_NAB_DIR to a NAB v1.1 checkout): %w", d, err)
			}
			return filepath.Clean(d), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("NAB corpus not found: no go.mod above %s (set CTC_NAB_DIR)", wd)
		}
		dir = parent
	}
}
