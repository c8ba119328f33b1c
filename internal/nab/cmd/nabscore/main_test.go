package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tinyCorpus writes a one-file corpus of 40 rows whose window is rows 20..24, with a spike
// at row 20.
func tinyCorpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("timestamp,value\n")
	for i := range 40 {
		v := "1"
		if i == 20 {
			v = "100"
		}
		fmt.Fprintf(&csv, "2014-04-01 %02d:%02d:00,%s\n", 5*i/60, 5*i%60, v)
	}
	for name, body := range map[string]string{
		"data/c/a.csv":                 csv.String(),
		"labels/combined_windows.json": `{"c/a.csv": [["2014-04-01 01:40:00", "2014-04-01 02:00:00"]]}`,
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestScoreCommandAndDirectory(t *testing.T) {
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("skipping: no awk to play the detector")
	}
	data := tinyCorpus(t)
	out := t.TempDir()
	// An independent detector: flags values above 50.
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-data", data, "-cmd", `awk -F, 'NR>1{print ($2>50)?1:0}'`, "-out", out, "-files"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"standard", "100.00", "c/a.csv"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
	stdout.Reset()
	if code := run(context.Background(), []string{"-data", data, "-scores", out}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "100.00") {
		t.Errorf("scoring the written outputs: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}

func TestUsageErrors(t *testing.T) {
	data := tinyCorpus(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"-data", data}, 2, "exactly one"},
		{[]string{"-data", data, "-cmd", "x", "-scores", "y"}, 2, "exactly one"},
		{[]string{"-data", data, "-cmd", "echo 1"}, 1, "rows but"},
		{[]string{"-data", data, "-cmd", "exit 3"}, 1, "exit status 3"},
		{[]string{"-data", data, "-scores", t.TempDir()}, 1, "no scores for c/a.csv"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.msg) {
			t.Errorf("%v: exit %d, %q; want %d saying %q", tc.args, code, stderr.String(), tc.code, tc.msg)
		}
	}
}
