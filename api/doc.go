// Package api is ctc's REST API and dashboard as one net/http handler. The local consumer serves
// it with [NewServer]; the AWS Lambda API handler wraps the same handler unchanged.
//
//	h, err := api.New(api.Config{Store: store, Quality: chainStats, Logger: logger})
//	if err != nil { ... }
//	srv := api.NewServer("127.0.0.1:8080", h)
//	go srv.ListenAndServe()
//	...
//	srv.Shutdown(ctx)
//
// The handler reads a [Store]: the embedded store (sink/embedded) or any store with the same
// four queries. It never writes.
//
// # Endpoints
//
// Every answer carries X-Request-Id (the client's own when sane, else a new one); a 5xx answer
// also has it in its body ("request_id"), and the log line of the failure names it.
//
// A field that does not apply is null, never a made-up 0: z_score on whale, spread and cluster
// alerts (only statistical alerts have one), closed_at of an open incident, a spread of no
// window, the last whale of a symbol that has none.
//
// Every answer is JSON (Content-Type: application/json, Cache-Control: no-store), with records
// written by their own encoders (the field names of DESIGN §3, times in RFC 3339 UTC with
// milliseconds). GET and HEAD are served; OPTIONS answers 204 (and CORS preflights).
//
//	GET /alerts?type=&symbol=&limit=&since=&view=&cursor=
//	    {"alerts":[<alert>...],"count":N,"next":"<cursor>"|null}, newest first.
//	    type    volume_spike | whale | spread | a detector's own (lower-case letters, digits, _); default every type
//	    symbol  e.g. BTC-USDT (case-insensitive); spread alerts carry the instrument, e.g. BTC
//	    limit   1..200, default 50
//	    since   RFC 3339, default now − 24 h
//	    view    raw | incidents; default incidents when Config.Incidents is set, else raw
//	    cursor  the next of the previous page (opaque): the page after it. next is null on the
//	            last page (fewer than limit entries). Pages are keyed by the last entry's
//	            (detected_at, id), not by an offset, so alerts arriving meanwhile neither repeat
//	            nor hide an entry that was there at the first page (ctc.AlertQuery.Before).
//	    In the incidents view (package incident) the stored alerts of the type and symbol from
//	    24 h before since (at most 5000) are grouped into incidents and each incident with an
//	    alert since since is one entry, "view":"incidents" in the answer: its latest revision as
//	    an alert (alert_id the incident's id, severity its highest, window_start its first alert,
//	    the latest alert's figures and message) with "incident":{"id","revision","status",
//	    "open","count","first_detected_at","last_detected_at","closed_at","latest_alert_id"},
//	    ordered by its latest alert. An incident is closed when the API's clock is past its last
//	    alert + cooldown + settle. The raw view is every alert, as stored.
//
//	GET /alerts/stream?type=&symbol=
//	    Server-Sent Events (text/event-stream): "event: alert", "id: <detected_at ms>.<alert_id>",
//	    "data: <alert>" for each alert raised after the stream opened, in detected_at order (an
//	    alert detected up to StreamLag out of order is still sent once); a comment every 15 s.
//	    Last-Event-ID (sent by a reconnecting EventSource) resumes after that event. 501 where the
//	    host cannot stream (Config.NoStream: API Gateway and Lambda): poll /alerts there. The
//	    dashboard uses it for its alert list and falls back to polling when it fails at once.
//
//	GET /metrics/{symbol}
//	    {"symbol","instrument","as_of","since","volumes":[...],"spread":<spread>|null,
//	     "alert_counts":{"volume_spike":N,"whale":N,"spread":N},"alert_counts_capped":false,
//	     "last_whale":<alert>|null}
//	    The latest volume window of each exchange, the latest spread window of the symbol's
//	    instrument (the part before '-': BTC-USDT and BTC-USD → BTC), alert counts by type in the
//	    last 24 h (the symbol's own alerts and its instrument's spread alerts), and the newest whale
//	    alert. A bare instrument (BTC) covers every symbol of it. A symbol the store does not know
//	    gets the same shape with empty values and zero counts: 200, never an error. Counts stop at
//	    10,000 per symbol, and alert_counts_capped says so.
//
//	GET /volumes?symbol=&since=
//	    {"symbol","since","volumes":[<volume window>...],"count":N}, oldest first: the 60 s
//	    windows of the symbol on every exchange (of every symbol of a bare instrument), since
//	    default now − 1 h. symbol is required.
//
//	GET /spreads?symbol=&since=
//	    {"symbol","since","spreads":[<spread window>...],"count":N}, oldest first: the 30 s joined
//	    windows of the instrument; symbol may be a market symbol or the instrument. since default
//	    now − 1 h.
//
//	GET /symbols     {"instruments":["BTC",...],"symbols":[{"symbol":"BTC-USDT","instrument":"BTC"},...]},
//	                 sorted: the instruments and the exchange symbols the store knows, as two typed
//	                 lists (the dashboard's pickers offer both).
//	GET /quality     the quality counters (quality.Stats JSON); 404 if Config.Quality is nil.
//	GET /healthz     {"status":"ok"}
//	GET /prometheus  Prometheus text exposition of Config.Gatherer (not under /metrics, which
//	                 belongs to /metrics/{symbol}).
//	GET /evidence    the last evidence report (package evidence) as Config.Evidence gives it;
//	                 404 without one, and the dashboard's evidence panel stays hidden.
//	GET /            the dashboard (also /index.html); its files under /static/.
//	GET /openapi.json  the OpenAPI 3.1 document of all of this (OpenAPI): every endpoint,
//	                 parameter, status and field; TestOpenAPI checks the answers against it.
//	POST /session    with Authorization: Bearer <key>: 204 and a session cookie (see Keys);
//	DELETE /session  204, the cookie cleared.
//
// # Keys
//
// With Config.Keys set, every endpoint but /healthz, /session and the dashboard's own files
// answers 401 (WWW-Authenticate: Bearer) unless the request sends "Authorization: Bearer <key>"
// or the session cookie. Scripts and Prometheus send the header. A browser's EventSource cannot
// send a header, so the dashboard, on its first 401, asks for the key once and POSTs it to
// /session, whose answer sets ctc_session: HttpOnly (no script reads it), SameSite=Strict (no
// other site's page sends it), Secure when the request came over https (directly or as
// X-Forwarded-Proto says), Path=/, and lasting Config.SessionTTL (15 min by default), renewed by
// any request in its second half, so an open dashboard stays signed in and a closed one is
// signed out a quarter of an hour later. The cookie is "<key id>.<expiry>.<HMAC>" under a key
// derived from the API key: it holds neither the key nor anything that yields it, replicas
// with the same keys accept each other's cookies, and removing a key from the list ends its
// sessions. Keys never appear in a URL, so the logs (which record the path and query of a failed
// request) never hold one; nor do they hold a header.
//
// The API Lambda sets no keys: authorisation there belongs to API Gateway in front of it (the
// Terraform's Cognito JWT authorizer). Lambda cannot stream, so the dashboard polls there, and
// since that gateway routes no /session, the dashboard keeps the token it is given in the page's
// memory (never in storage) and sends it as Authorization: Bearer on each request.
//
// # Errors
//
// Every error is JSON: {"error": what is wrong and what to do, "parameter": the parameter to
// blame, if any, "allowed": what it allows}. For example
//
//	400 {"error":"limit must be 1..200, got 500","parameter":"limit","allowed":"1..200"}
//
// A bad value, a parameter the endpoint does not take (the error lists those it takes), a
// parameter given twice and a malformed escape are all 400. An empty value (type=) means the
// default. A '+' of a time zone offset that arrives unescaped (as a space) is read as '+'.
// A method other than GET, HEAD or OPTIONS is 405 with an Allow header; an unknown path is a 404
// that lists the endpoints. A store failure is 500 with a generic message, and the detail goes to
// Config.Logger; a store that times out gives 504.
//
// # CORS
//
// Config.CORSOrigins lists the origins whose pages may call the API. For an allowed Origin the
// answer carries Access-Control-Allow-Origin (and Vary: Origin), and a preflight OPTIONS gets
// the allowed methods, the requested headers and a 10 min max age. "*" allows every origin.
// Without origins, no CORS header is ever written.
//
// # Metrics
//
// The handler registers ctc_api_requests_total and ctc_api_request_duration_seconds, both by
// route pattern (e.g. /metrics/{symbol}, "unmatched" for unknown paths, so that clients cannot
// grow the label set) and status code, on Config.Registerer, and serves Config.Gatherer at
// /prometheus. [NewCollector] adds the pipeline's and the quality chain's counters
// (ctc_pipeline_*, ctc_quality_*, including ctc_quality_score_ratio, the score as a 0–1 ratio): register it on the same registry.
//
// # Dashboard
//
// The dashboard is plain HTML, CSS and JavaScript embedded in the binary: no build step, nothing
// loaded from another host. It polls the API every 2 s while its tab is visible and shows the
// live alerts, newest first, coloured by severity and filtered by type and symbol; the volume
// (bars per 60 s window) and spread (line per 30 s window, with the ±0.5 % alert threshold)
// charts of one symbol, drawn as inline SVG; the symbol's alert counts, latest spread and last
// whale; and the quality score, hidden when /quality is 404. Filters live in the page's query
// string (/?type=whale&symbol=BTC-USDT&chart=ETH-USDT), so a view can be bookmarked. Every
// piece of data reaches the page as text (textContent, setAttribute), never as HTML, and the page
// is served with a Content-Security-Policy that allows only its own script, style and API.
//
// To host the dashboard elsewhere (e.g. S3), copy the files of the dashboard folder, set the
// ctc-api-base meta tag of index.html to the API's URL and allow the page's origin in
// Config.CORSOrigins.
//
// # Concurrency
//
// The handler starts no goroutine and is safe for concurrent use once New returns; it calls the
// Store, Config.Quality and Config.Now from many requests at once, so they must be safe for
// that. The funcs given to [NewCollector] run on the scraping goroutine.
package api
