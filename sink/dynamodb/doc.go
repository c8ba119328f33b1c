// Package dynamodb is the hot alert store on DynamoDB (DESIGN §3.4): the AWS counterpart of
// sink/embedded, with the same queries and the same 24 h expiry. A Store is a ctc.AlertStore — a
// ctc.Sink that stores each batch's alerts, volume windows and spread windows, and answers
// QueryAlerts — and the api.Store the HTTP API and dashboard read (Volumes, Spreads, Symbols).
//
// # Tables
//
// The alerts table is the seed's: partition key alert_id (S, the UUID text), sort key detected_at
// (S), global secondary indexes type-time-index (alert_type, detected_at) and symbol-time-index
// (symbol, detected_at) projecting every attribute, ttl_epoch (N) as the TTL attribute,
// PAY_PER_REQUEST. Every field of ctc.Alert is an attribute of its own (alert_type, symbol,
// exchange, severity, z_score, threshold_value, actual_value, window_start, message, ttl_epoch,
// emitted_at), so that an alert reads back exactly as written.
//
// Times are strings: RFC 3339 in UTC with exactly nine fractional digits
// (2024-03-13T09:30:00.123000000Z). Fixed width makes their lexical order the order of time, which
// the detected_at range conditions and the newest-first index reads rely on; nanoseconds make any
// time.Time round-trip. Years outside 0000-9999 are refused. Floats are numbers (N) in their
// shortest round-trip decimal form; the few values the number type cannot hold exactly (NaN, ±Inf,
// -0 and magnitudes beyond 1e-130..1e125) are stored as strings of the same form, so every float
// comes back bit for bit (NaN payloads aside).
//
// The aggregates table has partition key series (S) and sort key sk (S), a ttl_epoch a day after
// each window's end, and three kinds of item:
//
//	series                   sk                          content
//	volume#BTC-USDT          <window_start>#<exchange>   a ctc.VolumeWindow
//	spread#BTC               <window_start>              a ctc.SpreadWindow
//	registry#alert_type      volume_spike                an alert type with live alerts
//	registry#alert_symbol    BTC-USDT                    likewise for alert, volume and
//	registry#volume_symbol   BTC-USDT                    spread symbols
//	registry#spread_symbol   BTC
//
// The registries make every read a Query, never a Scan: a query of all alerts reads
// type-time-index once per registered type and merges the results, Symbols reads the three
// symbol registries, and Volumes or Spreads of every symbol read each registered symbol's series.
// A registry entry's ttl_epoch is raised (by a conditional UpdateItem that never lowers it, so
// that several writers agree) to an hour beyond the newest ttl_epoch of its records; a Store skips
// the update while its own last one still covers the record, so registries cost a write per symbol
// and type per hour, not per batch.
//
// # Expiry
//
// DynamoDB deletes expired items only eventually (typically within a day or two), and emulators
// such as dynalite never do, nor implement UpdateTimeToLive. So every read filters ttl_epoch > now
// itself, with the clock of Config.Now, and an expired item never comes back, deleted or not.
//
// # Writes
//
// Write sends the batch's records in BatchWriteItem calls of 25 puts (alerts and aggregates
// mixed), one call after another. Items DynamoDB leaves unprocessed, and calls refused as
// throttled, are retried with exponential back-off and jitter, at most Config.MaxAttempts calls
// per chunk; then Write fails with an *UnprocessedError. A put replaces the item with its key, so
// writing a batch again is harmless: a pipeline that retries a failed batch stores each alert once.
// Alert ids are UUIDv5s of what identifies the alert, detected_at included, so the same alert_id
// always comes with the same detected_at and one alert is one item.
//
// # Reads
//
// QueryAlerts reads type-time-index for a type, symbol-time-index for a symbol (with a filter on
// the type when both are given), newest first, detected_at >= Since, page after page
// (Config.PageSize is the Query Limit) until it has Limit live alerts. It reads on past the last
// of them while alerts tie with it on detected_at, because an index orders ties arbitrarily and
// ctc.AlertQuery breaks them by alert_id.
//
// Index reads are eventually consistent on DynamoDB: an alert may show in queries a moment after
// Write returned. The conformance suite runs against dynalite, whose indexes are immediate.
//
// # Example
//
//	cfg, err := config.LoadDefaultConfig(ctx)
//	if err != nil {
//		return err
//	}
//	client := ddb.NewFromConfig(cfg)
//	store, err := dynamodb.New(client, dynamodb.Config{}) // coattail-alerts, coattail-aggregates
//	if err != nil {
//		return err
//	}
//	if err := store.Write(ctx, batch); err != nil {
//		return err
//	}
//	whales, err := store.QueryAlerts(ctx, ctc.AlertQuery{Type: ctc.Whale, Since: time.Now().Add(-time.Hour), Limit: 50})
//	if err != nil {
//		return err
//	}
//	handler := api.New(api.Config{Store: store}) // /alerts and /metrics/{symbol} from DynamoDB
//
// # Concurrency
//
// A Store is safe for concurrent use and starts no goroutines.
package dynamodb
