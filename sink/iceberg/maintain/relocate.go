package maintain

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/twmb/avro/ocf"
	_ "modernc.org/sqlite" // the local catalog's driver, as in package iceberg
)

// Relocation is what Relocate did.
type Relocation struct {
	// From and To are the old and new locations of the warehouse directory, as file:// URIs.
	From string `json:"from"`
	To   string `json:"to"`
	// Tables counts the catalog's tables (and views) whose locations were rewritten.
	Tables int `json:"tables"`
	// MetadataFiles, ManifestLists and Manifests count the files rewritten; a second run over a
	// relocated warehouse rewrites none.
	MetadataFiles int `json:"metadata_files"`
	ManifestLists int `json:"manifest_lists"`
	Manifests     int `json:"manifests"`
}

// Relocate makes a local warehouse (an iceberg.Config.Dir: catalog.db and the warehouse
// directory) that was moved or copied from directory from to directory dir open again.
//
// Iceberg has no relative locations: the catalog holds each table's metadata file as an absolute
// file:// URI, the metadata file holds the table's location and its snapshots' manifest lists,
// manifest lists hold manifests, and manifests hold data files — all absolute. Relocate rewrites
// every one of them that starts with from so that it starts with dir instead: for each table in
// catalog.db, its current metadata file (every location in it, including the metadata log's and
// location-valued properties), the manifest list of every snapshot in it, and every manifest those
// list (data file paths; each list's manifest lengths are updated to the rewritten manifests'),
// then the catalog's rows (metadata locations, namespace properties). Each file is rewritten in
// place through a temporary file and a rename; rows, snapshot ids, sequence numbers and summaries
// are untouched, so time travel and the pipelines' checkpoints survive. The previous metadata
// files the log lists are not rewritten: nothing reads them but a rollback to one of them.
//
// Rewriting was chosen over a file IO or catalog wrapper that maps the old root to the new one: a
// wrapper would have to be installed in every reader — this module's, the iceberg CLI,
// pyiceberg, DuckDB — and new commits would go on writing old-root locations; after Relocate
// the warehouse is a plain Iceberg warehouse again that any reader opens.
//
// Relocate is idempotent — a location already under dir is left alone — so a run cut short is
// completed by running it again. No other process may use the warehouse while it runs.
func Relocate(ctx context.Context, dir, from string) (*Relocation, error) {
	newRoot, err := rootPath(dir)
	if err != nil {
		return nil, err
	}
	oldRoot, err := rootPath(from)
	if err != nil {
		return nil, err
	}
	if newRoot == oldRoot {
		return nil, fmt.Errorf("maintain: relocate: the warehouse is already at %s", newRoot)
	}
	r := &relocator{prefixes: prefixes(oldRoot, newRoot), manifests: map[string]*manifestOnce{}}
	rel := &Relocation{From: fileURI(oldRoot), To: fileURI(newRoot)}
	catPath := filepath.Join(newRoot, "catalog.db")
	if _, err := os.Stat(catPath); err != nil {
		return nil, fmt.Errorf("maintain: relocate: no local catalog in %s: %w", newRoot, err)
	}
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(catPath), RawQuery: "_pragma=busy_timeout(10000)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("maintain: relocate: open %s: %w", catPath, err)
	}
	defer db.Close()

	type row struct {
		catalog, ns, name string
		meta, prev        sql.NullString
	}
	var tables []row
	rows, err := db.QueryContext(ctx, `SELECT catalog_name, table_namespace, table_name, metadata_location, previous_metadata_location FROM iceberg_tables`)
	if err != nil {
		return nil, fmt.Errorf("maintain: relocate: read the catalog's tables: %w", err)
	}
	for rows.Next() {
		var t row
		if err := rows.Scan(&t.catalog, &t.ns, &t.name, &t.meta, &t.prev); err != nil {
			rows.Close()
			return nil, fmt.Errorf("maintain: relocate: read the catalog's tables: %w", err)
		}
		tables = append(tables, t)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("maintain: relocate: read the catalog's tables: %w", err)
	}

	for _, t := range tables {
		if err := ctx.Err(); err != nil {
			return rel, err
		}
		if !t.meta.Valid {
			continue
		}
		loc := r.mapString(t.meta.String)
		if err := r.metadata(loc, rel); err != nil {
			return rel, fmt.Errorf("maintain: relocate %s.%s: %w", t.ns, t.name, err)
		}
		rel.Tables++
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return rel, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, t := range tables {
		if _, err := tx.ExecContext(ctx, `UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ?
			WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?`,
			r.mapNull(t.meta), r.mapNull(t.prev), t.catalog, t.ns, t.name); err != nil {
			return rel, fmt.Errorf("maintain: relocate: update the catalog: %w", err)
		}
	}
	// Namespace properties may hold locations too (a namespace's "location").
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM iceberg_namespace_properties LIMIT 1`); err == nil {
		type prop struct {
			catalog, ns, key string
			value            sql.NullString
		}
		var props []prop
		prows, err := tx.QueryContext(ctx, `SELECT catalog_name, namespace, property_key, property_value FROM iceberg_namespace_properties`)
		if err != nil {
			return rel, fmt.Errorf("maintain: relocate: read namespace properties: %w", err)
		}
		for prows.Next() {
			var p prop
			if err := prows.Scan(&p.catalog, &p.ns, &p.key, &p.value); err != nil {
				prows.Close()
				return rel, err
			}
			props = append(props, p)
		}
		if err := errors.Join(prows.Err(), prows.Close()); err != nil {
			return rel, err
		}
		for _, p := range props {
			if v := r.mapNull(p.value); v != p.value {
				if _, err := tx.ExecContext(ctx, `UPDATE iceberg_namespace_properties SET property_value = ?
					WHERE catalog_name = ? AND namespace = ? AND property_key = ?`, v, p.catalog, p.ns, p.key); err != nil {
					return rel, fmt.Errorf("maintain: relocate: update namespace properties: %w", err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return rel, fmt.Errorf("maintain: relocate: update the catalog: %w", err)
	}
	return rel, nil
}

// rootPath returns dir as a clean absolute path; a file:// URI is accepted too.
func rootPath(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("maintain: relocate: a directory is required")
	}
	if strings.HasPrefix(dir, "file:") {
		u, err := url.Parse(dir)
		if err != nil {
			return "", fmt.Errorf("maintain: relocate: %q: %w", dir, err)
		}
		dir = filepath.FromSlash(u.Path)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("maintain: relocate: %q: %w", dir, err)
	}
	return abs, nil
}

func fileURI(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// prefixes lists the ways a location under oldRoot may be written — the file:// URI iceberg-go
// writes, Hadoop's file:/ form, a bare path — each with its replacement under newRoot.
func prefixes(oldRoot, newRoot string) [][2]string {
	o, n := filepath.ToSlash(oldRoot), filepath.ToSlash(newRoot)
	return [][2]string{{fileURI(oldRoot), fileURI(newRoot)}, {"file:" + o, "file:" + n}, {o, n}}
}

type relocator struct {
	prefixes [][2]string

	mu        sync.Mutex
	manifests map[string]*manifestOnce // by new location: each is rewritten once, lists share them
	lists     atomic.Int64
	files     atomic.Int64 // manifests rewritten
}

type manifestOnce struct {
	once sync.Once
	size int64
	err  error
}

// mapString returns s under the new root if it is a location under the old one, else s.
func (r *relocator) mapString(s string) string {
	for _, p := range r.prefixes {
		if s == p[0] {
			return p[1]
		}
		if rest, ok := strings.CutPrefix(s, p[0]); ok && strings.HasPrefix(rest, "/") {
			return p[1] + rest
		}
	}
	return s
}

func (r *relocator) mapNull(s sql.NullString) sql.NullString {
	if s.Valid {
		s.String = r.mapString(s.String)
	}
	return s
}

// mapJSON rewrites every string in a decoded JSON value.
func (r *relocator) mapJSON(v any) (any, bool) {
	switch v := v.(type) {
	case string:
		m := r.mapString(v)
		return m, m != v
	case map[string]any:
		changed := false
		for k, e := range v {
			if m, ok := r.mapJSON(e); ok {
				v[k], changed = m, true
			}
		}
		return v, changed
	case []any:
		changed := false
		for i, e := range v {
			if m, ok := r.mapJSON(e); ok {
				v[i], changed = m, true
			}
		}
		return v, changed
	}
	return v, false
}

// localPath returns the file a (relocated) location names on this machine.
func localPath(loc string) (string, error) {
	if !strings.HasPrefix(loc, "file:") {
		if filepath.IsAbs(loc) {
			return loc, nil
		}
		return "", fmt.Errorf("location %q is not a local file: Relocate moves local warehouses only", loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	return filepath.FromSlash(u.Path), nil
}

// metadata relocates a table's metadata file at loc (already mapped to the new root) and the
// manifest lists and manifests of its snapshots.
func (r *relocator) metadata(loc string, rel *Relocation) error {
	path, err := localPath(loc)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("the metadata file is not where the catalog says, moved from the old directory (is that the directory the warehouse was at?): %w", err)
	}
	gz := len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // snapshot ids do not fit a float64
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("%s is not a metadata file: %w", path, err)
	}
	doc, changed := r.mapJSON(doc)
	m, _ := doc.(map[string]any)
	snaps, _ := m["snapshots"].([]any)
	var lists []string
	for _, s := range snaps {
		s, _ := s.(map[string]any)
		if list, ok := s["manifest-list"].(string); ok && list != "" {
			lists = append(lists, list)
		}
	}
	// Each snapshot's list names every manifest of the table then, so the lists hold as many
	// entries as snapshots squared: they are rewritten in parallel, and the file system's
	// latency (a sync per file) overlaps.
	if err := r.manifestLists(lists); err != nil {
		return err
	}
	rel.ManifestLists += int(r.lists.Swap(0))
	rel.Manifests += int(r.files.Swap(0))
	if !changed {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if gz {
		var zb bytes.Buffer
		zw := gzip.NewWriter(&zb)
		if _, err := zw.Write(out); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		out = zb.Bytes()
	}
	if err := replaceFile(path, out); err != nil {
		return err
	}
	rel.MetadataFiles++
	return nil
}

// manifestLists relocates lists with a few workers; the first error stops them.
func (r *relocator) manifestLists(lists []string) error {
	work := make(chan string)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range min(len(lists), max(4, 2*runtime.GOMAXPROCS(0))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range work {
				if err := r.manifestList(l); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
feed:
	for _, l := range lists {
		select {
		case work <- l:
		case err := <-errs:
			errs <- err
			break feed
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// manifestList relocates the manifests a manifest list names, then the list: their paths, and
// their lengths, which change with the paths inside them.
func (r *relocator) manifestList(loc string) error {
	path, err := localPath(loc)
	if err != nil {
		return err
	}
	changed := false
	err = rewriteAvro(path, func(rec map[string]any) error {
		mp, ok := rec["manifest_path"].(string)
		if !ok {
			return fmt.Errorf("%s: a manifest list entry has no manifest_path", path)
		}
		if m := r.mapString(mp); m != mp {
			rec["manifest_path"], mp, changed = m, m, true
		}
		size, err := r.manifest(mp)
		if err != nil {
			return err
		}
		if n, ok := rec["manifest_length"].(int64); !ok || n != size {
			rec["manifest_length"], changed = size, true
		}
		return nil
	}, &changed)
	if err == nil && changed {
		r.lists.Add(1)
	}
	return err
}

// manifest relocates the data and delete file paths of a manifest, once, and returns its size.
func (r *relocator) manifest(loc string) (int64, error) {
	r.mu.Lock()
	m, ok := r.manifests[loc]
	if !ok {
		m = &manifestOnce{}
		r.manifests[loc] = m
	}
	r.mu.Unlock()
	m.once.Do(func() { m.size, m.err = r.rewriteManifest(loc) })
	return m.size, m.err
}

func (r *relocator) rewriteManifest(loc string) (int64, error) {
	path, err := localPath(loc)
	if err != nil {
		return 0, err
	}
	changed := false
	err = rewriteAvro(path, func(rec map[string]any) error {
		df, ok := rec["data_file"].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: a manifest entry has no data_file", path)
		}
		for _, k := range []string{"file_path", "referenced_data_file"} {
			if s, ok := df[k].(string); ok {
				if m := r.mapString(s); m != s {
					df[k], changed = m, true
				}
			}
		}
		return nil
	}, &changed)
	if err != nil {
		return 0, err
	}
	if changed {
		r.files.Add(1)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// rewriteAvro applies edit to every record of the Avro object container file at path and, when
// *changed is set by then, writes the records back with the file's schema text, metadata and
// codec.
func rewriteAvro(path string, edit func(map[string]any) error, changed *bool) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rd, err := ocf.NewReader(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer rd.Close()
	var recs []any
	for {
		var v any
		if err := rd.Decode(&v); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rec, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: a record is a %T, not a record", path, v)
		}
		if err := edit(rec); err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	if !*changed {
		return nil
	}
	meta := rd.Metadata()
	user := map[string][]byte{}
	for k, v := range meta {
		if !strings.HasPrefix(k, "avro.") {
			user[k] = v
		}
	}
	opts := []ocf.WriterOpt{ocf.WithMetadata(user), ocf.WithSchema(string(meta["avro.schema"]))}
	switch c := string(meta["avro.codec"]); c {
	case "", "null":
	case "deflate":
		opts = append(opts, ocf.WithCodec(ocf.DeflateCodec(flate.DefaultCompression)))
	case "snappy":
		opts = append(opts, ocf.WithCodec(ocf.SnappyCodec()))
	case "zstandard":
		zc, err := ocf.ZstdCodec(nil, nil)
		if err != nil {
			return err
		}
		opts = append(opts, ocf.WithCodec(zc))
	default:
		return fmt.Errorf("%s: unknown Avro codec %q", path, c)
	}
	var buf bytes.Buffer
	w, err := ocf.NewWriter(&buf, rd.Schema(), opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, rec := range recs {
		if err := w.Encode(rec); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return replaceFile(path, buf.Bytes())
}

// replaceFile writes b to path through a temporary file and a rename, so that path always holds
// either the old or the new content.
func replaceFile(path string, b []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".relocate-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	err = errors.Join(err, tmp.Sync(), tmp.Chmod(fi.Mode().Perm()), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("rewrite %s: %w", path, err)
	}
	return nil
}
