// Package coinbase reads trades from the Coinbase Exchange WebSocket feed (wss://ws-feed.exchange.coinbase.com,
// channels matches and heartbeat) and repairs what the feed drops from the REST history.
//
// # Protocol facts this package relies on
//
//   - A match (and the last_match sent once after subscribing) carries the maker's side: "side":"buy"
//     means a resting buy order was hit, so the aggressor sold. Trade.Side is the aggressor's
//     side (DESIGN §3.1), hence the inversion. GET /products/{id}/trades documents the same
//     maker-side convention and is inverted the same way.
//   - trade_id rises by exactly 1 per product. This, not sequence, is what proves a trade missing:
//     sequence counts every order-book event of the product, so between two matches it jumps
//     (by 2 to 2000 in the 2021-04-17 capture) while the trade ids stay consecutive.
//   - A heartbeat (every second per product) carries last_trade_id, which exposes trades lost
//     after the last match received, before the next one arrives.
//   - The subscription must be sent within 5 s of connecting; the first message per product is
//     a last_match, which is historical: it is emitted only if its trade was not seen before.
//   - GET /products/{id}/trades returns at most 1000 trades a page, newest first, with no time
//     range; the CB-AFTER response header is the cursor for the next, older page.
//
// # Recovery
//
// Source keeps the last trade id emitted per product. A match whose id is more than one past it,
// a heartbeat whose last_trade_id is beyond it, or the last_match after a reconnect opens a gap;
// the missing ids are fetched from REST (cursor paging) and emitted in trade-id order before the
// trade that revealed the gap. What REST cannot supply is reported through Config.OnGap with
// Repaired=false and counted in Stats: a loss is never silent. Trades already emitted (the
// overlap after a reconnect) are dropped by trade id.
//
// A connection that is silent (not even a heartbeat) for Config.StaleTimeout is replaced;
// reconnect attempts are spaced by feed.Backoff. REST pages that answer 429 or 5xx are retried
// (Retry-After, else the back-off) a few times before the gap is declared unrepaired. A context
// cancelled during a repair leaves that gap reported as unrepaired, never silently skipped.
//
// # History
//
// History reads GET /products/{id}/trades: pages of at most 1000 trades, newest first, addressed
// by trade id alone (after=N: older than N; before=N: newer than N; CB-BEFORE and CB-AFTER name
// the neighbouring pages). It paces its requests under the public limit (10 a second per IP),
// waits out 429s (Retry-After), retries 5xx, stalls and truncated pages, and fails at once on
// any other 4xx (StatusError, IsPermanent). DecodeTradesPage decodes a page by the rules of the
// match frame — the same event id, the maker's side inverted — without allocating.
//
// History.Source is a HistorySource, a ctc.Source and ctc.Seeker of one product's trades in a
// time range, oldest first: the range is found by searching the trade-id space (exponential
// probe back from the newest page, then binary search on the pages' times), then walked forward
// with before cursors. Package backfill runs it beside binance.HistorySource.
//
// # Advanced Trade
//
// Decoder also reads Advanced Trade market_trades frames, and Source reads that feed with
// Config.Advanced (public channels, no JWT). Whether their "side" is the taker's or the
// maker's is disputed between Coinbase's documentation and major client libraries, so both
// refuse to guess: Decoder.AdvancedSide / Config.AdvancedSide must say which
// (DefaultAdvancedSide, the documentation's taker reading, is offered but never applied
// implicitly). A batch is emitted in trade-id order per product, with the same dedup and the
// same REST repair: the Exchange REST history numbers trades the same way and states the maker's
// side, so a wrong AdvancedSide shows as repaired trades disagreeing with live ones.
//
// # Capture and replay
//
// Config.Capture records every frame in the cryptofeed capture format (feed.CaptureWriter);
// feed.CaptureReader reads it back for DecodeFrame, which is how the tests replay the real
// 2021-04-17 Coinbase capture.
package coinbase
