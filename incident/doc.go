// Package incident groups alerts into incidents, so that a condition that lasts — a spread that
// stays open, a volume regime that persists, a whale that keeps buying — reaches people as one
// notice that is then updated, not as a copy every window.
//
// An incident belongs to one key, (alert type, symbol). The key's first alert opens it; every
// alert of the key detected less than the cooldown (Policy.Cooldown, default 5 min, per type
// with Policy.Cooldowns) after the incident's last alert joins it; a key quiet for the cooldown
// closes it. Each change people should hear of is a new revision of the incident, numbered from
// 1, under the incident's id (the AlertID of its first alert):
//
//	opened     the first alert
//	escalated  an alert more severe than any before in the incident
//	ongoing    alerts still coming, Policy.Remind (default 30 min) after it opened, and again
//	           after each further Remind
//	closed     the key quiet for the cooldown, seen once event time passes the last alert +
//	           cooldown + Policy.Settle (default 2 min, longer than a detector's latency, so that
//	           no alert the cooldown would admit can arrive after the close)
//
// An alert that only joins an incident makes no revision; the incident counts it.
//
// Everything is in event time (DetectedAt and the times a Grouper is advanced to), never the
// wall clock, so a replay groups exactly as the live run did, and the Grouper's state is
// snapshotted and restored like a detector's. Group is the batch form over stored alerts.
//
// The raw alerts are unchanged: the detectors' tables and the alert store keep every one.
// Grouping applies to what people see: package notify delivers revisions (the revision number
// is the delivery log's, so a restart or a replay sends no revision twice), and the API's
// default view of /alerts is Group over the stored alerts (?view=raw lists every alert).
package incident
