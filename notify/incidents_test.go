package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/checkpoint"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/notify/notifytest"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/source/sim"
)

// A spread that stays open for 40 minutes — an alert every 30 s — reaches the receiver as one
// incident in four requests (opened, escalated, ongoing, closed), each a revision of one id, not
// as 80 messages; the webhook body carries the incident.
func TestIncidentsDelivered(t *testing.T) {
	t.Parallel()
	wh := notifytest.NewWebhook(t, hmacKey)
	n, _ := setup{dests: []string{webhookDest("hook", wh)}, delivery: fast, secrets: map[string]string{"hmac": hmacKey},
		incidents: `{}`}.open(t)
	var alerts []ctc.Alert
	for i := range 80 {
		at := t0.Add(time.Duration(i) * 30 * time.Second)
		sev := ctc.High
		if i < 10 {
			sev = ctc.Medium
		}
		alerts = append(alerts, ctc.Alert{AlertID: ctc.NewAlertID(ctc.Spread, "binance-coinbase", "BTC", ctc.WindowKey(at)),
			AlertType: ctc.Spread, Symbol: "BTC", Exchange: "binance-coinbase", Severity: sev, WindowStart: at, DetectedAt: at,
			Message: fmt.Sprintf("BTC spread 0.6%% (#%d)", i)})
	}
	mustWrite(t, n, alerts...)
	// Event time moves on with the volume windows: the cooldown and the settle pass.
	end := alerts[79].DetectedAt.Add(10 * time.Minute)
	if err := n.Write(context.Background(), &ctc.Batch{Output: ctc.Output{Volumes: []ctc.VolumeWindow{{Symbol: "BTC-USDT", WindowEnd: end}}}}); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, n)
	var got []string
	for _, r := range wh.Accepted() {
		var body struct {
			AlertID  string `json:"alert_id"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Incident struct {
				ID       string `json:"id"`
				Revision int    `json:"revision"`
				Status   string `json:"status"`
				Count    int    `json:"count"`
			} `json:"incident"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.AlertID != alerts[0].AlertID.String() || body.Incident.ID != body.AlertID ||
			r.Key != fmt.Sprintf("%s:%d", body.AlertID, body.Incident.Revision) {
			t.Errorf("request %s: alert_id %s, incident %s", r.Key, body.AlertID, body.Incident.ID)
		}
		got = append(got, fmt.Sprintf("%d %s %s %d", body.Incident.Revision, body.Incident.Status, body.Severity, body.Incident.Count))
	}
	want := []string{"1 opened medium 1", "2 escalated high 11", "3 ongoing high 61", "4 closed high 80"}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries %q, want %q", got, want)
	}
}

// The deliver list keeps revisions out; a rule's min_severity sees the incident's severity.
func TestIncidentsDeliverAndRoute(t *testing.T) {
	t.Parallel()
	wh := notifytest.NewWebhook(t, hmacKey)
	n, _ := setup{dests: []string{webhookDest("hook", wh)}, delivery: fast, secrets: map[string]string{"hmac": hmacKey},
		rules: `[{"min_severity": "high", "to": ["hook"]}]`, incidents: `{"deliver": ["opened", "escalated"], "cooldown": "2m"}`}.open(t)
	mk := func(i int, sev ctc.Severity) ctc.Alert {
		a := alert(i, sev)
		a.AlertType = ctc.Whale
		return a
	}
	// Minute 0 medium (routed nowhere: below high), 1 high (escalated: sent), 2 high (joins),
	// 10 critical (a new incident after the 2 min cooldown: opened, sent).
	mustWrite(t, n, mk(0, ctc.Medium), mk(1, ctc.High), mk(2, ctc.High), mk(10, ctc.Critical))
	mustFlush(t, n)
	var got []string
	for _, r := range wh.Accepted() {
		got = append(got, r.Key)
	}
	want := []string{mk(0, 0).AlertID.String() + ":2", mk(10, 0).AlertID.String() + ":1"}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries %q, want %q (the closed revision of the first incident is not in deliver)", got, want)
	}
}

func TestIncidentsConfigErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ config, want string }{
		{`{"incidents": {"cooldown": "-1m"}}`, "cooldown -1m0s is negative"},
		{`{"incidents": {"deliver": ["sometimes"]}}`, `unknown status "sometimes"`},
		{`{"incidents": {"cooldowns": {"whale": "0s"}}}`, "cooldown of whale: 0s is not positive"},
	} {
		_, err := notify.ParseConfig([]byte(c.config), "")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.config, err, c.want)
		}
	}
}

