// Package binance reads Binance spot trades: a zero-allocation decoder for the WebSocket frames
// (DecodeFrame), a live Source over combined streams with gap repair from the REST history, and a
// History client for GET /api/v3/aggTrades.
//
// # Protocol facts the code relies on
//
//   - Combined streams (/stream?streams=a@aggTrade/b@aggTrade) wrap every event as
//     {"stream":..,"data":{..}}; a bare connection (/ws/..) sends the event alone. DecodeFrame takes
//     both.
//   - m is "the buyer is the maker": m=true means the aggressor sold, so the side is Sell. T is the
//     trade time (ms) and becomes Timestamp; E, the event time, is ignored. No quote volume is sent:
//     it is price × quantity, both parsed from their decimal strings.
//   - aggTrade ids (a) are consecutive per symbol, so a jump is a gap that
//     GET /api/v3/aggTrades?fromId= can fill. Raw trade ids (t) are a different numbering; event ids
//     use whichever id the stream carries, so one symbol must not be read from both.
//   - The server pings every 20 s and drops a client that does not pong within a minute; a
//     connection lives at most 24 h; serverShutdown precedes maintenance. A connection accepts 5
//     incoming messages a second and 1024 streams.
//   - REST aggTrades: limit ≤ 1000, weight 4 a request, 6000 weight a minute per IP
//     (X-MBX-USED-WEIGHT-1M reports the use), 429 when over, 418 (a ban) for clients that ignore
//     429; both carry Retry-After in seconds.
//
// # What the Source recovers, and how
//
//   - A dropped, stale (no frame and no ping for StaleTimeout) or refused connection is redialled
//     after feed.Backoff delays; serverShutdown and the connection-age limit (MaxConnAge, before
//     the 24 h cut) reconnect at once, without back-off.
//   - After a reconnect, the trades of the connection's symbols since the last id emitted are
//     fetched from REST (up to Config.MaxRepair ids) before anything newer, so the downtime is
//     closed in order. A symbol with no id seen yet is caught up by time, from when the source
//     started.
//   - A jump in a symbol's aggregate ids is filled from REST aggTrades?fromId= and the filled trades
//     are emitted before the trade that revealed the jump. Ids already emitted are dropped, so the
//     overlap of a reconnect never repeats a trade (the pipeline's event-id dedup is a second net).
//   - What REST cannot fill (it failed, or its history lacks the ids) goes to Config.OnGap with
//     Repaired=false and is counted in Stats().GapsUnrepaired: nothing is lost silently. A failed
//     catch-up after a reconnect has no known end: its Gap has LastID 0 and FirstID the first id
//     missing.
//   - A frame that does not decode is returned as a Record with Err set (the pipeline dead-letters
//     it) and the source carries on.
//
// Repairs run inside Next, so records stay in order and a slow REST answer delays the records
// behind it. Timeouts on the socket (stale detection, write deadlines) use the real clock; Now
// stamps ingestion times and Sleep paces reconnects, subscriptions and REST retries, which is
// what tests replace.
//
// # Historical loading
//
// History.Load pages GET /api/v3/aggTrades by id (1000 a request) over a time range and can resume
// from a saved next id; the adapters/loader command writes the result as unified NDJSON and keeps
// the next id per symbol in a state file.
//
// # Capture
//
// Frames can be recorded with feed.CaptureWriter ("<receive epoch seconds>: <frame>" a line, the
// cryptofeed format) and replayed through DecodeFrame with feed.CaptureReader.
package binance
