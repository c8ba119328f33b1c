package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReproducible: the same contents give the same bytes whatever the files' times, modes and
// argument order; entries are sorted with fixed times and modes.
func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	boot := write("b1", strings.Repeat("binary", 1000), 0o700, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
	data := write("d1", "data", 0o600, time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC))
	a := filepath.Join(dir, "a.zip")
	if err := run([]string{a, "bootstrap=" + boot, "data.json=" + data}); err != nil {
		t.Fatal(err)
	}
	boot2 := write("b2", strings.Repeat("binary", 1000), 0o755, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	data2 := write("d2", "data", 0o644, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	b := filepath.Join(dir, "b.zip")
	if err := run([]string{b, "data.json=" + data2, "bootstrap=" + boot2}); err != nil {
		t.Fatal(err)
	}
	za, _ := os.ReadFile(a)
	zb, _ := os.ReadFile(b)
	if !bytes.Equal(za, zb) {
		t.Fatal("same contents gave different zips")
	}
	r, err := zip.NewReader(bytes.NewReader(za), int64(len(za)))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.File) != 2 || r.File[0].Name != "bootstrap" || r.File[1].Name != "data.json" {
		t.Fatalf("entries %v, want bootstrap, data.json", r.File)
	}
	if m := r.File[0].Mode(); m != 0o755 {
		t.Errorf("bootstrap mode %v, want 0755", m)
	}
	if m := r.File[1].Mode(); m != 0o644 {
		t.Errorf("data.json mode %v, want 0644", m)
	}
	if !r.File[0].Modified.Equal(epoch) {
		t.Errorf("time %v, want %v", r.File[0].Modified, epoch)
	}
	// A change of contents changes the bytes.
	write("b2", strings.Repeat("binarz", 1000), 0o755, time.Now())
	if err := run([]string{b, "data.json=" + data2, "bootstrap=" + boot2}); err != nil {
		t.Fatal(err)
	}
	if zc, _ := os.ReadFile(b); bytes.Equal(za, zc) {
		t.Fatal("different contents gave the same zip")
	}
}

// TestBadArguments: errors, no partial archive.
func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.zip")
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{out},
		{out, "noequals"},
		{out, "=" + f},
		{out, "a=" + f, "a=" + f},
		{out, "a=" + filepath.Join(dir, "missing")},
		{out, "a=" + dir},
		{filepath.Join(dir, "nodir", "x.zip"), "a=" + f},
	} {
		if err := run(args); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("run(%q) left %s", args, out)
		}
	}
}
