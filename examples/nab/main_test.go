package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coattailcapital/ctc/internal/nab"
)

func TestRun(t *testing.T) {
	t.Parallel()
	in := "timestamp,value\n2014-04-01 00:00:00,10\n2014-04-01 00:05:00,10\n2014-04-01 00:10:00,11\n"
	var out, errb bytes.Buffer
	if code := run(nil, strings.NewReader(in), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got, want := out.String(), "0\n0.5\n1\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		in   string
		code int
		msg  string
	}{
		{[]string{"-model", "nope"}, "", 2, "windowedgaussian"},
		{[]string{"file.csv"}, "", 2, "stdin"},
		{nil, "timestamp,value\n2014-04-01 00:00:00,x\n", 1, "line 2"},
		{nil, "", 1, "header"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, strings.NewReader(tc.in), &out, &errb)
		if code != tc.code || !strings.Contains(errb.String(), tc.msg) {
			t.Errorf("%v: exit %d, %q; want exit %d saying %q", tc.args, code, errb.String(), tc.code, tc.msg)
		}
	}
}

// Every model writes exactly one score in [0, 1] per row of a real NAB file.
func TestModelsOnNAB(t *testing.T) {
	t.Parallel()
	dir, err := nab.CorpusDir()
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	in, err := os.ReadFile(filepath.Join(dir, "data", "realKnownCause", "nyc_taxi.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names() {
		var out, errb bytes.Buffer
		if code := run([]string{"-model", name}, bytes.NewReader(in), &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, errb.String())
		}
		scores, err := nab.ReadScores(&out)
		if err != nil || len(scores) != 10320 {
			t.Fatalf("%s: %d scores (%v), want one per row of nyc_taxi.csv (10320)", name, len(scores), err)
		}
	}
}
