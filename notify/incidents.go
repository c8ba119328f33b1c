package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/internal/fsx"
)

// Incidents is the config's "incidents" section: how alerts are grouped into incidents before
// they are delivered (package incident). The zero value groups with the package's defaults; Off
// delivers every alert as its own notice instead.
type Incidents struct {
	// Off delivers each alert as it comes, revision = severity (Revision), instead of incidents.
	Off bool `json:"off,omitempty"`
	// Cooldown, Cooldowns (per alert type), Remind and Settle are incident.Policy's; zero
	// takes its defaults (5m, none, 30m, 2m). Remind "-1s" turns reminders off.
	Cooldown  Duration                   `json:"cooldown,omitzero"`
	Cooldowns map[ctc.AlertType]Duration `json:"cooldowns,omitempty"`
	Remind    Duration                   `json:"remind,omitzero"`
	Settle    Duration                   `json:"settle,omitzero"`
	// Deliver lists the revisions that are sent: "opened", "escalated", "ongoing", "closed".
	// Empty sends all four.
	Deliver []incident.Status `json:"deliver,omitempty"`
	// StatePath is where the grouper's state at each checkpoint is kept, so that a pipeline
	// resuming from a checkpoint continues its open incidents (the next revision of the same
	// incident, not a new one). Default: the delivery log's path + ".incidents.json"; with no
	// delivery log, the state is kept in memory only.
	StatePath string `json:"state_path,omitempty"`
}

// Policy is the section's incident.Policy.
func (c *Incidents) Policy() incident.Policy {
	p := incident.Policy{Cooldown: time.Duration(c.Cooldown), Remind: time.Duration(c.Remind), Settle: time.Duration(c.Settle)}
	if len(c.Cooldowns) > 0 {
		p.Cooldowns = make(map[ctc.AlertType]time.Duration, len(c.Cooldowns))
		for t, d := range c.Cooldowns {
			p.Cooldowns[t] = time.Duration(d)
		}
	}
	return p
}

// Validate checks the section.
func (c *Incidents) Validate() error {
	if c.Off {
		return nil
	}
	if err := c.Policy().Validate(); err != nil {
		return fmt.Errorf("incidents: %w", err)
	}
	return nil
}

// keptStates is how many checkpoints' grouper states are kept: a pipeline resumes from its last
// committed checkpoint or the one before, and a few more cover checkpoints whose commit failed.
const keptStates = 8

// grouping is the notifier's incident grouper and its saved states.
type grouping struct {
	policy  incident.Policy // with its defaults; fixed at New
	g       *incident.Grouper
	deliver [incident.Closed + 1]bool
	path    string
	revs    []incident.Incident
	saved   groupingFile
}

type groupingFile struct {
	PipelineID string       `json:"pipeline_id"`
	States     []savedState `json:"states"`
}

type savedState struct {
	Seq   int64           `json:"seq"`
	State json.RawMessage `json:"state"`
}

func newGrouping(c *Incidents, logPath string) (*grouping, error) {
	g, err := incident.NewGrouper(c.Policy())
	if err != nil {
		return nil, err
	}
	gr := &grouping{policy: g.Policy(), g: g, path: c.StatePath}
	if gr.path == "" && logPath != "" {
		gr.path = logPath + ".incidents.json"
	}
	for _, s := range c.Deliver {
		if s < incident.Opened || s > incident.Closed {
			return nil, fmt.Errorf("incidents: deliver: unknown status %d", s)
		}
		gr.deliver[s] = true
	}
	if len(c.Deliver) == 0 {
		for s := incident.Opened; s <= incident.Closed; s++ {
			gr.deliver[s] = true
		}
	}
	if gr.path != "" {
		b, err := os.ReadFile(gr.path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("incidents: %w", err)
		default:
			if err := json.Unmarshal(b, &gr.saved); err != nil {
				return nil, fmt.Errorf("incidents: %s is not a state file of the notifier: %w", gr.path, err)
			}
		}
	}
	return gr, nil
}

