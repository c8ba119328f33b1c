// Package anomaly scores a stream of numbers, one value at a time, for how anomalous each value
// is: a score in [0, 1] computed from the value, its time and the past only, in constant time
// and fixed memory per series, deterministically, with a state that is snapshotted and restored
// as bytes.
//
//	s := anomaly.New(anomaly.DefaultConfig())
//	for t, v := range values {
//		if s.Score(t, v) >= 0.01 { // NAB's best threshold is 0.007; 0.1 keeps only strong records
//			alert(t, v)
//		}
//	}
//
// # The model
//
// A value is anomalous when the series does something it has not done for a long time. The
// model keeps, for a handful of features of the series, the highest and lowest value of each
// over a horizon (4,096 values by default, forgotten a block at a time), and scores a value by
// how far one of its features passes those extremes, as a fraction of their range: e/(1+e),
// scaled by the feature's weight. Inside the range the score is exactly 0. The features are
//
//   - the value itself: a spike or a drop beyond anything in the horizon;
//   - its moving average: a shift of level too gradual, or too noisy, to pass the extremes of
//     single values;
//   - the residual from a daily profile (the usual value at that time of day, learnt per
//     quarter-hour), and above all its moving average: a day that departs from the usual daily
//     cycle while staying within the range, such as a missing peak or a flat stretch;
//   - the distribution shift, the total variation distance between a histogram of the recent
//     values and one of the long run (upward records only): a series that keeps its range but
//     changes how it fills it, busier, calmer or stuck.
//
// After a feature alerts it is silent for a while (Hush), and after any alert only a higher
// score alerts for a while (Quiet): one event passes several features in turn, and a burst
// should yield one alert rather than one per value.
//
// # Why this model
//
// On the Numenta Anomaly Benchmark (NAB v1.1, 58 series from servers, traffic, ad exchanges,
// tweets and machines, scored with one threshold for the whole corpus), alerts cost: a false
// alert outside the labelled windows is charged, an alert early in a window earns most, and a
// second alert in the same window earns nothing. A score that is exactly 0 almost everywhere
// and rises only on the first value that breaks a long-standing record is what that rewards, and
// it is what a trader wants from a volume or spread monitor too: the first bar bigger than any in
// the last days, not every bar above 2.5 standard deviations of a heavy-tailed, seasonal series.
// Records need no distributional assumption, are unaffected by the scale of the series, adapt
// as old extremes leave the horizon, and cost a few comparisons per value (the histograms of
// the distribution shift, 64 parts each, are most of the model's cost per value).
//
// The same configuration is used for every series: no parameter depends on the series' scale,
// length or category. Its values were chosen on NAB itself (the scores are then an in-sample
// figure, as they are for the published leaders, whose parameters were tuned on the same corpus):
// standard profile 75.9, reward-low-FP 67.3, reward-low-FN 80.7, against 70.1 / 63.1 / 74.3 for
// Numenta HTM, 69.9 / 67.0 / 73.2 for CAD OSE and 74.9 / 65.2 / 80.4 for ARTime (scripts/nab.sh
// -model ctc runs examples/nab -model ctc over the corpus and scores it). The optimum is narrow:
// a moving-average weight of 0.035 or 0.045 instead of 0.04 scores 74.4 or 73.6, Smooth or
// SeasonRate 20 % off about 73, SeasonMin one off or Bins at 72 or 144 under 73; and parameters
// re-tuned on half the corpus lose 5.5 points on the other half (TestNABSensitivity reports
// the neighbours and the halves). Read the margin over ARTime with that in mind. What it misses
// (11 of the 116 windows) stays within the range of what came before, keeps the daily cycle and the
// spread of values.
//
// # State
//
// A Scorer is one series. Snapshot returns its configuration and state as bytes whose size is
// fixed by the configuration (about 8 KB by default); Restore takes them back, refusing with
// ErrSnapshot anything that is not such a snapshot. Scores after a restore are identical, bit
// for bit, to those of a scorer that never stopped.
//
// # Concurrency
//
// A Scorer is not safe for concurrent use. It starts no goroutines and never reads the clock.
package anomaly
