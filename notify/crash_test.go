package notify_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/notify/notifytest"
)

const crashEnv = "CTC_NOTIFY_CRASH_CONFIG"

// crashAlerts are what both runs of the crash test write.
func crashAlerts() []ctc.Alert {
	var out []ctc.Alert
	for i := range 30 {
		out = append(out, alert(i, ctc.High))
	}
	return out
}

// TestCrashChild is the program the crash test kills: it is skipped unless run by it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrashWindow")
	}
	n, err := notify.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Write(context.Background(), batch(crashAlerts()...)); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A process killed (SIGKILL) while a delivery is in the documented window — the receiver has
// accepted the request, the notifier has not read the answer — sends that one alert again after
// the restart, and no other: every delivery before it was logged, every one after it had not
// been made. The receiver sees exactly one repeated idempotency key.
func TestCrashWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Parallel()
	wh := notifytest.NewWebhook(t, hmacKey)
	dir := t.TempDir()
	writeFile(t, dir, "hmac", hmacKey)
	cfg := writeFile(t, dir, "notify.json", `{"destinations": [`+webhookDest("hook", wh)+`], "rules": [{"to": ["hook"]}],
		"delivery": {"log_path": "delivered.ndjson", "dead_letter_path": "dead.ndjson"},
		"incidents": {"off": true}}`)

	const killAt = 12
	var mu sync.Mutex
	var child *exec.Cmd
	accepted := 0
	wh.OnRequest(func(r notifytest.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Accepted {
			accepted++
		}
		if accepted == killAt && child != nil {
			child.Process.Kill() // before the answer leaves: the request is in the window
			child = nil
		}
	})
	run := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+cfg)
		mu.Lock()
		if accepted < killAt {
			child = cmd
		}
		err := cmd.Start()
		mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		return cmd.Wait()
	}
	if err := run(); err == nil {
		t.Fatal("the first run should have been killed")
	}
	if got := len(wh.Accepted()); got != killAt {
		t.Fatalf("the first run delivered %d before it was killed, want %d", got, killAt)
	}
	if err := run(); err != nil {
		t.Fatalf("the second run: %v", err)
	}

	alerts := crashAlerts()
	got := wh.Accepted()
	if len(got) != len(alerts)+1 {
		t.Fatalf("%d requests accepted, want %d: every alert once, and the one in the window twice", len(got), len(alerts)+1)
	}
	seen := map[string]int{}
	for _, r := range got {
		seen[r.Key]++
	}
	for i, a := range alerts {
		k := a.AlertID.String() + ":3"
		want := 1
		if i == killAt-1 {
			want = 2
		}
		if seen[k] != want {
			t.Errorf("alert %d delivered %d times, want %d", i, seen[k], want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "dead.ndjson")); err != nil {
		t.Error(err)
	}
}
