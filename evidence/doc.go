// Package evidence asks whether alerts are worth acting on: after each alert, did the market move
// the way the alert points, more than it moves after any moment picked at random?
//
// # What is measured
//
// For every alert, the move of its market from detected_at to each horizon (default +1 min,
// +5 min, +15 min and +1 h), in basis points:
//
//   - the entry price is the VWAP of the market's trades in [detected_at − 10 s, detected_at] —
//     what was known when the alert was raised (a whale's own trade included);
//   - the price at a horizon is the VWAP of the trades within ±10 s of +1 min, ±30 s of the
//     others (Config.Horizons);
//   - a window without trades is "no data": counted in Stats.NoData, never filled in.
//
// The market is the alert's own (exchange, symbol): the one a follower of the alert would trade,
// and a VWAP that does not mix quote currencies (USDT and USD) or the exchanges' share of the
// volume. A spread alert's market is its instrument's Binance leg against its Coinbase leg
// (Config.Pairs, by default X-USDT and X-USD), and its move is the Binance return minus the
// Coinbase return: the change of the spread.
//
// The move is signed by the alert's direction (DirectionOf): up for a whale's or a whale
// cluster's buy, down for a sell; for a spread, the direction that closes it, so that the signed
// move is the return of buying the cheap exchange and selling the dear one. A volume spike has no
// direction: it is judged by the size of the move (MeasureAbsolute), which says whether the
// market moved more than usual after it, not which way.
//
// # The baseline
//
// Every alert gets Config.Baseline (20) pseudo-alerts: copies of it — type, severity, market,
// direction — at times drawn uniformly over the span of its market's trades (and Config.From,
// To), from a PCG generator seeded with Config.Seed and the alert's id. They are judged exactly as
// the alerts are, so each group's baseline has the alerts' mix of markets and directions, and
// whatever the market did all day (a trend that makes every buy look right) is in it too.
//
// # Statistics
//
// Per alert type and severity (and "all" severities of a type that has several), per horizon,
// for the alerts and for their baseline: the number measured and without data, the hit rate
// with Wilson's score interval, the mean with Student's t interval, the median, the standard
// deviation; and the edge, the alerts' mean minus the baseline's, with Welch's interval. A hit is
// a signed move above zero; for an absolute measure, a move above the baseline's median (the
// baseline's own hit rate is then about one half). Intervals are at Config.Confidence (95 %).
//
// The intervals treat moves as independent. Alerts that come in bunches on one market (a spread
// open for two windows, a whale inside a volume spike) are not, and returns have heavy tails, so
// read an interval that barely excludes zero with care — and with a dozen groups at four horizons,
// one or two such intervals are expected by chance alone.
//
// # Determinism and exactness
//
// Evaluate is pure: it reads no clock and no global state, and the same alerts and trades — in
// any order, in any batches, a trade or an alert delivered twice — give the same report, to the
// last bit. Every VWAP is computed from the exact sums of its window's price × quantity (each
// product a float64) and quantity, rounded once (an expansion of non-overlapping partials, as
// Python's math.fsum), so no order of summation can change a bit of it. A window whose sums pass
// float64's range (1.8e308), or one after it on the same market, is no data.
//
// # Memory: Evaluate or a Plan
//
// Evaluate holds every trade in a Trades (about 40 bytes a trade, sorted by (time, event id) to
// drop a trade held twice). A Plan holds none: it reads the trades twice — a first pass for each
// market's first and last trade, which fix the pseudo-alerts' times and so every window to read,
// and a second that sums each trade into the bucket between two consecutive window bounds — in
// memory that grows with the alerts (Baseline × horizons windows each), not with the trades.
// Evaluate is a Plan fed from its Trades, so both give the same report for the same distinct
// trades; a Plan counts a trade given twice twice, as it cannot remember every trade. Package
// fromlake evaluates a warehouse with a Plan, two scans of raw_trades. Judging 1,000 alerts and
// their 20,000 pseudo-alerts over a million trades takes a few hundred milliseconds, most of it
// the million trades' two passes (BenchmarkEvaluate, BenchmarkPlan).
//
// # Example
//
//	var trades evidence.Trades
//	for batch, err := range lake.ScanTrades(ctx, iceberg.ScanOptions{From: from, To: to.Add(time.Hour + time.Minute)}) {
//		if err != nil {
//			return err
//		}
//		trades.Add(batch...)
//	}
//	alerts, err := lake.ScanAlerts(ctx, iceberg.AnomalyAlerts, from, to)
//	if err != nil {
//		return err
//	}
//	report, err := evidence.Evaluate(evidence.Config{From: from, To: to}, alerts, &trades)
//	if err != nil {
//		return err
//	}
//	return report.WriteText(os.Stdout) // or json.Marshal(report): the API's /evidence
//
// Package evidence/fromlake is this program over an Iceberg warehouse — with a Plan and two scans,
// so that its memory does not grow with the trades — and adapters/evidence that with flags; the
// batch Lambda runs it daily on AWS and writes the report the API serves.
//
// # Concurrency
//
// Evaluate and a Plan start no goroutines. A Trades and a Plan are not safe for concurrent use
// (Evaluate sorts a Trades), and a Report is a plain value.
package evidence
