// Package iceberg is the lakehouse sink: it writes the pipeline's records to the Apache Iceberg
// tables of DESIGN §3.3 with github.com/apache/iceberg-go, commits them once per checkpoint, and
// reads them back for reprocessing, with time travel.
//
// # Tables
//
// Open creates a namespace (default "coattail") and these tables in it, if they are missing.
// Every column the records always have is required; the partitioning is hidden — readers filter
// on the source columns and Iceberg prunes the partitions:
//
//	table                  rows                                       partition spec
//	raw_trades             every trade that passed quality            day(timestamp), identity(symbol)
//	volume_aggregates      every closed volume window                 day(window_start), identity(symbol)
//	anomaly_alerts         every alert                                day(detected_at), identity(alert_type)
//	whale_trades           whale alerts with the whole trade          day(detected_at), identity(symbol)
//	exchange_spreads       every joined spread window                 day(window_start), identity(symbol)
//	anomalies_reprocessed  anomaly_alerts' columns + run_id           day(detected_at), identity(alert_type)
//
// Ids (event_id, alert_id) are UUID text, sides and severities their names, and times
// timestamptz (microseconds, UTC; ctc's millisecond times round-trip exactly). Optional times —
// ingestion_timestamp, emitted_at — are null when unknown. Schemas and PartitionSpecs return the
// exact schemas and specs. A table may gain columns later (schema evolution with iceberg-go's
// UpdateSchema): the sink keeps writing its own columns, and rows that lack the new ones read them
// as null.
//
// # Catalogs
//
// By default (Config.Dir) the warehouse is local: an Iceberg SQL catalog in Dir/catalog.db — SQLite
// through the pure-Go driver modernc.org/sqlite, no cgo — and the data and metadata files under
// Dir/warehouse. The catalog and Iceberg's metadata store absolute file:// locations, so a moved
// warehouse directory opens only after maintain.Relocate (adapters/maintain -relocate-from)
// rewrites them. Package maintain also compacts small files, expires snapshots (carrying the
// pipelines' checkpoints forward) and removes orphan files. Any other catalog (Glue, with an S3 warehouse) is passed as Config.Catalog,
// with Config.Warehouse for the new tables' location and Config.Props for the file IO.
//
// # Commits and checkpoints
//
// Write only buffers rows (as arrow records). Commit(ctx, checkpoint) turns what was buffered into
// one snapshot per table that has rows, never one per record; each snapshot's summary carries
// ctc.pipeline-id, ctc.checkpoint-seq and ctc.position (partition:offset) — the Flink/Spark
// Iceberg-sink pattern. When a table's newest snapshot from the same pipeline id already has a
// sequence number >= the checkpoint's, the checkpoint's rows are already in that table (a restart
// re-running a checkpoint whose commit landed but whose state save did not) and its buffered rows
// are dropped instead of committed twice. The decision is per table, so a crash between two
// tables' commits is repaired too. Committed reports each table's last checkpoint. Flush commits
// without a checkpoint, for programs that do not checkpoint; Close drops (and reports) rows that
// were never committed.
//
// The skip test compares sequence numbers: a pipeline that loses its saved state and restarts
// from checkpoint 1 under the same pipeline id would have its commits skipped until it passes its
// old sequence number. Give such a run a new pipeline id.
//
// New tables get Parquet properties chosen with BenchmarkAppendRawTrades (go test -run '^$'
// -bench AppendRawTrades -cpu 1 ./sink/iceberg/): zstd level 1, and no dictionary encoding on
// unique or few-valued columns. They make data files about 8 % larger than iceberg-go's defaults
// and commits markedly faster; change them with a table-properties update if space matters more.
//
// # Reprocessing
//
// ScanTrades reads raw_trades as of a snapshot id or a time (time travel), optionally only an
// event-time range, which is pushed down as a row filter. ScanAlerts and ScanRun read alerts back,
// and WriteReprocessed appends a reprocessing run's alerts to anomalies_reprocessed in one commit.
//
// # Partition evolution
//
// The partitioning is hidden (readers filter on timestamp, never on a partition column), so it
// can change without a rewrite and without readers noticing, as Iceberg's spec evolution allows:
// to move raw_trades from days to hours once volume grows,
//
//	tx := tbl.NewTransaction()
//	err := tx.UpdateSpec(true).RemoveField("timestamp_day").
//		AddField("timestamp", iceberg.HourTransform{}, "timestamp_hour").Commit()
//	_, err = tx.Commit(ctx)
//
// is a metadata commit. Files written before keep their day partitions, the sink writes hour
// partitions from its next commit (it loads the table's current spec at every commit), and a
// scan reads both, pruning each file by its own spec (TestPartitionEvolutionDayToHour).
//
// # Reading the warehouse with other tools
//
// The tables are plain Iceberg v2 tables that any Iceberg reader opens. iceberg-go v0.7.0 ships a
// CLI, cmd/iceberg, that lists and describes them (it reads metadata; it has no command that
// prints rows). With DIR the sink's Config.Dir (both SQL flags are required; the catalog name is
// the CLI's default, LocalCatalogName):
//
//	ICEBERG="go run github.com/apache/iceberg-go/cmd/iceberg@v0.7.0 --catalog sql --uri file:DIR/catalog.db --sql-driver sqlite --sql-dialect sqlite"
//	$ICEBERG list                        # namespaces: coattail
//	$ICEBERG list coattail               # the six tables
//	$ICEBERG describe coattail.raw_trades   # schema, partition spec, current snapshot and its summary, properties
//	$ICEBERG snapshots coattail.raw_trades  # one line per commit
//	$ICEBERG files coattail.raw_trades      # data files, one per (day, symbol) per commit
//	$ICEBERG info coattail.raw_trades
//
// Add --output json for machine-readable output, and set NO_COLOR=1 to drop the colours. The first
// go run builds the CLI with all of iceberg-go's catalogs (AWS, GCP, Azure SDKs): a few minutes;
// go install github.com/apache/iceberg-go/cmd/iceberg@v0.7.0 keeps the binary.
//
// Rows are read with iceberg-go's Go API, on a catalog of its own (the sink's tests read every
// table this way):
//
//	import _ "modernc.org/sqlite"
//
//	cat, err := catalog.Load(ctx, "default", iceberg.Properties{
//		"type": "sql", "uri": "file:DIR/catalog.db", "sql.driver": "sqlite", "sql.dialect": "sqlite",
//	})
//	tbl, err := cat.LoadTable(ctx, catalog.ToIdentifier("coattail", "raw_trades"))
//	rows, err := tbl.Scan(table.WithRowFilter(iceberg.EqualTo(iceberg.Reference("symbol"), "BTC-USDT"))).ToArrowTable(ctx)
//
// # Concurrency
//
// A Sink's methods may be called from several goroutines; Write, Commit, Flush, WriteReprocessed
// and Close are serialised. The sink starts no goroutines of its own (iceberg-go's writer and
// scanner use worker goroutines while a commit or a scan runs). Several processes may share a
// local warehouse: each commit is an optimistic swap of the table's metadata in catalog.db.
package iceberg
