package quality

import (
	"time"

	"github.com/coattailcapital/ctc/internal/rfc3339"
)

// parseTime and parseTimeFast are ctc's one timestamp parser (internal/rfc3339), under the names
// the decoder and its tests use.
func parseTime(b []byte) (time.Time, bool) { return rfc3339.Parse(b) }

func parseTimeFast(b []byte) (time.Time, int, bool) { return rfc3339.ParseFast(b) }
