package evidence

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/coattailcapital/ctc"
)

// Report is what Evaluate found: per alert type and severity, how the market moved after the
// alerts against how it moved after pseudo-alerts at random times. Its JSON form (encoding/json)
// is what the API serves at /evidence.
type Report struct {
	// Alerts is the number of alerts judged (distinct alert ids); Trades the number of trades read.
	Alerts int `json:"alerts"`
	Trades int `json:"trades"`
	// FirstTrade and LastTrade span the trades read.
	FirstTrade time.Time `json:"first_trade"`
	LastTrade  time.Time `json:"last_trade"`
	// Horizons, ReferenceSeconds, BaselinePerAlert, Seed and Confidence are the evaluation's
	// settings.
	Horizons         []HorizonSpec `json:"horizons"`
	ReferenceSeconds float64       `json:"reference_s"`
	BaselinePerAlert int           `json:"baseline_per_alert"`
	Seed             uint64        `json:"seed"`
	Confidence       float64       `json:"confidence"`
	// Groups are sorted by alert type, then severity, each type's "all" group last.
	Groups []Group `json:"groups"`
}

// HorizonSpec is a Horizon in the report: its label (+1m), After and HalfWidth in seconds.
type HorizonSpec struct {
	Label            string  `json:"label"`
	AfterSeconds     float64 `json:"after_s"`
	HalfWidthSeconds float64 `json:"half_width_s"`
}

// The measures a group is judged by.
const (
	// MeasureSigned is the move of the alert's market in its direction (whales: the taker's side).
	MeasureSigned = "signed"
	// MeasureConvergence is the change of the Binance − Coinbase spread towards zero (spread).
	MeasureConvergence = "convergence"
	// MeasureAbsolute is the size of the move, either way, for alerts without a direction.
	MeasureAbsolute = "absolute"
)

// Group is the result of one alert type and severity ("all": every severity of the type).
type Group struct {
	AlertType ctc.AlertType `json:"alert_type"`
	Severity  string        `json:"severity"`
	// Measure is MeasureSigned, MeasureConvergence or MeasureAbsolute.
	Measure string `json:"measure"`
	// Alerts is the number of alerts in the group; Undirected those of them left out because their
	// type has a direction and they had none; PseudoAlerts the baseline's pseudo-alerts.
	Alerts       int `json:"alerts"`
	Undirected   int `json:"undirected,omitempty"`
	PseudoAlerts int `json:"pseudo_alerts"`
	// Horizons has one result per horizon of the report, in its order.
	Horizons []Result `json:"horizons"`
}

// Result is one group at one horizon: the alerts, the baseline, and the difference of their means.
type Result struct {
	Horizon  string `json:"horizon"`
	Alerts   Stats  `json:"alerts"`
	Baseline Stats  `json:"baseline"`
	// Edge is the alerts' mean move minus the baseline's, in basis points, with Welch's interval.
	Edge   float64   `json:"edge_bps"`
	EdgeCI *Interval `json:"edge_ci,omitempty"`
}

// Stats summarise moves in basis points (1 bp = 0.01 %).
type Stats struct {
	// N counts the moves measured; NoData those that could not be, for want of trades in the
	// entry window or around the horizon (never guessed).
	N      int `json:"n"`
	NoData int `json:"no_data"`
	// Hits counts the moves that went the alert's way: a signed or convergence move above zero;
	// for an absolute measure, a move larger than the baseline's median at that horizon (so the
	// baseline's own hit rate is about one half). HitCI is Wilson's interval.
	Hits    int       `json:"hits"`
	HitRate float64   `json:"hit_rate"`
	HitCI   *Interval `json:"hit_rate_ci,omitempty"`
	// Mean, with Student's t interval, Median and the sample standard deviation.
	Mean   float64   `json:"mean_bps"`
	MeanCI *Interval `json:"mean_ci,omitempty"`
	Median float64   `json:"median_bps"`
	StdDev float64   `json:"stddev_bps"`
}

// horizonLabel writes a horizon as +1m, +5m, +1h, +90s.
func horizonLabel(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("+%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("+%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("+%ds", d/time.Second)
	}
	return "+" + d.String()
}

type groupKey struct {
	typ ctc.AlertType
	sev ctc.Severity // SeverityNone: every severity
}