// failAfter ends a source with an error after n records: the process dying mid-run.
type failAfter struct {
	*sim.Source
	n int
}

var errCrash = errors.New("crash")

func (f *failAfter) Next(ctx context.Context, rec *ctc.Record) error {
	if f.n == 0 {
		return errCrash
	}
	f.n--
	return f.Source.Next(ctx, rec)
}

// A checkpointed pipeline that dies mid-run and resumes delivers the same incident revisions, each
// once, as a run that never stopped: the notifier puts its grouper back to the checkpoint it
// resumes from (Resume), so open incidents go on under their ids and the alerts written again
// make revisions the delivery log already holds.
func TestIncidentsAcrossResume(t *testing.T) {
	if testing.Short() {
		t.Skip("40 minutes of simulated market, three times")
	}
	t.Parallel()
	run := func(crashAt int) (keys map[string]int, alerts int) {
		wh := notifytest.NewWebhook(t, hmacKey)
		dir := t.TempDir()
		writeFile(t, dir, "hmac", hmacKey)
		cfg := writeFile(t, dir, "notify.json", `{"destinations": [`+webhookDest("hook", wh)+`], "rules": [{"to": ["hook"]}],
			"delivery": {"log_path": "delivered.ndjson", "backoff_base": "1ms", "backoff_max": "2ms"}}`)
		store := checkpoint.NewMemory()
		for attempt := 0; ; attempt++ {
			src, err := sim.New(sim.Config{Seed: 7, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), Duration: 40 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			n, err := notify.Open(cfg)
			if err != nil {
				t.Fatal(err)
			}
			counted := &alertCounter{}
			chain, _ := quality.New(quality.Config{})
			var source ctc.Source = src
			if attempt == 0 && crashAt > 0 {
				source = &failAfter{src, crashAt}
			}
			p, err := ctc.NewPipeline(source, ctc.WithChecker(chain), ctc.WithDetectors(detect.Defaults()...),
				ctc.WithSinks(counted, n), ctc.WithCheckpoints(ctc.CheckpointConfig{Store: store, PipelineID: "incidents", EveryRecords: 5000}))
			if err != nil {
				t.Fatal(err)
			}
			err = p.Run(context.Background())
			if cerr := n.Close(context.Background()); cerr != nil {
				t.Fatal(cerr)
			}
			alerts += counted.n
			if err == nil {
				if attempt == 0 && crashAt > 0 {
					t.Fatalf("the run meant to crash at record %d ended cleanly", crashAt)
				}
				break
			}
			if !errors.Is(err, errCrash) || attempt > 0 {
				t.Fatalf("run %d: %v", attempt, err)
			}
		}
		keys = map[string]int{}
		for _, r := range wh.Accepted() {
			keys[r.Key]++
		}
		return keys, alerts
	}
	want, alerts := run(0)
	revised, incidents := 0, map[string]bool{}
	for k := range want {
		incidents[k[:strings.IndexByte(k, ':')]] = true
		if !strings.HasSuffix(k, ":1") {
			revised++
		}
	}
	if revised == 0 || len(incidents) >= alerts {
		t.Fatalf("the uninterrupted run made %d incidents (%d revisions past the first) from %d alerts: not a test of incidents", len(incidents), revised, alerts)
	}
	t.Logf("%d alerts, %d incidents, %d deliveries", alerts, len(incidents), len(want))
	for _, crashAt := range []int{23_456, 51_000} {
		got, _ := run(crashAt)
		for k, c := range got {
			if c != 1 {
				t.Errorf("crash at %d: %s delivered %d times", crashAt, k, c)
			}
		}
		if !maps.Equal(keysOnce(got), keysOnce(want)) {
			t.Errorf("crash at %d: %d deliveries, want the uninterrupted run's %d: only in it %v, only in the crashed one %v",
				crashAt, len(got), len(want), missing(want, got), missing(got, want))
		}
	}
}

type alertCounter struct{ n int }

func (c *alertCounter) Write(_ context.Context, b *ctc.Batch) error {
	c.n += len(b.Output.Alerts)
	return nil
}
func (c *alertCounter) ReadsTrades() bool { return false }

func keysOnce(m map[string]int) map[string]int {
	out := map[string]int{}
	for k := range m {
		out[k] = 1
	}
	return out
}

func missing(a, b map[string]int) []string {
	var out []string
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
