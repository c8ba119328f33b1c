package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that the run and the test may use at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The default run serves -data's evidence.json (adapters/evidence -out) at /evidence, for the
// dashboard's evidence panel, and a 404 until there is one.
func TestDefaultRunServesEvidence(t *testing.T) {
	data := t.TempDir()
	base, stop := startDefaultRun(t, "-data", data)
	get := func() (int, string) {
		t.Helper()
		res, err := http.Get(base + "/evidence")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusNotFound {
		t.Errorf("without a report: %d %s", code, body)
	}
	report := `{"alerts":1,"groups":[]}`
	if err := os.WriteFile(filepath.Join(data, "evidence.json"), []byte(report), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != http.StatusOK || body != report {
		t.Errorf("with a report: %d %s", code, body)
	}
	if code, out := stop(); code != 0 {
		t.Errorf("exit %d: %s", code, out)
	}
}

// startDefaultRun starts the default run (the simulator at 1×, a minute of warm-up, quiet) with
// args, on a free port, and returns the API's base URL and a function that stops the run and
// returns its exit code and its stdout and stderr.
func startDefaultRun(t *testing.T, args ...string) (base string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0", "-warmup", "1m", "-speed", "1", "-quiet"}, args...), &out, &errb)
	}()
	re := regexp.MustCompile(`url=(http://\S+)`)
	for deadline := time.Now().Add(30 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			base = m[1]
		}
	}
	stopped := false
	stop = func() (int, string) {
		if stopped {
			return 0, ""
		}
		stopped = true
		cancel()
		return <-done, out.String() + errb.String()
	}
	t.Cleanup(func() { stop() })
	if base == "" {
		_, all := stop()
		t.Fatalf("no dashboard address: %s", all)
	}
	return base, stop
}