func summarize(cfg Config, all []judged) *Report {
	nh := len(cfg.Horizons)
	r := &Report{
		ReferenceSeconds: cfg.Reference.Seconds(),
		BaselinePerAlert: cfg.Baseline,
		Seed:             cfg.Seed,
		Confidence:       cfg.Confidence,
		Groups:           []Group{},
	}
	for _, h := range cfg.Horizons {
		r.Horizons = append(r.Horizons, HorizonSpec{horizonLabel(h.After), h.After.Seconds(), h.HalfWidth.Seconds()})
	}
	directed := map[ctc.AlertType]bool{}
	members := map[groupKey][]*judged{}
	sevs := map[ctc.AlertType]map[ctc.Severity]bool{}
	for i := range all {
		j := &all[i]
		t := j.alert.AlertType
		if j.dir != None {
			directed[t] = true
		}
		k := groupKey{t, j.alert.Severity}
		members[k] = append(members[k], j)
		members[groupKey{typ: t}] = append(members[groupKey{typ: t}], j)
		if sevs[t] == nil {
			sevs[t] = map[ctc.Severity]bool{}
		}
		sevs[t][j.alert.Severity] = true
	}
	keys := make([]groupKey, 0, len(members))
	for k := range members {
		if k.sev == ctc.SeverityNone && len(sevs[k.typ]) < 2 {
			continue // the type's one severity says it all
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		all := func(k groupKey) int {
			if k.sev == ctc.SeverityNone {
				return 1
			}
			return 0
		}
		return cmp.Or(cmp.Compare(a.typ, b.typ), cmp.Compare(all(a), all(b)), cmp.Compare(a.sev, b.sev))
	})
	z := normalQuantile(0.5 + cfg.Confidence/2)
	for _, k := range keys {
		js := members[k]
		g := Group{AlertType: k.typ, Severity: "all", Measure: MeasureAbsolute, Alerts: len(js)}
		if k.sev != ctc.SeverityNone {
			g.Severity = k.sev.String()
		}
		dir := directed[k.typ]
		if dir {
			g.Measure = MeasureSigned
			if k.typ == ctc.Spread {
				g.Measure = MeasureConvergence
			}
		}
		for _, j := range js {
			if dir && j.dir == None {
				g.Undirected++
				continue
			}
			g.PseudoAlerts += len(j.pseudo) / nh
		}
		var av, bv []float64
		for h := range nh {
			res := Result{Horizon: r.Horizons[h].Label}
			av, bv = av[:0], bv[:0]
			value := func(d Direction, m float64) float64 {
				if dir {
					return float64(d) * m
				}
				return math.Abs(m)
			}
			for _, j := range js {
				if dir && j.dir == None {
					continue
				}
				if m := j.moves[h]; math.IsNaN(m) {
					res.Alerts.NoData++
				} else {
					av = append(av, value(j.dir, m))
				}
				for p := h; p < len(j.pseudo); p += nh {
					if m := j.pseudo[p]; math.IsNaN(m) {
						res.Baseline.NoData++
					} else {
						bv = append(bv, value(j.dir, m))
					}
				}
			}
			var bar float64
			bm, bvar := moments(bv)
			res.Baseline.fill(bv, bm, bvar, 0, cfg.Confidence, z) // sorts bv
			if !dir {
				bar = res.Baseline.Median
				res.Baseline.hits(bv, bar, z)
			}
			am, avar := moments(av)
			res.Alerts.fill(av, am, avar, bar, cfg.Confidence, z)
			res.Edge = am - bm
			if len(av) == 0 || len(bv) == 0 {
				res.Edge = 0
			}
			res.EdgeCI = welch(am, avar, len(av), bm, bvar, len(bv), cfg.Confidence)
			g.Horizons = append(g.Horizons, res)
		}
		r.Groups = append(r.Groups, g)
	}
	return r
}

// fill sets s from the values v (which it sorts), counting as hits the values above bar.
func (s *Stats) fill(v []float64, mean, variance, bar, conf, z float64) {
	s.N = len(v)
	if s.N == 0 {
		return
	}
	s.Mean, s.StdDev = mean, math.Sqrt(variance)
	s.MeanCI = meanInterval(mean, variance, s.N, conf)
	s.Median = median(v)
	s.hits(v, bar, z)
}

