package partrunner

import (
	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/quality"
)

// Processors returns a Config.NewProcessor that builds every processor from the quality
// configuration q and the detector thresholds th. The consumer and the stream Lambda both build
// theirs with it, which is half of why they emit the same alerts for the same records (the other
// half is the Runner). onChain, when set, is given each quality chain built, so that a host can
// read its counters for metrics.
func Processors(q quality.Config, th detect.Thresholds, onChain func(*quality.Chain)) func() (*ctc.Processor, error) {
	return func() (*ctc.Processor, error) {
		chain, err := quality.New(q)
		if err != nil {
			return nil, err
		}
		ds, err := th.Detectors()
		if err != nil {
			return nil, err
		}
		if onChain != nil {
			onChain(chain)
		}
		return ctc.NewProcessor(ctc.WithChecker(chain), ctc.WithDetectors(ds...))
	}
}
