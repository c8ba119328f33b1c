package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRun: a formatted file passes, a misaligned one is reported (and fixed with -w), a file
// that does not parse is an error.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.tf")
	write := func(s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("resource \"x\" \"y\" {\n  a   = 1\n  bcd = 2\n}\n")
	if n, err := run([]string{dir}, false); n != 0 || err != nil {
		t.Fatalf("formatted file: %d, %v", n, err)
	}
	write("resource \"x\" \"y\" {\n  a = 1\n  bcd = 2\n}\n")
	if n, err := run([]string{dir}, false); n != 1 || err != nil {
		t.Fatalf("misaligned file: %d, %v; want 1 reported", n, err)
	}
	if n, err := run([]string{dir}, true); n != 1 || err != nil {
		t.Fatalf("-w: %d, %v", n, err)
	}
	if n, err := run([]string{dir}, false); n != 0 || err != nil {
		t.Fatalf("after -w: %d, %v", n, err)
	}
	write("resource \"x\" {\n  a = \n")
	if _, err := run([]string{dir}, false); err == nil {
		t.Fatal("a file that does not parse passed")
	}
}

// TestTerraformIsFormatted: the repository's Terraform is in canonical format.
func TestTerraformIsFormatted(t *testing.T) {
	if n, err := run([]string{"../../terraform"}, false); n != 0 || err != nil {
		t.Fatalf("deploy/terraform: %d files not formatted, %v", n, err)
	}
}
