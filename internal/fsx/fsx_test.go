package fsx_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/coattailcapital/ctc/internal/fsx"
)

func TestWriteFileAtomicReplacesAndLeavesNoTemporary(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{"first", "second"} {
		if err := fsx.WriteFileAtomic(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Fatalf("got %q, want %q", b, content)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("want only the file left, got %v", entries)
	}
	if err := fsx.WriteFileAtomic(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}
