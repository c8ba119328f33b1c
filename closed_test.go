package ctc_test

import (
	"errors"
	"testing"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/jsonl"
	sinkkinesis "github.com/coattailcapital/ctc/sink/kinesis"
	"github.com/coattailcapital/ctc/sink/memory"
	"github.com/coattailcapital/ctc/source/coinbase"
)

// One ErrClosed: every package's own is recognised as ctc.ErrClosed.
func TestOneErrClosed(t *testing.T) {
	for name, err := range map[string]error{
		"embedded": embedded.ErrClosed, "iceberg": iceberg.ErrClosed, "jsonl": jsonl.ErrClosed,
		"kinesis": sinkkinesis.ErrClosed, "memory": memory.ErrClosed, "coinbase": coinbase.ErrClosed,
	} {
		if !errors.Is(err, ctc.ErrClosed) {
			t.Errorf("%s.ErrClosed (%v) is not ctc.ErrClosed", name, err)
		}
	}
}
