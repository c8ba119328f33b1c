package shardrunner_test

import (
	"fmt"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/shardrunner"
)

// A consumer's OnCheckpoint gets a Report per shard checkpoint; Quality turns it into the quality
// chain's counters, as the consumer's CloudWatch metrics publish them.
func ExampleReport_Quality() {
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	r := shardrunner.Report{
		Shard: "shardId-000000000000",
		Stats: ctc.Stats{Records: 200, Trades: 196, DeadLetters: 3, Duplicates: 1},
		Batch: &ctc.Batch{Trades: []ctc.Trade{
			{Timestamp: at, IngestionTimestamp: at.Add(2 * time.Second)},
			{Timestamp: at, IngestionTimestamp: at.Add(10 * time.Minute)}, // ingested late
		}},
	}
	q := r.Quality(5 * time.Minute)
	fmt.Printf("processed %d, passed %d, failed %d, duplicate %d, late %d, score %.1f%%\n",
		q.Processed, q.Passed, q.Failed, q.Duplicate, q.Late, q.QualityScore)
	// Output: processed 200, passed 196, failed 3, duplicate 1, late 1, score 98.0%
}
