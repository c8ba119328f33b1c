package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -api-keys FILE makes the API want one of the file's keys; the dashboard's page itself opens.
func TestDefaultRunWithAPIKeys(t *testing.T) {
	data := t.TempDir()
	keys := filepath.Join(t.TempDir(), "keys")
	const key = "consumer-test-key-0123456789abcdef"
	if err := os.WriteFile(keys, []byte("# the desk\n"+key+"\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"-api-keys", filepath.Join(t.TempDir(), "missing"), "-data", data}, &syncBuffer{}, &syncBuffer{}); code != exitUsage {
		t.Errorf("a missing key file: exit %d, want %d", code, exitUsage)
	}
	base, stop := startDefaultRun(t, "-data", data, "-api-keys", keys)
	status := func(path, auth string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if c := status("/alerts", ""); c != http.StatusUnauthorized {
		t.Errorf("/alerts without a key: %d", c)
	}
	if c := status("/alerts", "Bearer "+key); c != http.StatusOK {
		t.Errorf("/alerts with the key: %d", c)
	}
	if c := status("/", ""); c != http.StatusOK {
		t.Errorf("the dashboard page: %d", c)
	}
	code, all := stop()
	if code != 0 {
		t.Errorf("exit %d: %s", code, all)
	}
	if strings.Contains(all, key) {
		t.Error("the key was printed")
	}
}
