package quality_test

import (
	"sync"
	"testing"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
)

// Stats may be read by a metrics endpoint while the pipeline checks records: the race detector
// must find nothing.
func TestStatsWhileChecking(t *testing.T) {
	c, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		var rec ctc.Record
		var tr ctc.Trade
		for range 1000 {
			rec.Data = []byte(`{"event_id":`)
			c.Check(&rec, &tr)
		}
	})
	for range 100 {
		_ = c.Stats()
	}
	wg.Wait()
	if s := c.Stats(); s.Processed != 1000 || s.Failed != 1000 {
		t.Fatalf("stats %+v", s)
	}
}
