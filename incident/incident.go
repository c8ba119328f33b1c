package incident

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// The policy's defaults.
const (
	// DefaultCooldown is how long a key must stay quiet for its incident to end: five volume
	// windows, ten spread windows. A spread that stays open, or a volume regime that persists,
	// raises an alert every window; five minutes without one is a market that has moved on.
	DefaultCooldown = 5 * time.Minute
	// DefaultRemind is how often an incident that keeps receiving alerts says so again: every
	// half hour of event time.
	DefaultRemind = 30 * time.Minute
	// DefaultSettle is how much further event time must move, past the cooldown, before an
	// incident is declared closed: longer than a detector's latency (a volume window plus its
	// allowed lateness), so that no alert the cooldown admits can still arrive after the close.
	DefaultSettle = 2 * time.Minute
)

// Policy says how alerts of one key — (alert type, symbol) — make incidents. The zero Policy is
// the defaults; a negative duration is an error, and Remind < 0 turns reminders off.
type Policy struct {
	// Cooldown: an alert detected less than Cooldown after the key's last alert joins the key's
	// incident; one detected later opens a new incident. Default DefaultCooldown.
	Cooldown time.Duration
	// Cooldowns overrides Cooldown per alert type (whale alerts are rarer than spread alerts).
	Cooldowns map[ctc.AlertType]time.Duration
	// Remind: an incident that keeps receiving alerts gets an Ongoing revision at its first alert
	// after each Remind of event time since it opened. Default DefaultRemind; < 0 never.
	Remind time.Duration
	// Settle: an incident is Closed once event time passes its last alert + cooldown + Settle.
	// Default DefaultSettle.
	Settle time.Duration
}

// Validate reports a policy that cannot be used.
func (p Policy) Validate() error {
	var errs []error
	if p.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("cooldown %s is negative", p.Cooldown))
	}
	if p.Settle < 0 {
		errs = append(errs, fmt.Errorf("settle %s is negative", p.Settle))
	}
	for t, c := range p.Cooldowns {
		if c <= 0 {
			errs = append(errs, fmt.Errorf("cooldown of %s: %s is not positive", t, c))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("incident: %w", err)
	}
	return nil
}

func (p Policy) withDefaults() Policy {
	if p.Cooldown == 0 {
		p.Cooldown = DefaultCooldown
	}
	if p.Remind == 0 {
		p.Remind = DefaultRemind
	}
	if p.Settle == 0 {
		p.Settle = DefaultSettle
	}
	return p
}

// CooldownOf is the cooldown of alerts of type t.
func (p Policy) CooldownOf(t ctc.AlertType) time.Duration {
	if c, ok := p.Cooldowns[t]; ok {
		return c
	}
	if p.Cooldown == 0 {
		return DefaultCooldown
	}
	return p.Cooldown
}

// Status is what a revision of an incident says.
type Status uint8

const (
	// Opened: the key's first alert after a quiet spell.
	Opened Status = iota + 1
	// Escalated: an alert more severe than any before in the incident.
	Escalated
	// Ongoing: alerts keep coming, Remind after the incident opened (or after the last reminder).
	Ongoing
	// Closed: the key has been quiet for its cooldown.
	Closed
)

var statusNames = [...]string{Opened: "opened", Escalated: "escalated", Ongoing: "ongoing", Closed: "closed"}

