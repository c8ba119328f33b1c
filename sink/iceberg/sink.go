package iceberg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver of the local catalog

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/backoff"
)

// LocalCatalogName is the catalog name the local SQL catalog files its tables under (the
// catalog_name column of catalog.db). It is the iceberg CLI's and pyiceberg's default name, so
// that neither needs to be told it.
const LocalCatalogName = "default"

// Config says where the tables live.
type Config struct {
	// Namespace holds the tables (a Glue database on AWS); default DefaultNamespace. Dots separate
	// the levels of a nested namespace.
	Namespace string
	// Dir is the local warehouse: an Iceberg SQL catalog in Dir/catalog.db (SQLite, through the
	// pure-Go modernc.org/sqlite driver) and the tables' files under Dir/warehouse. Used when
	// Catalog is nil.
	Dir string
	// Catalog, when set, is used instead of the local SQL catalog (Glue with an S3 warehouse on
	// AWS). The sink does not close it.
	Catalog catalog.Catalog
	// Warehouse is where a provided Catalog's new tables go (e.g. s3://bucket/prefix): a table is
	// created at Warehouse/<namespace>.db/<table>. Empty leaves the location to the catalog.
	Warehouse string
	// Props configure the file IO (e.g. s3.endpoint, s3.region). For the local catalog they are
	// also the catalog's properties; with a provided Catalog, non-empty Props replace the
	// catalog's own IO properties for every table the sink loads.
	Props iceberg.Properties
}

// ErrClosed (which wraps ctc.ErrClosed) is returned by every method after Close.
var ErrClosed = fmt.Errorf("iceberg: sink is closed: %w", ctc.ErrClosed)

// Sink writes the pipeline's records to the Iceberg tables of DESIGN §3.3: trades to raw_trades,
// alerts to anomaly_alerts, volume windows to volume_aggregates, whale trades to whale_trades and
// spread windows to exchange_spreads. Late trades and dead letters are not stored.
//
// Write only buffers; Commit (at a checkpoint) or Flush makes the buffered rows one snapshot per
// table. Open returns a Sink.
type Sink struct {
	cat      catalog.Catalog
	closeCat func() error
	ns       table.Identifier
	ioProps  iceberg.Properties // non-nil: file IO properties replacing a provided catalog's

	mu     sync.Mutex
	closed bool
	bufs   []*buffer // the pipeline's tables, in Tables order
	reproc *buffer
	trades tradeCols
	alerts alertCols
	vols   volumeCols
	spread spreadCols
	whales whaleCols
	rerun  alertCols
}

var (
	_ ctc.Sink      = (*Sink)(nil)
	_ ctc.Committer = (*Sink)(nil)
	_ ctc.Flusher   = (*Sink)(nil)
	_ ctc.Closer    = (*Sink)(nil)
)

// buffer holds one table's rows between commits: rows being appended in rb, and record batches
// sealed for a commit that has not succeeded yet.
type buffer struct {
	name    string
	schema  *arrow.Schema // the sink's columns, carrying the table's field ids
	rb      *array.RecordBuilder
	pending []arrow.RecordBatch
}

func (b *buffer) rows() int64 {
	n := int64(b.rb.Field(0).Len())
	for _, r := range b.pending {
		n += r.NumRows()
	}
	return n
}

// seal moves the rows being built into pending.
func (b *buffer) seal() {
	if b.rb.Field(0).Len() > 0 {
		b.pending = append(b.pending, b.rb.NewRecordBatch())
	}
}

// discard drops every buffered row.
func (b *buffer) discard() {
	b.seal()
	for _, r := range b.pending {
		r.Release()
	}
	b.pending = b.pending[:0]
}

// Open connects to the catalog, creates the namespace and every missing table, and checks that
// existing tables have the columns the sink writes. It is idempotent: opening an existing
// warehouse changes nothing in it.
func Open(ctx context.Context, cfg Config) (*Sink, error) {
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	s := &Sink{ns: catalog.ToIdentifier(cfg.Namespace), cat: cfg.Catalog, closeCat: func() error { return nil }}
	if s.cat == nil {
		if cfg.Dir == "" {
			return nil, errors.New("iceberg: Config needs a Dir for the local warehouse, or a Catalog")
		}
		cat, closeCat, err := openLocal(cfg.Dir, cfg.Props)
		if err != nil {
			return nil, err
		}
		s.cat, s.closeCat = cat, closeCat
	} else if len(cfg.Props) > 0 {
		s.ioProps = maps.Clone(cfg.Props)
	}
	if err := s.open(ctx, cfg.Warehouse); err != nil {
		return nil, errors.Join(err, s.closeCat())
	}
	return s, nil
}

