// Command zipper writes a reproducible zip: the same input files give the same bytes, whatever
// the files' modification times, owners or permissions on disk and whatever order they are named
// in. Entries are sorted by name, stored with a fixed time (1980-01-01, the zip epoch), mode 0755
// for files named bootstrap (the Lambda custom runtime's executable) and 0644 otherwise, and
// deflated. scripts/build-lambdas.sh uses it instead of the zip tool, whose output depends on the
// files' times and its version.
//
//	go run ./deploy/internal/zipper OUT.zip NAME=PATH [NAME=PATH ...]
//
// NAME is the entry's name in the archive, PATH the file to read. OUT.zip is written to a
// temporary file first and renamed, so a failed run leaves no partial archive.
package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// epoch is the time every entry carries, in UTC: the earliest an MS-DOS date can hold.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "zipper:", err)
		os.Exit(1)
	}
}

// entry is one file to archive.
type entry struct{ name, path string }

func run(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("usage: zipper OUT.zip NAME=PATH [NAME=PATH ...]")
	}
	out, specs := args[0], args[1:]
	entries := make([]entry, 0, len(specs))
	seen := map[string]bool{}
	for _, s := range specs {
		name, path, ok := strings.Cut(s, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("argument %q: want NAME=PATH, e.g. bootstrap=build/lambda/api/bootstrap", s)
		}
		if seen[name] {
			return fmt.Errorf("entry %q named twice", name)
		}
		seen[name] = true
		entries = append(entries, entry{name, path})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		if err := add(zw, e); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finish %s: %w", out, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".zipper-*")
	if err != nil {
		return fmt.Errorf("create %s: %w (does its folder exist?)", out, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// add deflates one file into zw with the fixed time and mode.
func add(zw *zip.Writer, e entry) error {
	f, err := os.Open(e.path)
	if err != nil {
		return fmt.Errorf("entry %s: %w", e.name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("entry %s: %w", e.name, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("entry %s: %s is not a regular file", e.name, e.path)
	}
	h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
	h.Modified = epoch
	mode := os.FileMode(0o644)
	if filepath.Base(e.name) == "bootstrap" {
		mode = 0o755
	}
	h.SetMode(mode)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("entry %s: %w", e.name, err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("entry %s: read %s: %w", e.name, e.path, err)
	}
	return nil
}
