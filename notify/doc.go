// Package notify delivers alerts to people: a ctc.Sink that sends each alert, as soon as the
// pipeline writes it, to the destinations a small config file routes it to — a signed generic
// webhook, Slack and Discord webhooks, a Telegram bot — retrying, rate-limited by the services'
// own word, deduplicated across restarts, and dead-lettering what it gives up on.
//
//	n, err := notify.Open("/etc/ctc/notify.json", notify.WithLogger(slog.Default()))
//	if err != nil { ... }
//	p, err := ctc.NewPipeline(src,
//		ctc.WithChecker(chain),
//		ctc.WithDetectors(detect.Defaults()...),
//		ctc.WithSinks(console.New(os.Stdout), n))
//	if err != nil { ... }
//	if err := p.Run(ctx); err != nil { ... }
//	_ = n.Close(ctx) // waits, bounded by ctx, for the queues to drain
//
// # Destinations
//
//   - webhook: POSTs the alert's JSON (ctc.Alert's encoding, DESIGN §3.2: alert_id, alert_type,
//     symbol, exchange, severity, z_score, threshold_value, actual_value, window_start,
//     detected_at, message, ttl_epoch, emitted_at) with X-CTC-Signature (see Receivers),
//     X-CTC-Idempotency-Key "<alert_id>:<revision>" and X-CTC-Attempt.
//   - slack: an incoming webhook; a text fallback and blocks (header, the message in mrkdwn
//     with &, < and > escaped so that it can open no link or mention, the figures and the key).
//   - discord: a webhook; content and an embed coloured by severity, with fields, the detection
//     time and the key, markdown escaped and allowed_mentions empty, so that nothing pings.
//   - telegram: the Bot API's sendMessage to one chat_id, in HTML (default) or MarkdownV2 with
//     the escaping each requires; text kept under the 4096-character limit.
//
// Messages over a service's limits are cut at a character, never inside an escape. Base URLs
// are configurable (the URL of a webhook, api_url for Telegram), so tests point them at local
// servers: package notifytest runs servers that act like each service.
//
// # Config file
//
// JSON, to keep dependencies out (LoadConfig; unknown fields are errors):
//
//	{
//	  "destinations": [
//	    {"name": "ops", "kind": "webhook", "url": "https://alerts.example.com/ctc", "secret": "env:CTC_WEBHOOK_KEY"},
//	    {"name": "desk", "kind": "slack", "url": "env:CTC_SLACK_WEBHOOK_URL"},
//	    {"name": "community", "kind": "discord", "url": "file:/run/secrets/discord_webhook_url"},
//	    {"name": "phone", "kind": "telegram", "token": "file:/run/secrets/telegram_token",
//	     "chat_id": "-1001234567890", "parse_mode": "MarkdownV2"}
//	  ],
//	  "rules": [
//	    {"to": ["ops"]},
//	    {"types": ["whale"], "min_severity": "high", "to": ["desk", "phone"]},
//	    {"symbols": ["BTC-USDT", "ETH-USDT"], "exchanges": ["binance"], "min_severity": "critical", "to": ["phone", "community"]}
//	  ],
//	  "delivery": {"queue": 1024, "attempts": 8, "max_age": "15m", "timeout": "10s",
//	               "backoff_base": "500ms", "backoff_max": "1m", "flush_timeout": "0s",
//	               "dead_letter_path": "/var/lib/ctc/notify-dead.ndjson",
//	               "log_path": "/var/lib/ctc/notify-delivered.ndjson"}
//	}
//
// A rule matches an alert whose type is one of types, symbol one of symbols and exchange one of
// exchanges (an empty or absent list matches any) and whose severity is at least min_severity
// (low, medium, high, critical; absent matches any). An alert goes to the union of the
// destinations of the rules it matches, once each; an alert no rule matches goes nowhere. The
// delivery section is optional: its numbers and durations above are the defaults, the two paths
// have none, and relative paths are taken from the config file's directory. Without log_path deduplication lasts only as long as
// the process; without dead_letter_path dead letters are only logged and counted.
//
// # Incidents
//
// By default the notifier delivers incidents, not alerts (package incident): the alerts of one
// (alert type, symbol) key detected less than a cooldown apart are one incident, delivered when
// it opens and again as a new revision when it escalates (a more severe alert), when it is still
// going after each reminder interval, and when it closes — so a spread that stays open for an
// hour is four or five messages, not 120. Each revision is delivered as an alert (Incident.Alert:
// the incident's id and highest severity, the latest alert's figures, the message prefixed with
// what changed); the webhook's body adds an "incident" object (id, revision, status, open, count,
// first_detected_at, last_detected_at, closed_at, latest_alert_id), and the idempotency key is
// "<incident id>:<revision>". Rules see the revision: its type, symbol and exchange, and its
// severity, the incident's highest so far.
//
//	"incidents": {"cooldown": "5m", "cooldowns": {"whale": "2m"}, "remind": "30m", "settle": "2m",
//	              "deliver": ["opened", "escalated", "ongoing", "closed"]}
//
// are the defaults (cooldowns has none); "incidents": {"off": true} delivers every alert as it
// comes. Grouping runs in event time — alerts' detection times and the closing times of the
// batch's volume and spread windows — so a replay sends what the live run sent.
//
// The grouper's state is part of a checkpoint: the notifier is a ctc.Committer that keeps it as
// of each checkpoint (the last 8, in state_path, default the delivery log's path +
// ".incidents.json", in memory without a log), and a ctc.Resumer that puts it back when a
// pipeline resumes, so the incidents open at the checkpoint go on under their ids and the
// alerts written again after it make revisions the delivery log already holds. A Notifier that
// groups serves one pipeline: give each shard runner its own. If the state of the checkpoint a
// pipeline resumes from is missing (a new config, a deleted file), the notifier says so in its
// log and its incidents start afresh: an incident open then is opened again, under the id of the
// first alert after the checkpoint.
//
// # Secrets
//
// Tokens, webhook URLs that embed one (Slack's, Discord's) and HMAC keys are never in the file
// in clear: the file names them as env:NAME or file:/path, read once by LoadConfig (a secret
// file's trailing newline is dropped, as Docker and Kubernetes write one). A value written in
// clear is refused, without being quoted in the error. A generic webhook's URL may be written
// in clear (its key is the secret) or referenced. There is no command-line flag for a secret:
// flags show in ps and in shell history.
//
// A Secret prints, formats, marshals and logs as its reference. Every string the notifier lets
// out — log records, dead letters, errors — is passed through a redactor that replaces each
// secret, its URL path, its long token pieces and their URL-escaped forms with [redacted], and
// transport errors are stripped of the URL they quote, so that a Telegram token in a request
// path, or a service echoing the request in its error, leaks nothing.
//
// # Delivery
//
// Write never blocks on the network or the disk: it routes each alert and queues it, per
// destination, in a bounded queue (delivery.queue). A full queue drops its oldest alert — when
// a destination comes back the newest alerts matter most — counts it (Stats.Dropped) and
// dead-letters it with reason queue_full. One worker per destination sends in the order written.
//
// An attempt that fails is retried after an exponential back-off with equal jitter
// (backoff_base doubling to backoff_max), or after exactly the wait the service asked for: a
// Retry-After header (seconds or an HTTP date) on a 429 or 503, Discord's retry_after, Telegram's
// parameters.retry_after. Each attempt is bounded by timeout. A 4xx other than 408 and 429 is a
// refusal that retrying cannot change (a revoked webhook, a wrong token). The notifier gives up
// — appends a line to the dead-letter file and counts it — with reason rejected, after attempts
// attempts (attempts_exhausted), when the alert is older than max_age since Write or the next
// wait would pass it (expired), or when Close's context ends first (shutdown). A dead letter is
// one NDJSON line: alert_id, revision, destination, reason, attempts, the last error (redacted),
// the time, and the whole alert, so that it can be sent again by hand (ReadDeadLetters).
//
// Flush waits, bounded by its context, until every alert written so far is delivered or
// dead-lettered; Close stops Write, drains the same way, then stops the workers. Stats counts
// per destination what was sent, retried, dropped, dead-lettered and deduplicated.
//
// # Guarantee: at least once, deduplicated
//
// Every alert that the rules route to a destination is delivered there, or dead-lettered with
// why, at least once — as long as the pipeline writes again after a restart what it wrote after
// its last checkpoint (a checkpointed pipeline over a replayable source does: the pipeline
// calls Flush at each checkpoint, and Flush returns only when the queues are empty). Setting
// delivery.flush_timeout trades this for a pipeline that never waits long on a dead destination:
// alerts still queued when a checkpoint's Flush gives up are lost if the process then crashes.
//
// Deduplication: the delivery log (log_path) is an append-only NDJSON file with a line
// {alert_id, revision, destination, delivered_at} per delivery, read at start. The worker
// appends the line (a write to the file) as soon as the service answers 2xx, before it takes
// the next alert; a goroutine of the log's own fsyncs it moments later, one fsync covering every
// line written meanwhile, and Flush and Close fsync before they return. An alert written again —
// the same deterministic AlertID after a restart, a replay, a reprocessing, or twice while
// queued — is not sent again to a destination that has it at the same or a higher revision. The
// revision is, by default, the severity (Revision; WithRevision replaces it): an alert detected
// again with slightly other figures is the same notice, while one that comes back more severe
// reaches people again.
//
// The window in which a duplicate can still happen is exactly this: between the service
// accepting the request (its 2xx leaving the service) and the line's append to the delivery
// log — for a crash of the process (kill -9, a panic, an OOM kill), that is the HTTP response
// reaching the client, being read, and one write(2). For a crash of the machine (power, kernel)
// it extends to the fsync that follows, milliseconds later, and is closed at every Flush. A
// crash in the window, or an answer lost on the way (a response slower than timeout that the
// service nevertheless acted on), leaves the delivery unlogged, and the alert is sent again when
// it is written again. The webhook's X-CTC-Idempotency-Key is the same on every such resend, so
// a receiver that remembers the keys it processed closes the window; Slack, Discord and Telegram
// have no such key, and a person may see the message twice. A crash that cuts the log's last
// line leaves it without its newline; the next open drops it (that delivery is the one in the
// window). One Notifier at a time may use a log file. The log is never compacted: it grows by
// about 130 bytes per delivery.
//
// # Receivers
//
// A webhook receiver verifies each request before acting on it: read the raw body, then
//
//	err := notify.VerifySignature(secret, r.Header.Get(notify.SignatureHeader), body, time.Now(), 5*time.Minute)
//
// The header is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> under the shared secret;
// VerifySignature compares in constant time, accepts several v1 entries (for key rotation) and
// refuses a timestamp further than the tolerance from now, so that a captured request cannot be
// replayed later. Within the tolerance, drop requests whose X-CTC-Idempotency-Key you have
// already processed. In other languages: split the header at commas, compute
// HMAC-SHA256(secret, t + "." + body), hex-encode, compare in constant time, check |now − t|.
//
// # Concurrency
//
// A Notifier owns one goroutine per destination and one that writes dead letters; Close ends
// them. Write, Flush, Close, Stats and Route may be called from any goroutine. A Destination's
// Send is called from its worker only, one notification at a time.
//
// # Conformance
//
// Notifier, with incidents off, passes ctctest.TestSink (Alerts, IdempotentAlerts), with a signature-verifying
// webhook receiver standing in for the storage: what Flush has made durable is what the
// receiver accepted.
package notify