func (s *Stats) hits(v []float64, bar, z float64) {
	s.Hits = 0
	for _, x := range v {
		if x > bar {
			s.Hits++
		}
	}
	if s.N > 0 {
		s.HitRate = float64(s.Hits) / float64(s.N)
	}
	s.HitCI = wilson(s.Hits, s.N, z)
}

// JSON returns the report as its files hold it: indented JSON and a newline — what
// adapters/evidence prints with -json and writes with -out, and what the batch Lambda's evidence
// task puts in S3, byte for byte the same for the same report.
func (r *Report) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("evidence: encode the report: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteText prints the report as tables for a terminal: one block per group, one line per
// horizon, the alerts beside their baseline.
func (r *Report) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("%d alerts judged against %d trades", r.Alerts, r.Trades)
	if !r.FirstTrade.IsZero() {
		ew.printf(" (%s … %s)", r.FirstTrade.Format(time.RFC3339), r.LastTrade.Format(time.RFC3339))
	}
	ew.printf("\nentry: VWAP of the %gs up to detected_at; at each horizon: VWAP ±", r.ReferenceSeconds)
	for i, h := range r.Horizons {
		if i > 0 {
			ew.printf(", ")
		}
		ew.printf("%gs (%s)", h.HalfWidthSeconds, h.Label)
	}
	ew.printf("\nbaseline: %d pseudo-alerts per alert at random times on its market (seed %d); intervals %.0f%%: hit rate Wilson, means Student t, edge Welch\n",
		r.BaselinePerAlert, r.Seed, r.Confidence*100)
	ew.printf("moves in basis points (1 bp = 0.01%%); signed: in the alert's direction; convergence: the spread closing; absolute: the size of the move\n")
	if len(r.Groups) == 0 {
		ew.printf("\nno alerts\n")
	}
	for _, g := range r.Groups {
		ew.printf("\n%s · %s · %s · %d alerts", g.AlertType, g.Severity, g.Measure, g.Alerts)
		if g.Undirected > 0 {
			ew.printf(" (%d without a direction left out)", g.Undirected)
		}
		ew.printf("\n%-8s %5s %4s  %-18s %-24s %7s │ %6s  %-18s %-24s %7s │ %s\n",
			"horizon", "n", "none", "hit % [CI]", "mean bp [CI]", "median",
			"base n", "hit % [CI]", "mean bp [CI]", "median", "edge bp [CI]")
		for _, h := range g.Horizons {
			ew.printf("%-8s %5d %4d  %-18s %-24s %7s │ %6d  %-18s %-24s %7s │ %s\n",
				h.Horizon, h.Alerts.N, h.Alerts.NoData, hitText(h.Alerts), meanText(h.Alerts), bp(h.Alerts.N, h.Alerts.Median),
				h.Baseline.N, hitText(h.Baseline), meanText(h.Baseline), bp(h.Baseline.N, h.Baseline.Median),
				edgeText(h))
		}
	}
	return ew.err
}

func bp(n int, v float64) string {
	if n == 0 {
		return "—"
	}
	return f1(v)
}

// f1 writes v with a sign and one decimal, never as -0.0.
func f1(v float64) string {
	if math.Abs(v) < 0.05 {
		v = 0
	}
	return fmt.Sprintf("%+.1f", v)
}

func hitText(s Stats) string {
	if s.N == 0 || s.HitCI == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f [%.0f, %.0f]", s.HitRate*100, s.HitCI.Low*100, s.HitCI.High*100)
}

func meanText(s Stats) string {
	switch {
	case s.N == 0:
		return "—"
	case s.MeanCI == nil:
		return f1(s.Mean)
	}
	return f1(s.Mean) + " [" + f1(s.MeanCI.Low) + ", " + f1(s.MeanCI.High) + "]"
}

func edgeText(h Result) string {
	switch {
	case h.Alerts.N == 0 || h.Baseline.N == 0:
		return "—"
	case h.EdgeCI == nil:
		return f1(h.Edge)
	}
	s := f1(h.Edge) + " [" + f1(h.EdgeCI.Low) + ", " + f1(h.EdgeCI.High) + "]"
	if h.EdgeCI.Low > 0 || h.EdgeCI.High < 0 {
		s += " *"
	}
	return s
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