func (s Status) String() string {
	if int(s) < len(statusNames) && statusNames[s] != "" {
		return statusNames[s]
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	for i, n := range statusNames {
		if n != "" && n == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("incident: unknown status %q", b)
}

// Incident is one revision of an incident: what people are told about a condition of one
// (alert type, symbol) key that lasts. Revisions of one incident share its ID and count up from 1.
type Incident struct {
	// ID is the AlertID of the incident's first alert: deterministic, like every alert id.
	ID uuid.UUID
	// Revision counts the incident's revisions: 1 is Opened.
	Revision uint32
	// Status is what this revision says.
	Status Status
	// AlertType and Symbol are the key.
	AlertType ctc.AlertType
	Symbol    string
	// Severity is the highest severity of the incident's alerts so far.
	Severity ctc.Severity
	// First and Last are the DetectedAt of its first and latest alert; Count how many alerts it has.
	First, Last time.Time
	Count       int
	// Latest is the incident's latest alert: the one that made this revision, or, for Closed,
	// the last one it had.
	Latest ctc.Alert
	// ClosedAt is Last + the cooldown for a Closed revision, zero otherwise.
	ClosedAt time.Time
}

// Open says whether the incident is still open at this revision.
func (in *Incident) Open() bool { return in.Status != Closed }

// Alert is the revision as an alert, for what speaks alerts (the notifier's destinations, the
// alert JSON): the incident's ID and highest severity, the latest alert's figures, WindowStart
// the incident's first alert, and a message that says which revision this is.
func (in *Incident) Alert() ctc.Alert {
	a := in.Latest
	a.AlertID = in.ID
	a.Severity = in.Severity
	a.WindowStart = in.First
	a.Message = in.Summary() + ": " + in.Latest.Message
	return a
}

// Summary is a short line for a person: "escalated to high, 5 alerts since 12:01:00 UTC".
func (in *Incident) Summary() string {
	since := in.First.UTC().Format("15:04:05 MST")
	n := "1 alert"
	if in.Count != 1 {
		n = strconv.Itoa(in.Count) + " alerts"
	}
	switch in.Status {
	case Opened:
		return "opened"
	case Escalated:
		return fmt.Sprintf("escalated to %s, %s since %s", in.Severity, n, since)
	case Ongoing:
		return fmt.Sprintf("still open, %s since %s", n, since)
	case Closed:
		return fmt.Sprintf("closed at %s, %s since %s", in.ClosedAt.UTC().Format("15:04:05 MST"), n, since)
	}
	return in.Status.String()
}

// AppendJSON appends the revision as an alert's JSON (DESIGN §3.2's fields, from Alert) with an
// "incident" object added: id, revision, status, open, count, first_detected_at,
// last_detected_at, closed_at (null unless closed) and latest_alert_id.
func (in *Incident) AppendJSON(b []byte) []byte {
	a := in.Alert()
	b = a.AppendJSON(b)
	b = b[:len(b)-1] // the alert's closing brace
	b = append(b, `,"incident":{"id":"`...)
	b = append(b, in.ID.String()...)
	b = append(b, `","revision":`...)
	b = strconv.AppendUint(b, uint64(in.Revision), 10)
	b = append(b, `,"status":"`...)
	b = append(b, in.Status.String()...)
	b = append(b, `","open":`...)
	b = strconv.AppendBool(b, in.Open())
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(in.Count), 10)
	b = appendTime(append(b, `,"first_detected_at":`...), in.First)
	b = appendTime(append(b, `,"last_detected_at":`...), in.Last)
	b = append(b, `,"closed_at":`...)
	if in.ClosedAt.IsZero() {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, in.ClosedAt)
	}
	b = append(b, `,"latest_alert_id":"`...)
	b = append(b, in.Latest.AlertID.String()...)
	return append(b, `"}}`...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

type key struct {
	Type   ctc.AlertType
	Symbol string
}

func keyOf(a *ctc.Alert) key { return key{a.AlertType, a.Symbol} }

// open is the state of one key's open incident.
type open struct {
	Incident
	// Reminded counts the Ongoing revisions made, so that the next is due at First + (Reminded+1)·Remind.
	Reminded int64
}

// Grouper turns a stream of alerts into incident revisions, in event time: alerts in the order a
// pipeline emits them, and Advance as event time moves. It never reads the wall clock, so the
// same alerts and advances give the same revisions live and in replay, and its state is saved
// and restored with Snapshot and Restore. It is not safe for concurrent use.
type Grouper struct {
	p    Policy
	open map[key]*open
	// now is the newest event time seen: alerts' DetectedAt and Advance.
	now time.Time
}

// NewGrouper returns a Grouper for p.
func NewGrouper(p Policy) (*Grouper, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Grouper{p: p.withDefaults(), open: map[key]*open{}}, nil
}

// Policy returns the policy with its defaults filled in.
func (g *Grouper) Policy() Policy { return g.p }

// Observe adds one alert and appends the revisions it causes to out: Closed for incidents that
// event time (now at least a.DetectedAt) has closed, then the alert's own: Opened for a new
// incident, Escalated when it is more severe than the incident so far, Ongoing when a reminder
// is due, nothing when it only joins the incident (which counts it).
func (g *Grouper) Observe(a *ctc.Alert, out []Incident) []Incident {
	k := keyOf(a)
	if o := g.open[k]; o != nil && !a.DetectedAt.Before(o.Last.Add(g.p.CooldownOf(k.Type))) {
		out = g.close(k, o, out) // quiet for the cooldown: a new incident starts
	}
	out = g.Advance(a.DetectedAt, out)
	o := g.open[k]
	if o == nil {
		o = &open{Incident: Incident{ID: a.AlertID, AlertType: a.AlertType, Symbol: a.Symbol,
			Severity: a.Severity, First: a.DetectedAt, Last: a.DetectedAt, Count: 1, Latest: *a}}
		g.open[k] = o
		return o.emit(Opened, out)
	}
	o.Count++
	o.Latest = *a
	if a.DetectedAt.After(o.Last) {
		o.Last = a.DetectedAt
	}
	var status Status
	if g.p.Remind > 0 {
		if due := int64(a.DetectedAt.Sub(o.First) / g.p.Remind); due > o.Reminded {
			o.Reminded = due
			status = Ongoing
		}
	}
	if a.Severity > o.Severity {
		o.Severity = a.Severity
		status = Escalated
	}
	if status == 0 {
		return out
	}
	return o.emit(status, out)
}

func (o *open) emit(s Status, out []Incident) []Incident {
	o.Revision++
	o.Status = s
	return append(out, o.Incident)
}

// close ends k's incident o, appending its Closed revision.
func (g *Grouper) close(k key, o *open, out []Incident) []Incident {
	delete(g.open, k)
	o.ClosedAt = o.Last.Add(g.p.CooldownOf(k.Type))
	return o.emit(Closed, out)
}

// Advance tells the grouper that event time has reached t, and appends the Closed revisions of
// the incidents it closes, ordered by their close time, then key.
func (g *Grouper) Advance(t time.Time, out []Incident) []Incident {
	if !t.After(g.now) {
		return out
	}
	g.now = t
	var due []key
	for k, o := range g.open {
		if !t.Before(o.Last.Add(g.p.CooldownOf(k.Type) + g.p.Settle)) {
			due = append(due, k)
		}
	}
	if len(due) == 0 {
		return out
	}
	slices.SortFunc(due, func(a, b key) int {
		ca, cb := g.open[a].Last.Add(g.p.CooldownOf(a.Type)), g.open[b].Last.Add(g.p.CooldownOf(b.Type))
		return cmp.Or(ca.Compare(cb), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Symbol, b.Symbol))
	})
	for _, k := range due {
		out = g.close(k, g.open[k], out)
	}
	return out
}

// Open returns the open incidents' latest revisions, newest last alert first.
func (g *Grouper) Open() []Incident {
	out := make([]Incident, 0, len(g.open))
	for _, o := range g.open {
		out = append(out, o.Incident)
	}
	sortNewest(out)
	return out
}

// sortNewest orders incidents by their latest alert, newest first, as the alert store orders
// alerts (DetectedAt, then id).
func sortNewest(in []Incident) {
	slices.SortFunc(in, func(a, b Incident) int {
		return cmp.Or(b.Last.Compare(a.Last), slices.Compare(b.ID[:], a.ID[:]))
	})
}

// snapshot is the Grouper's saved state.
type snapshot struct {
	Version int        `json:"v"`
	Now     time.Time  `json:"now"`
	Open    []openJSON `json:"open"`
}

type openJSON struct {
	ID       uuid.UUID    `json:"id"`
	Revision uint32       `json:"revision"`
	Status   Status       `json:"status"`
	Severity ctc.Severity `json:"severity"`
	First    time.Time    `json:"first"`
	Last     time.Time    `json:"last"`
	Count    int          `json:"count"`
	Reminded int64        `json:"reminded"`
	Latest   ctc.Alert    `json:"latest"`
}

// Snapshot returns the grouper's state: deterministic bytes, one entry per open incident.
func (g *Grouper) Snapshot() ([]byte, error) {
	s := snapshot{Version: 1, Now: g.now, Open: make([]openJSON, 0, len(g.open))}
	for _, o := range g.open {
		s.Open = append(s.Open, openJSON{ID: o.ID, Revision: o.Revision, Status: o.Status, Severity: o.Severity,
			First: o.First, Last: o.Last, Count: o.Count, Reminded: o.Reminded, Latest: o.Latest})
	}
	slices.SortFunc(s.Open, func(a, b openJSON) int {
		return cmp.Or(cmp.Compare(a.Latest.AlertType, b.Latest.AlertType), cmp.Compare(a.Latest.Symbol, b.Latest.Symbol))
	})
	return json.Marshal(s)
}

// Restore replaces the grouper's state with a Snapshot's.
func (g *Grouper) Restore(b []byte) error {
	var s snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("incident: restore: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("incident: restore: unknown snapshot version %d", s.Version)
	}
	m := make(map[key]*open, len(s.Open))
	for _, o := range s.Open {
		k := keyOf(&o.Latest)
		if _, dup := m[k]; dup {
			return fmt.Errorf("incident: restore: two open incidents of %s %s", k.Type, k.Symbol)
		}
		if o.Revision == 0 || o.Count < 1 || o.Last.Before(o.First) {
			return fmt.Errorf("incident: restore: incident %s is inconsistent", o.ID)
		}
		m[k] = &open{Incident: Incident{ID: o.ID, Revision: o.Revision, Status: o.Status, AlertType: k.Type,
			Symbol: k.Symbol, Severity: o.Severity, First: o.First, Last: o.Last, Count: o.Count, Latest: o.Latest},
			Reminded: o.Reminded}
	}
	g.open, g.now = m, s.Now
	return nil
}

// Group is the batch form: it groups alerts (in any order; they are taken in event-time order,
// DetectedAt then AlertID) and returns every incident's latest revision as of event time now
// (an incident quiet since before now − cooldown − settle is Closed), newest first. It is what a
// Grouper fed the same alerts in that order, then advanced to now, would have said last of each
// incident. The API's default view of /alerts is Group over the stored alerts.
func Group(alerts []ctc.Alert, p Policy, now time.Time) ([]Incident, error) {
	g, err := NewGrouper(p)
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(alerts)
	slices.SortFunc(sorted, func(a, b ctc.Alert) int {
		return cmp.Or(a.DetectedAt.Compare(b.DetectedAt), slices.Compare(a.AlertID[:], b.AlertID[:]))
	})
	latest := map[uuid.UUID]int{}
	var view []Incident
	keep := func(revs []Incident) {
		for _, r := range revs {
			if i, ok := latest[r.ID]; ok {
				view[i] = r
			} else {
				latest[r.ID] = len(view)
				view = append(view, r)
			}
		}
	}
	var revs []Incident
	for i := range sorted {
		if i > 0 && sorted[i].AlertID == sorted[i-1].AlertID {
			continue // the same alert twice
		}
		revs = g.Observe(&sorted[i], revs[:0])
		keep(revs)
		// Revisions that only counted an alert still change the incident's figures.
		if o := g.open[keyOf(&sorted[i])]; o != nil {
			keep([]Incident{o.Incident})
		}
	}
	keep(g.Advance(now, revs[:0]))
	sortNewest(view)
	return view, nil
}
