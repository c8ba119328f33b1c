// Package replay replays recorded trades from a file or a reader as a bounded ctc.Source: the
// unified NDJSON that the jsonl sink writes, or Binance's public aggTrades CSV
// (data.binance.vision). It is the embedded default feed of the example consumer and the
// reprocessing input, and Trades is the in-memory reference source the tests of other packages
// build on.
//
// # Determinism
//
// By default a replay runs as fast as the consumer reads and never looks at the wall clock, so
// the same file gives the same records, positions and (downstream) alerts on every run. WithSpeed
// paces the records by their event times for demos; only then is the clock read.
//
// # Positions and resuming
//
// A record's Position is the file (WithPartition overrides the name) and its 1-based line number,
// blank and header lines included, so a dead letter points at the line to look at. A consumer
// that checkpointed Offset n resumes with WithSkip(n) and gets exactly the records after it.
//
// # Formats
//
// NDJSON lines are handed over undecoded (rec.Decoded is false): the quality chain decodes and
// validates them, so a bad line becomes a counted dead letter rather than an error here. CSV lines
// are decoded by DecodeCSV; a line that does not decode is still returned, with rec.Err naming the
// column, for the same reason. Neither path allocates per record in steady state.
//
// # Concurrency
//
// A Source is used by one goroutine at a time and starts none.
//
// # Example
//
//	src, err := replay.Open("BTCUSDT-aggTrades-2024-01.csv", replay.WithInstrument(ctc.Binance, "BTC-USDT"))
//	if err != nil {
//		return err
//	}
//	defer src.Close(ctx)
//	var rec ctc.Record
//	for {
//		if err := src.Next(ctx, &rec); err != nil {
//			if errors.Is(err, ctc.ErrEndOfInput) {
//				return nil
//			}
//			return err
//		}
//		// hand rec to the pipeline
//	}
package replay