// openLocal opens (creating if need be) the SQL catalog in dir/catalog.db with its warehouse in
// dir/warehouse.
func openLocal(dir string, props iceberg.Properties) (catalog.Catalog, func() error, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg: local warehouse %q: %w", dir, err)
	}
	wh := filepath.Join(abs, "warehouse")
	if err := os.MkdirAll(wh, 0o755); err != nil {
		return nil, nil, fmt.Errorf("iceberg: local warehouse: %w", err)
	}
	p := iceberg.Properties{"warehouse": (&url.URL{Scheme: "file", Path: filepath.ToSlash(wh)}).String()}
	maps.Copy(p, props)
	return OpenSQLCatalog(filepath.Join(abs, "catalog.db"), p)
}

// OpenSQLCatalog opens (creating if need be) an Iceberg SQL catalog in the SQLite file at path,
// named LocalCatalogName, with props as its properties ("warehouse" says where new tables go:
// a file:// or s3:// location). The returned func closes the catalog and the database. Config.Dir
// uses it for the local warehouse; hosts that keep the catalog file apart from the warehouse (a
// Lambda with an S3 warehouse) call it themselves.
func OpenSQLCatalog(path string, props iceberg.Properties) (catalog.Catalog, func() error, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("iceberg: catalog %s: %w", path, err)
	}
	// WAL lets readers (the CLI, a second process) read while the sink commits, and the busy
	// timeout makes concurrent writers wait for the lock instead of failing.
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(path),
		RawQuery: "_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("iceberg: open catalog %s: %w", path, err)
	}
	cat, err := sqlcat.NewCatalog(LocalCatalogName, db, sqlcat.SQLite, props)
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("iceberg: open SQL catalog in %s: %w", path, err), db.Close())
	}
	return cat, func() error { return errors.Join(cat.Close(), db.Close()) }, nil
}

func (s *Sink) open(ctx context.Context, warehouse string) error {
	if err := s.cat.CreateNamespace(ctx, s.ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return fmt.Errorf("iceberg: create namespace %s: %w", strings.Join(s.ns, "."), err)
	}
	for _, name := range tableNames {
		tbl, err := s.ensureTable(ctx, name, warehouse)
		if err != nil {
			return err
		}
		sc, err := writeSchema(name, tbl.Schema())
		if err != nil {
			return fmt.Errorf("iceberg: table %s cannot take the sink's rows: %w", name, err)
		}
		b := &buffer{name: name, schema: sc, rb: array.NewRecordBuilder(memory.DefaultAllocator, sc)}
		cols := newBuilders(b.rb)
		switch name {
		case RawTrades:
			s.trades = newTradeCols(cols)
		case VolumeAggregates:
			s.vols = newVolumeCols(cols)
		case AnomalyAlerts:
			s.alerts = newAlertCols(cols, false)
		case WhaleTrades:
			s.whales = newWhaleCols(cols)
		case ExchangeSpreads:
			s.spread = newSpreadCols(cols)
		case AnomaliesReprocessed:
			s.rerun = newAlertCols(cols, true)
			s.reproc = b
			continue
		}
		s.bufs = append(s.bufs, b)
	}
	return nil
}

func (s *Sink) ensureTable(ctx context.Context, name, warehouse string) (*table.Table, error) {
	tbl, err := s.load(ctx, name)
	if err == nil || !errors.Is(err, catalog.ErrNoSuchTable) {
		return tbl, err
	}
	d := defs[name]
	sc := d.schema()
	spec, err := d.spec(sc)
	if err != nil {
		return nil, err
	}
	opts := []catalog.CreateTableOpt{catalog.WithPartitionSpec(&spec), catalog.WithProperties(d.properties())}
	if warehouse != "" {
		loc := strings.TrimSuffix(warehouse, "/") + "/" + strings.Join(s.ns, ".") + ".db/" + name
		opts = append(opts, catalog.WithLocation(loc))
	}
	if _, err := s.cat.CreateTable(ctx, s.ident(name), sc, opts...); err != nil &&
		!errors.Is(err, catalog.ErrTableAlreadyExists) { // another process created it first: fine
		return nil, fmt.Errorf("iceberg: create table %s: %w", name, err)
	}
	return s.load(ctx, name)
}

