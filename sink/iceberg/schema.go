package iceberg

import (
	"fmt"
	"slices"

	"github.com/apache/iceberg-go"
)

// The table names of DESIGN §3.3.
const (
	RawTrades            = "raw_trades"
	VolumeAggregates     = "volume_aggregates"
	AnomalyAlerts        = "anomaly_alerts"
	WhaleTrades          = "whale_trades"
	ExchangeSpreads      = "exchange_spreads"
	AnomaliesReprocessed = "anomalies_reprocessed"
)

// Tables lists the tables Open creates, in a fixed order. The sink keeps its own copy: changing
// this slice changes nothing.
var Tables = slices.Clone(tableNames)

var tableNames = []string{RawTrades, VolumeAggregates, AnomalyAlerts, WhaleTrades, ExchangeSpreads, AnomaliesReprocessed}

// DefaultNamespace is the namespace (Glue database) the tables live in unless Config says otherwise.
const DefaultNamespace = "coattail"

// Snapshot summary keys the sink writes. A commit made at a checkpoint carries all three; a
// WriteReprocessed commit carries SummaryRunID.
const (
	SummaryPipelineID    = "ctc.pipeline-id"
	SummaryCheckpointSeq = "ctc.checkpoint-seq"
	SummaryPosition      = "ctc.position"
	SummaryRunID         = "ctc.run-id"
)

type column struct {
	name     string
	typ      iceberg.Type
	required bool
}

var (
	str   = iceberg.PrimitiveTypes.String
	f64   = iceberg.PrimitiveTypes.Float64
	i64   = iceberg.PrimitiveTypes.Int64
	tstz  = iceberg.PrimitiveTypes.TimestampTz
	trade = []column{
		{"event_id", str, true},
		{"exchange", str, true},
		{"symbol", str, true},
		{"price", f64, true},
		{"quantity", f64, true},
		{"quote_volume", f64, true},
		{"side", str, true},
		{"timestamp", tstz, true},
		{"ingestion_timestamp", tstz, false},
	}
	alert = []column{
		{"alert_id", str, true},
		{"alert_type", str, true},
		{"symbol", str, true},
		{"exchange", str, true},
		{"severity", str, true},
		{"z_score", f64, true},
		{"threshold_value", f64, true},
		{"actual_value", f64, true},
		{"window_start", tstz, true},
		{"detected_at", tstz, true},
		{"message", str, true},
		{"ttl_epoch", i64, true},
		{"emitted_at", tstz, false},
	}
)

// partition is one hidden partition field: a transform of a source column.
type partition struct {
	source string
	day    bool // day(source); otherwise identity(source)
}

type tableDef struct {
	name    string
	columns []column
	parts   []partition
}

var defs = map[string]tableDef{
	RawTrades: {RawTrades, trade, []partition{{"timestamp", true}, {"symbol", false}}},
	VolumeAggregates: {VolumeAggregates, []column{
		{"symbol", str, true},
		{"exchange", str, true},
		{"window_start", tstz, true},
		{"window_end", tstz, true},
		{"trade_count", i64, true},
		{"total_volume", f64, true},
		{"avg_price", f64, true},
		{"max_price", f64, true},
		{"min_price", f64, true},
		{"buy_volume", f64, true},
		{"sell_volume", f64, true},
	}, []partition{{"window_start", true}, {"symbol", false}}},
	AnomalyAlerts: {AnomalyAlerts, alert, []partition{{"detected_at", true}, {"alert_type", false}}},
	WhaleTrades: {WhaleTrades, append([]column{
		{"alert_id", str, true},
		{"severity", str, true},
		{"threshold_value", f64, true},
		{"detected_at", tstz, true},
	}, trade...), []partition{{"detected_at", true}, {"symbol", false}}},
	ExchangeSpreads: {ExchangeSpreads, []column{
		{"symbol", str, true},
		{"window_start", tstz, true},
		{"window_end", tstz, true},
		{"binance_vwap", f64, true},
		{"coinbase_vwap", f64, true},
		{"spread_pct", f64, true},
	}, []partition{{"window_start", true}, {"symbol", false}}},
	AnomaliesReprocessed: {AnomaliesReprocessed, append(append([]column(nil), alert...), column{"run_id", str, true}),
		[]partition{{"detected_at", true}, {"alert_type", false}}},
}

// schema returns the table's schema with field ids 1…n in column order: the ids a new table gets.
func (d *tableDef) schema() *iceberg.Schema {
	fields := make([]iceberg.NestedField, len(d.columns))
	for i, c := range d.columns {
		fields[i] = iceberg.NestedField{ID: i + 1, Name: c.name, Type: c.typ, Required: c.required}
	}
	return iceberg.NewSchema(0, fields...)
}

// spec returns the hidden partition spec over sc, with partition field ids from 1000 as Iceberg
// assigns them. Partition fields are named as Spark and pyiceberg name them: source_day, source.
func (d *tableDef) spec(sc *iceberg.Schema) (iceberg.PartitionSpec, error) {
	opts := make([]iceberg.PartitionOption, len(d.parts))
	for i, p := range d.parts {
		var tr iceberg.Transform = iceberg.IdentityTransform{}
		name := p.source
		if p.day {
			tr, name = iceberg.DayTransform{}, p.source+"_day"
		}
		id := 1000 + i
		opts[i] = iceberg.AddPartitionFieldByName(p.source, name, tr, sc, &id)
	}
	spec, err := iceberg.NewPartitionSpecOpts(opts...)
	if err != nil {
		return iceberg.PartitionSpec{}, fmt.Errorf("partition spec of %s: %w", d.name, err)
	}
	return spec, nil
}

// Schemas returns the schema of every table, keyed by table name, with the field ids a table
// created by Open has. Each call returns new schemas.
func Schemas() map[string]*iceberg.Schema {
	m := make(map[string]*iceberg.Schema, len(defs))
	for name, d := range defs {
		m[name] = d.schema()
	}
	return m
}

// PartitionSpecs returns the hidden partition spec of every table, keyed by table name: day of
// the event time, then identity of the symbol (or of the alert type for the alert tables).
func PartitionSpecs() map[string]iceberg.PartitionSpec {
	m := make(map[string]iceberg.PartitionSpec, len(defs))
	for name, d := range defs {
		spec, err := d.spec(d.schema())
		if err != nil {
			panic(err) // the definitions above are fixed; a test covers every one
		}
		m[name] = spec
	}
	return m
}

// properties returns the table properties a new table gets: Parquet settings that suit the
// sink's rows, measured with BenchmarkAppendRawTrades. zstd at level 1 compresses these columns
// nearly as well as the default level, at half the cost. Dictionary encoding is turned off where it
// does not pay: on unique columns (ids, times, quote volumes) the writer built and then abandoned a
// dictionary, and on the few-valued strings (exchange, symbol, side) hashing every value cost more
// than zstd takes to squeeze the repeated plain values — together a third of a commit's time. Prices
// and quantities, which repeat, keep their dictionaries.
func (d *tableDef) properties() iceberg.Properties {
	p := iceberg.Properties{
		"write.parquet.compression-codec": "zstd",
		"write.parquet.compression-level": "1",
	}
	for _, c := range d.columns {
		if c.typ.Equals(str) || noDict[c.name] {
			p["write.parquet.dict-encoding-enabled.column."+c.name] = "false"
		}
	}
	return p
}

var noDict = map[string]bool{
	"quote_volume": true, "timestamp": true, "ingestion_timestamp": true, "detected_at": true, "emitted_at": true,
}
