// Package sim is a seeded, deterministic market simulator: several instruments trading on Binance
// and Coinbase, with labelled anomalies injected on a schedule. It is the demo's default feed, the
// load generator, and the ground truth for detection-quality checks: Injected says what the
// detectors should have found.
//
// # The market
//
// Each instrument has one mid price, a slowly mean-reverting random walk (0.02 % per √second).
// Each exchange trades around it with a tiny per-trade deviation, so that the normal
// Binance–Coinbase spread of a 30 s window stays well under 0.1 %. Trades of each (instrument,
// exchange) arrive as a Poisson process at Config.Rate, with log-normal sizes of typically $2–5k
// and never more than $45k, and are merged in event-time order. Prices and quantities are rounded
// to exchange-like ticks and timestamps to the millisecond, as real trades are.
//
// # Injected events
//
// One every Config.InjectEvery of event time, cycling whale → spread dislocation → volume burst,
// one instrument per cycle. Each crosses its detector's default threshold (DESIGN §4) by a wide
// margin:
//
//   - whale: one trade of about $250k, $750k or $1.5M (medium, high, critical);
//   - spread dislocation: the Coinbase price 1.5 % above or below the market for two whole aligned
//     30 s windows;
//   - volume burst: for one whole aligned 60 s window on one (symbol, exchange), six times the
//     trades at twice the size, a z-score of about 50 against the previous hour.
//
// With Config.WhaleClusters a fourth kind joins the rotation, for detect.Cluster:
//
//   - whale cluster: 6, 8 or 12 orders of one side on one (symbol, exchange), half a second
//     apart, of $25k, $70k or $90k each in one to three fills at one instant (about $150k, $560k
//     or $1.08M in all, medium, high and critical), none a whale of its own. It is off by default,
//     so that a Config gives the trades it gave before the kind existed.
//
// Every injected event past the detectors' warm-up should raise an alert; Config.WarmUp gives the
// volume detector its hour of history before the first injection. Normal trading never comes near
// the whale and spread thresholds, so every whale or spread alert matches an injection. The volume
// detector is statistical: on normal windows it fires at medium severity (|z| > 2.5) about once in
// a hundred windows and at high severity rarely, which is its false-positive rate, and a whale
// lifts its window's volume enough to raise a spike of its own.
//
// # Determinism
//
// The same Config gives the same trades, byte for byte: every random choice comes from PCG
// generators seeded by Config.Seed, and ties are broken by stream order. With Speed 0 the clock
// is never read. Jitter reorders delivery within a bound without changing any trade. (The math
// package's exp and log are assembly on some architectures, so the last bit of a price can in
// principle differ between GOARCHes; rounding to ticks hides it in practice.)
//
// # Concurrency
//
// A Source is used by one goroutine at a time and starts none. Next blocks only to pace.
//
// # Example
//
//	src, err := sim.New(sim.Config{Seed: 1, Start: time.Now().Add(-time.Hour), WarmUp: time.Hour, Speed: 1})
//	if err != nil {
//		return err
//	}
//	var rec ctc.Record
//	for {
//		if err := src.Next(ctx, &rec); err != nil {
//			return err // ctx.Err(): the simulator itself never ends without a Duration
//		}
//		// hand rec to the pipeline
//	}
package sim
