// Package source holds no code: each sub-package is one ctc.Source. The exchange feeds (binance,
// coinbase) and kinesis talk to the outside world; replay reads files recorded earlier, and sim
// invents a seeded market with labelled anomalies, so that tests, benchmarks and the demo run
// without a network and give the same output every time.
package source