// writeSchema returns the arrow schema the sink writes to a table whose current schema is tsc:
// the sink's columns, with the table's field ids, types and nullability. A table may have more
// columns (added by schema evolution; they must be optional, and read as null in the sink's
// rows), but it must have every column of the sink, with the same type, and not require one
// the sink may leave null.
func writeSchema(name string, tsc *iceberg.Schema) (*arrow.Schema, error) {
	d := defs[name]
	fields := make([]iceberg.NestedField, 0, len(d.columns))
	mine := make(map[string]bool, len(d.columns))
	for _, c := range d.columns {
		mine[c.name] = true
		f, ok := tsc.FindFieldByName(c.name)
		switch {
		case !ok:
			return nil, fmt.Errorf("it has no column %s", c.name)
		case !f.Type.Equals(c.typ):
			return nil, fmt.Errorf("column %s is %s, want %s", c.name, f.Type, c.typ)
		case f.Required && !c.required:
			return nil, fmt.Errorf("column %s is required, but the sink may leave it null", c.name)
		}
		fields = append(fields, iceberg.NestedField{ID: f.ID, Name: f.Name, Type: f.Type, Required: f.Required})
	}
	for _, f := range tsc.Fields() {
		if !mine[f.Name] && f.Required {
			return nil, fmt.Errorf("it requires column %s, which the sink does not write", f.Name)
		}
	}
	return table.SchemaToArrowSchema(iceberg.NewSchema(0, fields...), nil, true, false)
}

func (s *Sink) ident(name string) table.Identifier {
	return append(slices.Clone(s.ns), name)
}

// load loads a table's current metadata from the catalog.
func (s *Sink) load(ctx context.Context, name string) (*table.Table, error) {
	tbl, err := s.cat.LoadTable(ctx, s.ident(name))
	if err != nil {
		return nil, fmt.Errorf("iceberg: load table %s: %w", name, err)
	}
	if s.ioProps != nil {
		tbl = table.New(tbl.Identifier(), tbl.Metadata(), tbl.MetadataLocation(),
			icebergio.LoadFSFunc(s.ioProps, tbl.MetadataLocation()), s.cat)
	}
	return tbl, nil
}

// Catalog returns the catalog the tables are in. It is closed by Close if the sink opened it.
func (s *Sink) Catalog() catalog.Catalog { return s.cat }

// Table loads one of the sink's tables (one of Tables) with its current metadata.
func (s *Sink) Table(ctx context.Context, name string) (*table.Table, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	return s.load(ctx, name)
}

func (s *Sink) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// Write buffers a copy of the batch's trades, alerts, volume windows, whale trades and spread
// windows. It commits nothing: see Commit and Flush. It fails only if ctx is done or the sink is
// closed, and then buffers nothing.
func (s *Sink) Write(ctx context.Context, b *ctc.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if n := len(b.Trades); n > 0 {
		s.trades.reserve(n)
		for i := range b.Trades {
			s.trades.append(&b.Trades[i])
		}
	}
	o := &b.Output
	for i := range o.Alerts {
		s.alerts.append(&o.Alerts[i], "")
	}
	for i := range o.Volumes {
		s.vols.append(&o.Volumes[i])
	}
	for i := range o.Whales {
		s.whales.append(&o.Whales[i])
	}
	for i := range o.Spreads {
		s.spread.append(&o.Spreads[i])
	}
	return nil
}

// Commit makes everything written since the last commit durable as one snapshot per table that
// has buffered rows (tables without rows get no snapshot). Each snapshot's summary records the
// checkpoint: SummaryPipelineID, SummaryCheckpointSeq and SummaryPosition (partition:offset).
//
// If a table's newest snapshot from cp.PipelineID already has a sequence number >= cp.Seq, the
// checkpoint's rows are already in that table — a restarted pipeline is re-running a checkpoint
// whose commit landed but whose state save did not — and the table's buffered rows are dropped
// instead of committed twice. Tables are committed one after the other, so a crash between two
// of them leaves some tables at cp.Seq and others before it; re-running the checkpoint commits
// exactly the missing ones.
//
// If Commit fails, the rows of the tables not yet committed stay buffered, and a later Commit (of
// the same or a later checkpoint) or Flush commits them.
func (s *Sink) Commit(ctx context.Context, cp ctc.Checkpoint) error {
	if cp.PipelineID == "" {
		return errors.New("iceberg: Commit needs a checkpoint with a PipelineID (Flush commits without one)")
	}
	if cp.Seq < 1 {
		return fmt.Errorf("iceberg: checkpoint seq must be >= 1, got %d", cp.Seq)
	}
	return s.commit(ctx, &cp)
}

