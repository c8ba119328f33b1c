// Command nab is an anomaly detector in the shape the Numenta Anomaly Benchmark runs one: it
// reads one NAB CSV on stdin (the header "timestamp,value", then one row per line) and writes
// one anomaly score in [0, 1] per data row on stdout, as each row arrives. It knows nothing
// but that stream: no file name, no row count, no labels.
//
//	go run ./examples/nab -model windowedgaussian < data/realKnownCause/nyc_taxi.csv
//	bash scripts/nab.sh -model windowedgaussian     # score a model over the whole corpus
//
// -model picks the scoring model from the table below; a model is one line there.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/coattailcapital/ctc/anomaly"
	"github.com/coattailcapital/ctc/internal/nab"
)

// models maps a -model name to a constructor of a fresh detector for one series: anything with
// a method Score(t time.Time, v float64) float64 returning a score in [0, 1], or any function
// of that shape wrapped in nab.DetectorFunc. Adding a model is adding a line.
var models = map[string]func() nab.Detector{
	// NAB's windowed Gaussian baseline, its scores rounded to the 12 digits of NAB's published
	// result files, so that it scores what NAB publishes for it (standard 39.6).
	"windowedgaussian": func() nab.Detector { return nab.Rounded(nab.NewWindowedGaussian(), 12) },
	// ctc's own streaming scorer, package anomaly, with the one configuration it uses everywhere.
	"ctc": func() nab.Detector { return anomaly.New(anomaly.DefaultConfig()) },
}

const defaultModel = "windowedgaussian"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", defaultModel, "scoring model: "+strings.Join(names(), ", "))
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: nab [-model NAME] < file.csv > scores.txt")
		fmt.Fprintln(stderr, "Reads one NAB CSV (timestamp,value) on stdin; writes one anomaly score in [0, 1] per data row.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nab: unexpected argument %q: the CSV comes on stdin\n", fs.Arg(0))
		return 2
	}
	newModel, ok := models[*model]
	if !ok {
		fmt.Fprintf(stderr, "nab: unknown model %q; the models are %s\n", *model, strings.Join(names(), ", "))
		return 2
	}
	if err := nab.Run(stdin, stdout, newModel()); err != nil {
		fmt.Fprintln(stderr, "nab:", err)
		return 1
	}
	return 0
}

func names() []string {
	var n []string
	for name := range models {
		n = append(n, name)
	}
	slices.Sort(n)
	return n
}
