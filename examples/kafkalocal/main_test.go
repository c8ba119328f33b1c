package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The demo produces ten minutes of the simulated market, consumes all of it and prints alerts.
func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-demo", "-port", "0", "-market", "10m", "-dir", t.TempDir()}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "kafkalocal: consumed") || !strings.Contains(stdout.String(), "whale") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}
