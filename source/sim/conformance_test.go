package sim

import (
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	base := Config{Seed: 42, Start: day, Duration: 40 * time.Second, Instruments: ManyInstruments(2), InjectEvery: MinInjectEvery}
	jitter := base
	jitter.Jitter = 800 * time.Millisecond
	paced := base
	paced.Speed, paced.WarmUp = 5, 10*time.Second
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"as fast as possible", base},
		{"jitter", jitter},
		// Paced on a clock that moves only when slept on: a simulator that is not a bulk source.
		{"paced", paced},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctctest.TestSource(t, ctctest.SourceFeatures{}, func(t *testing.T) ctc.Source {
				cfg := c.cfg
				if cfg.Speed > 0 {
					clk := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
					cfg.Now, cfg.Sleep = clk.Now, clk.Sleep
				}
				s, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}
