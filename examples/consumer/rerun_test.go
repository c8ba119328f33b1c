package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/incident"
	"github.com/coattailcapital/ctc/notify/notifytest"
)

// Running a replay again — after it finished, without -resume — changes no table and no file:
// it continues from its last checkpoint, which is the end.
func TestReplayRerunWritesNothingTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("replays into a warehouse three times; run without -short")
	}
	in := writeInput(t)
	dir := t.TempDir()
	args := []string{"-replay", in, "-out", filepath.Join(dir, "out"), "-warehouse", filepath.Join(dir, "lake"), "-quiet", "-checkpoint-every", "7000"}
	if code, _, stderr := runConsumer(t, args...); code != exitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	files := map[string][]byte{}
	for _, name := range outputs {
		files[name], _ = os.ReadFile(filepath.Join(dir, "out", name))
	}
	tables := readTables(t, filepath.Join(dir, "lake"))
	for _, extra := range [][]string{nil, {"-resume"}} {
		if code, _, stderr := runConsumer(t, append(args, extra...)...); code != exitOK {
			t.Fatalf("rerun %v: exit %d: %s", extra, code, stderr)
		}
		for _, name := range outputs {
			if b, _ := os.ReadFile(filepath.Join(dir, "out", name)); !bytes.Equal(b, files[name]) {
				t.Errorf("rerun %v: %s changed (%d bytes, then %d)", extra, name, len(files[name]), len(b))
			}
		}
		if d := cmp.Diff(tables, readTables(t, filepath.Join(dir, "lake"))); d != "" {
			t.Fatalf("rerun %v changed the tables (-before +after):\n%s", extra, d)
		}
	}

	// The same warehouse with another -out (no state of the replay), or other thresholds: refused
	// before anything is written.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-replay", in, "-out", filepath.Join(dir, "other"), "-warehouse", filepath.Join(dir, "lake"), "-quiet"}, "already holds this replay"},
		{[]string{"-replay", in, "-out", filepath.Join(dir, "other2"), "-warehouse", filepath.Join(dir, "lake"), "-quiet", "-whale", "50000"}, "replayed with other settings"},
	} {
		code, _, stderr := runConsumer(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d saying %q", c.args, code, stderr, exitUsage, c.want)
		}
	}
	if d := cmp.Diff(tables, readTables(t, filepath.Join(dir, "lake"))); d != "" {
		t.Fatalf("a refused run changed the tables (-before +after):\n%s", d)
	}
}

