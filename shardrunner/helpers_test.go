package shardrunner

import (
	"fmt"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
)

// The runner's own tests are in package partrunner (and its table model is ctctest.Table);
// these serve the tests of what shardrunner adds (the consumer, leases, the DynamoDB store).

func newProc() (*ctc.Processor, error) {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return nil, err
	}
	return ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...))
}

func seqNo(i int) string { return fmt.Sprint(49_000_000_000 + i) }
