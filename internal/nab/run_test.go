package nab

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	t.Parallel()
	in := "timestamp,value\n2014-04-01 00:00:00,10\n2014-04-01 00:05:00,10\n2014-04-01 00:10:00,11\n"
	var out bytes.Buffer
	if err := Run(strings.NewReader(in), &out, NewWindowedGaussian()); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "0\n0.5\n1\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	bad := DetectorFunc(func(time.Time, float64) float64 { return math.NaN() })
	if err := Run(strings.NewReader(in), io.Discard, bad); err == nil || !strings.Contains(err.Error(), "outside [0, 1]") {
		t.Errorf("a NaN score: %v", err)
	}
	if err := Run(strings.NewReader("timestamp,value\nx\n"), io.Discard, NewWindowedGaussian()); err == nil {
		t.Error("a malformed row: no error")
	}
}

// Run answers each row as soon as it has arrived: the next row is only written after the
// score of the previous one has been read.
func TestRunStreams(t *testing.T) {
	t.Parallel()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Run(inR, outW, NewWindowedGaussian()); outW.Close() }()
	scores := bufio.NewScanner(outR)
	fmt.Fprintln(inW, Header)
	for i := range 5 {
		fmt.Fprintf(inW, "2014-04-01 00:%02d:00,%d\n", 5*i, i)
		if !scores.Scan() {
			t.Fatalf("row %d: no score", i)
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestReadScores(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]float64{
		"0\n0.5\n\n1\n": {0, 0.5, 1},
		"timestamp,value,anomaly_score,label\n2014-04-01 00:00:00,20.0,0.0,0\n2014-04-01 00:05:00,20.0,0.5,0\n": {0, 0.5},
	} {
		got, err := ReadScores(strings.NewReader(in))
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("ReadScores(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0\nx\n", "NaN\n", "-Inf\n", "a,anomaly_score\n1\n"} {
		if _, err := ReadScores(strings.NewReader(in)); err == nil {
			t.Errorf("ReadScores(%q): no error", in)
		}
	}
}

// FuzzReadScores: a detector's output, whatever it is, is read or refused, never a panic or a
// non-finite score.
func FuzzReadScores(f *testing.F) {
	f.Add([]byte("0\n0.5\n1\n"))
	f.Add([]byte("timestamp,value,anomaly_score\n2014-04-01 00:00:00,1,0.25\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := ReadScores(bytes.NewReader(in))
		if err != nil {
			return
		}
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("read %v", v)
			}
		}
	})
}

func TestRunCorpusInMemory(t *testing.T) {
	t.Parallel()
	ts := series(30)
	vals := make([]float64, 30)
	vals[20] = 1000 // a spike at the window's start
	c, err := NewCorpus(&File{Name: "x/spike.csv", Timestamps: ts, Values: vals, Windows: []Window{{Start: ts[20], End: ts[24]}}})
	if err != nil {
		t.Fatal(err)
	}
	scores, err := RunCorpus(c, func() Detector { return NewWindowedGaussian() })
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Score(scores, Standard)
	if err != nil {
		t.Fatal(err)
	}
	// The spike, at the window's start, scores 1: it is a million σ from a flat past (σ 0,
	// taken as 1e-6). Nothing else comes near: a perfect score.
	if r.Score != 100 || r.TP != 1 || r.FP != 0 || r.Threshold != 1 || r.Files[0].Name != "x/spike.csv" {
		t.Errorf("got %v", r)
	}
}
