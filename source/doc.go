// Package source holds no code: each sub-package is one ctc.Source. The exchange feeds (binance,
// coinbase, and live, which merges them) talk to the outside world, as binance.HistorySource
// and coinbase.HistorySource read the exchanges' REST history; replay reads files recorded earlier, and sim invents a seeded
// market with labelled anomalies, so that tests, benchmarks and the demo run without a network
// and give the same output every time. feed holds what they share (reconnects, gap repair,
// captures) and the sources that combine others: Merge and Limit. Every one passes
// ctctest.TestSource. (The Kinesis stream is read by package shardrunner, a host with leases and
// shard states rather than a Source.)
package source
