package shardrunner

import (
	"os"
	"testing"

	"github.com/coattailcapital/ctc/internal/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }
