package checkpoint_test

import (
	"testing"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/ctctest"
)

func TestMemoryIsAStateStore(t *testing.T) {
	ctctest.TestStateStore(t, func(*testing.T) ctc.StateStore { return checkpoint.NewMemory() }, nil)
}