// Flush commits the buffered rows like Commit, but without a checkpoint in the snapshot
// summaries: for programs that do not checkpoint.
func (s *Sink) Flush(ctx context.Context) error { return s.commit(ctx, nil) }

func (s *Sink) commit(ctx context.Context, cp *ctc.Checkpoint) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for _, b := range s.bufs {
		if b.rows() == 0 {
			continue
		}
		if err := s.commitTable(ctx, b, cp); err != nil {
			return fmt.Errorf("iceberg: commit %s: %w", b.name, err)
		}
	}
	return nil
}

func (s *Sink) commitTable(ctx context.Context, b *buffer, cp *ctc.Checkpoint) error {
	b.seal()
	props := iceberg.Properties{}
	if cp != nil {
		props[SummaryPipelineID] = cp.PipelineID
		props[SummaryCheckpointSeq] = strconv.FormatInt(cp.Seq, 10)
		props[SummaryPosition] = cp.Position.String()
	}
	// Optimistic concurrency: another writer (a second process on the same warehouse) may commit
	// between the load and the commit. The catalog then refuses ours (table.ErrCommitFailed,
	// nothing committed), and the append is made again on the new current snapshot — after
	// checking again whether the checkpoint landed meanwhile, so that two writers of one
	// pipeline still commit each checkpoint once.
	for attempt := 0; ; attempt++ {
		tbl, err := s.load(ctx, b.name)
		if err != nil {
			return err
		}
		if cp != nil {
			if last, ok := LastCheckpoint(tbl, cp.PipelineID); ok && last.Seq >= cp.Seq {
				b.discard()
				return nil
			}
		}
		err = appendRecords(ctx, tbl, b.schema, b.pending, props)
		if err == nil {
			b.discard()
			return nil
		}
		if !IsConflict(err) || attempt+1 >= CommitAttempts {
			return err
		}
		wait := backoff.Full(backoff.Cap(20*time.Millisecond, time.Second, 2, attempt), backoff.Uniform)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		}
	}
}

// IsConflict reports whether a commit failed because another writer committed first, in which
// case nothing was committed and it may be made again on the table's new state: the catalog's
// compare-and-swap failed (table.ErrCommitFailed), or a requirement on the table's current state
// no longer held when the catalog checked it (iceberg-go reports those, such as "branch main has
// changed", as plain errors). Every writer of the lake's tables retries on it: the sink's commits
// and package maintain.
func IsConflict(err error) bool {
	return err != nil && (errors.Is(err, table.ErrCommitFailed) || strings.Contains(strings.ToLower(err.Error()), "requirement failed"))
}

// CommitAttempts is how many times a commit is tried when other writers keep committing to the
// same table first.
const CommitAttempts = 10

// appendRecords appends recs to tbl in one transaction: one new snapshot with summary props.
func appendRecords(ctx context.Context, tbl *table.Table, sc *arrow.Schema, recs []arrow.RecordBatch, props iceberg.Properties) error {
	if err := sameFieldIDs(sc, tbl.Schema()); err != nil {
		return err
	}
	rdr, err := array.NewRecordReader(sc, recs)
	if err != nil {
		return err
	}
	defer rdr.Release()
	tx := tbl.NewTransaction()
	if err := tx.Append(ctx, rdr, props); err != nil {
		return err
	}
	_, err = tx.Commit(ctx)
	return err
}