// The default run, run again on the same -data, continues its market from the last checkpoint:
// a finished run adds nothing, and the hot store holds exactly the warehouse's alerts.
func TestDefaultRunContinuesItsMarket(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulator into a warehouse twice; run without -short")
	}
	data := t.TempDir()
	args := []string{"-data", data, "-speed", "0", "-warmup", "10m", "-duration", "20m", "-addr", "off", "-quiet"}
	if code, _, stderr := runConsumer(t, args...); code != exitOK {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	tables := readTables(t, filepath.Join(data, "warehouse"))
	code, _, stderr := runConsumer(t, args...)
	if code != exitOK || !strings.Contains(stderr, "continuing the simulated market") {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if d := cmp.Diff(tables, readTables(t, filepath.Join(data, "warehouse"))); d != "" {
		t.Fatalf("running the finished market again changed the tables (-before +after):\n%s", d)
	}
	if _, _, stderr := runConsumer(t, append(args, "-fresh")...); strings.Contains(stderr, "continuing") {
		t.Fatalf("-fresh continued the old market: %s", stderr)
	}
	after := readTables(t, filepath.Join(data, "warehouse"))
	ids := map[string]int{}
	for _, row := range after["raw_trades"] {
		ids[strings.SplitN(row, "|", 2)[0]]++
	}
	if n := len(after["raw_trades"]); n < 3*len(tables["raw_trades"])/2 || len(ids) != n {
		t.Fatalf("after a fresh market: %d rows, %d distinct ids; want about %d, once each (two markets, no shared id)", n, len(ids), 2*len(tables["raw_trades"]))
	}
}

// A replay of which no record passes exits non-zero, with a summary saying why.
func TestReplayOfGarbageFails(t *testing.T) {
	in := filepath.Join(t.TempDir(), "garbage.ndjson")
	var b strings.Builder
	for i := range 100 {
		if i%2 == 0 {
			b.WriteString("not json at all\n")
		} else {
			b.WriteString(`{"event_id":"6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11","exchange":"binance","symbol":"BTC-USDT","price":1e300,"quantity":1,"side":"buy","timestamp":"2024-01-15T10:00:00Z"}` + "\n")
		}
	}
	os.WriteFile(in, []byte(b.String()), 0o644)
	code, _, stderr := runConsumer(t, "-replay", in, "-out", filepath.Join(t.TempDir(), "out"), "-quiet")
	if code != exitFail || !strings.Contains(stderr, "none of the 100 records") || !strings.Contains(stderr, "50 malformed") || !strings.Contains(stderr, "50 invalid") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}

// -notify delivers every alert of a replay to the destinations its config file routes them to;
// the secret comes from the environment, and a rerun sends nothing twice.
func TestReplayNotifies(t *testing.T) {
	if testing.Short() {
		t.Skip("replays a file twice; run without -short")
	}
	hook := notifytest.NewWebhook(t, "s3cret-0123456789abcdef")
	t.Setenv("CTC_TEST_WEBHOOK_KEY", "s3cret-0123456789abcdef")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "notify.json")
	os.WriteFile(cfg, []byte(`{"destinations":[{"name":"ops","kind":"webhook","url":"`+hook.URL()+`","secret":"env:CTC_TEST_WEBHOOK_KEY"}],
		"rules":[{"to":["ops"]}],"delivery":{"log_path":"delivered.ndjson","dead_letter_path":"dead.ndjson"}}`), 0o644)
	in := writeInput(t)
	args := []string{"-replay", in, "-out", filepath.Join(dir, "out"), "-quiet", "-notify", cfg}
	for range 2 {
		if code, _, stderr := runConsumer(t, args...); code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	// The notifier groups the alerts into incidents (its default): the receiver gets revisions
	// 1..R of each incident the alerts make, each once over the two runs.
	var alerts []ctc.Alert
	for _, line := range readLines(t, filepath.Join(dir, "out", "alerts.ndjson")) {
		var a ctc.Alert
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, a)
	}
	view, err := incident.Group(alerts, incident.Policy{}, ctc.EndOfTime)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range hook.Accepted() {
		got[r.Key]++
	}
	// Group closes every incident at the end of time; the notifier, whose event time ends at the
	// last window, closes only those quiet long enough before it: the closing revision may be sent.
	must, may := map[string]int{}, map[string]bool{}
	for _, in := range view {
		for rev := uint32(1); rev < in.Revision; rev++ {
			must[fmt.Sprintf("%s:%d", in.ID, rev)] = 1
		}
		may[fmt.Sprintf("%s:%d", in.ID, in.Revision)] = true
	}
	want := maps.Clone(must)
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s delivered %d times over two runs", k, n)
		}
		if may[k] {
			want[k] = 1
		}
	}
	if len(alerts) == 0 || len(view) >= len(alerts) || !maps.Equal(got, want) {
		t.Fatalf("%d alerts, %d incidents: the webhook accepted %v, want %v", len(alerts), len(view), got, want)
	}
}

// -resume with nothing to resume (a replay killed before its first checkpoint) starts afresh.
func TestResumeWithoutStateStartsAfresh(t *testing.T) {
	in := writeInput(t)
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := runConsumer(t, "-replay", in, "-out", out, "-quiet", "-resume")
	if code != exitOK || len(readLines(t, filepath.Join(out, "alerts.ndjson"))) == 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
