// Command customdetector plugs a user-written detector into a ctc pipeline beside the built-in
// ones and runs it over half an hour of the seeded simulator, as fast as the machine goes:
//
//	go run ./examples/customdetector
//
// The detector itself (imbalance/imbalance.go) is checked against ctc's detector laws in
// imbalance/imbalance_test.go with ctctest.TestDetector; read the two files as the template for
// your own. lambda/ deploys the same detectors as the stream Lambda.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/examples/customdetector/imbalance"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/console"
	"github.com/coattailcapital/ctc/source/sim"
)

func main() {
	if err := run(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "customdetector:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	src, err := sim.New(sim.Config{
		Seed:     7,
		Start:    time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC),
		Duration: 30 * time.Minute,
	})
	if err != nil {
		return err
	}
	mine, err := imbalance.New(0.85, 100)
	if err != nil {
		return err
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return err
	}
	p, err := ctc.NewPipeline(src,
		ctc.WithChecker(chain),
		ctc.WithDetectors(append(detect.Defaults(), mine)...),
		ctc.WithSinks(console.New(os.Stdout)))
	if err != nil {
		return err
	}
	return p.Run(ctx)
}