// observe groups a batch's alerts, moves event time to the batch's newest closed window, and
// returns the revisions that result (valid until the next call).
func (gr *grouping) observe(b *ctc.Batch) []incident.Incident {
	gr.revs = gr.revs[:0]
	for i := range b.Output.Alerts {
		gr.revs = gr.g.Observe(&b.Output.Alerts[i], gr.revs)
	}
	var t time.Time
	for i := range b.Output.Volumes {
		t = later(t, b.Output.Volumes[i].WindowEnd)
	}
	for i := range b.Output.Spreads {
		t = later(t, b.Output.Spreads[i].WindowEnd)
	}
	if !t.IsZero() {
		gr.revs = gr.g.Advance(t, gr.revs)
	}
	return gr.revs
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// commit saves the grouper's state as of checkpoint cp.
func (gr *grouping) commit(cp ctc.Checkpoint) error {
	st, err := gr.g.Snapshot()
	if err != nil {
		return err
	}
	if gr.saved.PipelineID != cp.PipelineID {
		gr.saved = groupingFile{PipelineID: cp.PipelineID}
	}
	gr.saved.States = slices.DeleteFunc(gr.saved.States, func(s savedState) bool { return s.Seq >= cp.Seq })
	gr.saved.States = append(gr.saved.States, savedState{Seq: cp.Seq, State: st})
	if n := len(gr.saved.States); n > keptStates {
		gr.saved.States = gr.saved.States[n-keptStates:]
	}
	if gr.path == "" {
		return nil
	}
	b, err := json.Marshal(&gr.saved)
	if err != nil {
		return err
	}
	return fsx.WriteFileAtomic(gr.path, b)
}

// resume restores the grouper to its state at checkpoint cp: afresh at Seq 0, the saved state
// otherwise. It reports whether a checkpoint's state was missing (the grouper then starts afresh).
func (gr *grouping) resume(cp ctc.Checkpoint) (missing bool, err error) {
	gr.g, _ = incident.NewGrouper(gr.policy) // valid: New checked it
	if cp.Seq == 0 {
		return false, nil
	}
	if gr.saved.PipelineID == cp.PipelineID {
		for _, s := range gr.saved.States {
			if s.Seq == cp.Seq {
				return false, gr.g.Restore(s.State)
			}
		}
	}
	return true, nil
}

// Incidents returns the incident policy the notifier groups by (defaults filled in), or nil when
// it delivers every alert as it comes: give it to api.Config.Incidents so that the API's list
// shows what people were sent.
func (n *Notifier) Incidents() *incident.Policy {
	if n.groups == nil {
		return nil
	}
	p := n.groups.policy // fixed at New: no lock needed, unlike the grouper Resume replaces
	return &p
}

// Commit makes the notifier a ctc.Committer: Flush, then, when it groups incidents, keep the
// grouper's state as of cp, so that Resume can go back to it.
func (n *Notifier) Commit(ctx context.Context, cp ctc.Checkpoint) error {
	if err := n.Flush(ctx); err != nil {
		return err
	}
	if n.groups == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.groups.commit(cp); err != nil {
		return fmt.Errorf("notify: save the incident state of checkpoint %d: %s", cp.Seq, n.red.Error(err))
	}
	return nil
}

// Resume makes the notifier a ctc.Resumer: a pipeline resuming from checkpoint cp first puts
// the incident grouper back to its state there, so the alerts it writes again make the same
// revisions (which the delivery log then holds) and its open incidents go on.
func (n *Notifier) Resume(_ context.Context, cp ctc.Checkpoint) error {
	if n.groups == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	missing, err := n.groups.resume(cp)
	if err != nil {
		return fmt.Errorf("notify: resume incidents at checkpoint %d: %w", cp.Seq, err)
	}
	if missing {
		n.logger.Warn("notify: no incident state saved at the checkpoint the pipeline resumes from: incidents open then start again as new ones",
			"pipeline", cp.PipelineID, "checkpoint", cp.Seq)
	}
	return nil
}