// sameFieldIDs checks that the table still has the columns the sink's arrow schema was made for
// (it could have been dropped and recreated, or a column renamed, since Open).
func sameFieldIDs(sc *arrow.Schema, tsc *iceberg.Schema) error {
	for _, f := range sc.Fields() {
		id, ok := f.Metadata.GetValue("PARQUET:field_id")
		n, err := strconv.Atoi(id)
		if !ok || err != nil {
			return fmt.Errorf("arrow field %s has no field id", f.Name)
		}
		tf, ok := tsc.FindFieldByID(n)
		if !ok || tf.Name != f.Name {
			return fmt.Errorf("column %s (field id %d) is no longer in the table's schema: reopen the sink", f.Name, n)
		}
	}
	return nil
}

// LastCheckpoint returns the newest checkpoint pipelineID committed to tbl: the summary of the
// most recent snapshot in the current snapshot's ancestry that carries pipelineID.
func LastCheckpoint(tbl *table.Table, pipelineID string) (ctc.Checkpoint, bool) {
	for snap := tbl.CurrentSnapshot(); snap != nil; {
		if cp, ok := CheckpointOf(snap); ok && cp.PipelineID == pipelineID {
			return cp, true
		}
		if snap.ParentSnapshotID == nil {
			break
		}
		snap = tbl.SnapshotByID(*snap.ParentSnapshotID)
	}
	return ctc.Checkpoint{}, false
}

// CheckpointOf returns the checkpoint recorded in a snapshot's summary by Commit.
func CheckpointOf(snap *table.Snapshot) (ctc.Checkpoint, bool) {
	if snap == nil || snap.Summary == nil {
		return ctc.Checkpoint{}, false
	}
	p := snap.Summary.Properties
	id, ok := p[SummaryPipelineID]
	if !ok {
		return ctc.Checkpoint{}, false
	}
	seq, err := strconv.ParseInt(p[SummaryCheckpointSeq], 10, 64)
	if err != nil {
		return ctc.Checkpoint{}, false
	}
	cp := ctc.Checkpoint{PipelineID: id, Seq: seq}
	pos := p[SummaryPosition]
	if i := strings.LastIndexByte(pos, ':'); i >= 0 {
		cp.Position.Partition = pos[:i]
		cp.Position.Offset, _ = strconv.ParseInt(pos[i+1:], 10, 64)
	}
	return cp, true
}

// Committed returns, for each table that has one, the newest checkpoint pipelineID committed to it.
func (s *Sink) Committed(ctx context.Context, pipelineID string) (map[string]ctc.Checkpoint, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	m := make(map[string]ctc.Checkpoint)
	for _, name := range tableNames {
		tbl, err := s.load(ctx, name)
		if err != nil {
			return nil, err
		}
		if cp, ok := LastCheckpoint(tbl, pipelineID); ok {
			m[name] = cp
		}
	}
	return m, nil
}

// Pipelines returns the newest checkpoint of every pipeline whose id starts with prefix that
// committed to any of the sink's tables, walking each table's snapshot history: a program can
// tell that a warehouse already holds what it is about to write (a replay of the same file).
func (s *Sink) Pipelines(ctx context.Context, prefix string) (map[string]ctc.Checkpoint, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	m := make(map[string]ctc.Checkpoint)
	for _, name := range tableNames {
		tbl, err := s.load(ctx, name)
		if err != nil {
			return nil, err
		}
		for snap := tbl.CurrentSnapshot(); snap != nil; {
			if cp, ok := CheckpointOf(snap); ok && strings.HasPrefix(cp.PipelineID, prefix) && cp.Seq > m[cp.PipelineID].Seq {
				m[cp.PipelineID] = cp
			}
			if snap.ParentSnapshotID == nil {
				break
			}
			snap = tbl.SnapshotByID(*snap.ParentSnapshotID)
		}
	}
	return m, nil
}

// Close releases the buffers and, if the sink opened it, the local catalog. Rows written but not
// committed are dropped — committing them without a checkpoint could commit them twice after a
// restart — and Close then returns an error saying how many; call Commit or Flush first.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	var dropped []string
	for _, b := range append(slices.Clone(s.bufs), s.reproc) {
		if n := b.rows(); n > 0 {
			dropped = append(dropped, fmt.Sprintf("%d %s", n, b.name))
		}
		b.discard()
		b.rb.Release()
	}
	err := s.closeCat()
	if len(dropped) > 0 {
		err = errors.Join(fmt.Errorf("iceberg: closed with uncommitted rows, dropped: %s (Commit or Flush before Close)",
			strings.Join(dropped, ", ")), err)
	}
	return err
}
