package iceberg_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
)

// The schemas and partition specs of DESIGN §3.3, written out by hand: what Open must create.
var wantTables = map[string]struct{ schema, spec string }{
	icesink.RawTrades: {`
		1 event_id string required
		2 exchange string required
		3 symbol string required
		4 price double required
		5 quantity double required
		6 quote_volume double required
		7 side string required
		8 timestamp timestamptz required
		9 ingestion_timestamp timestamptz optional`,
		"day(timestamp) timestamp_day, identity(symbol) symbol"},
	icesink.VolumeAggregates: {`
		1 symbol string required
		2 exchange string required
		3 window_start timestamptz required
		4 window_end timestamptz required
		5 trade_count long required
		6 total_volume double required
		7 avg_price double required
		8 max_price double required
		9 min_price double required
		10 buy_volume double required
		11 sell_volume double required`,
		"day(window_start) window_start_day, identity(symbol) symbol"},
	icesink.AnomalyAlerts: {alertSchema, "day(detected_at) detected_at_day, identity(alert_type) alert_type"},
	icesink.WhaleTrades: {`
		1 alert_id string required
		2 severity string required
		3 threshold_value double required
		4 detected_at timestamptz required
		5 event_id string required
		6 exchange string required
		7 symbol string required
		8 price double required
		9 quantity double required
		10 quote_volume double required
		11 side string required
		12 timestamp timestamptz required
		13 ingestion_timestamp timestamptz optional`,
		"day(detected_at) detected_at_day, identity(symbol) symbol"},
	icesink.ExchangeSpreads: {`
		1 symbol string required
		2 window_start timestamptz required
		3 window_end timestamptz required
		4 binance_vwap double required
		5 coinbase_vwap double required
		6 spread_pct double required`,
		"day(window_start) window_start_day, identity(symbol) symbol"},
	icesink.AnomaliesReprocessed: {alertSchema + `
		14 run_id string required`,
		"day(detected_at) detected_at_day, identity(alert_type) alert_type"},
}

const alertSchema = `
		1 alert_id string required
		2 alert_type string required
		3 symbol string required
		4 exchange string required
		5 severity string required
		6 z_score double required
		7 threshold_value double required
		8 actual_value double required
		9 window_start timestamptz required
		10 detected_at timestamptz required
		11 message string required
		12 ttl_epoch long required
		13 emitted_at timestamptz optional`

func describeSchema(sc *iceberg.Schema) string {
	var b strings.Builder
	for _, f := range sc.Fields() {
		req := "optional"
		if f.Required {
			req = "required"
		}
		fmt.Fprintf(&b, "\n%d %s %s %s", f.ID, f.Name, f.Type, req)
	}
	return b.String()
}

func describeSpec(spec iceberg.PartitionSpec, sc *iceberg.Schema) string {
	var parts []string
	for _, f := range spec.Fields() {
		src, _ := sc.FindColumnName(f.SourceID())
		parts = append(parts, fmt.Sprintf("%s(%s) %s", f.Transform, src, f.Name))
	}
	return strings.Join(parts, ", ")
}

func trimLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return "\n" + strings.Join(lines, "\n")
}

func TestOpenCreatesTables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	cat := freshCatalog(t, dir)

	var names []string
	for id, err := range cat.ListTables(t.Context(), catalog.ToIdentifier(icesink.DefaultNamespace)) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, catalog.TableNameFromIdent(id))
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(icesink.Tables))
	if !slices.Equal(names, want) {
		t.Fatalf("tables in %s: %v, want %v", icesink.DefaultNamespace, names, want)
	}

	locations := map[string]string{}
	for name, w := range wantTables {
		tbl := loadTable(t, cat, name)
		if got := describeSchema(tbl.Schema()); got != trimLines(w.schema) {
			t.Errorf("%s schema:%s\nwant:%s", name, got, trimLines(w.schema))
		}
		if got := describeSpec(tbl.Spec(), tbl.Schema()); got != w.spec {
			t.Errorf("%s partition spec: %s, want %s", name, got, w.spec)
		}
		if !icesink.Schemas()[name].Equals(tbl.Schema()) {
			t.Errorf("%s: Schemas() differs from the table's schema:\n%s\n%s", name, icesink.Schemas()[name], tbl.Schema())
		}
		if !icesink.PartitionSpecs()[name].Equals(tbl.Spec()) {
			t.Errorf("%s: PartitionSpecs() %s differs from the table's %s", name, icesink.PartitionSpecs()[name], tbl.Spec())
		}
		if tbl.CurrentSnapshot() != nil {
			t.Errorf("%s: new table has a snapshot", name)
		}
		locations[name] = tbl.MetadataLocation()
	}

	// Opening again, with the first sink closed and then while another is open, changes nothing.
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	openSink(t, dir)
	openSink(t, dir)
	for name, loc := range locations {
		if got := loadTable(t, cat, name).MetadataLocation(); got != loc {
			t.Errorf("%s: reopening changed the metadata from %s to %s", name, loc, got)
		}
	}
}

func TestOpenRejectsIncompatibleTable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, table, want string
		change            func(u *table.UpdateSchema)
	}{
		{"a required column the sink does not write", icesink.VolumeAggregates, "venue", func(u *table.UpdateSchema) {
			u.AddColumn([]string{"venue"}, iceberg.PrimitiveTypes.String, "", true, nil)
		}},
		{"an optional column made required", icesink.RawTrades, "ingestion_timestamp", func(u *table.UpdateSchema) {
			u.UpdateColumn([]string{"ingestion_timestamp"}, table.ColumnUpdate{Required: iceberg.Optional[bool]{Val: true, Valid: true}})
		}},
		{"a renamed column", icesink.ExchangeSpreads, "spread_pct", func(u *table.UpdateSchema) {
			u.RenameColumn([]string{"spread_pct"}, "spread")
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			openSink(t, dir)
			tx := loadTable(t, freshCatalog(t, dir), c.table).NewTransaction()
			u := tx.UpdateSchema(true, true)
			c.change(u)
			if err := u.Commit(); err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			_, err := icesink.Open(t.Context(), icesink.Config{Dir: dir})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.table) {
				t.Fatalf("Open: %v, want an error naming %s and %s", err, c.table, c.want)
			}
		})
	}
}

func TestCommitRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	var all ctc.Batch
	for i := range 3 {
		b := genBatch(i*200, 200)
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		appendBatch(&all, genBatch(i*200, 200))
		// The pipeline reuses its batch: a sink that kept references would now hold garbage.
		for j := range b.Trades {
			b.Trades[j] = ctc.Trade{Symbol: "XXX-XXX", Exchange: "scribbled"}
		}
		b.Output.Reset()
	}
	cp := ctc.Checkpoint{PipelineID: "p", Seq: 1, Position: ctc.Position{Partition: "replay.ndjson", Offset: 599}}
	if err := s.Commit(t.Context(), cp); err != nil {
		t.Fatal(err)
	}

	cat := freshCatalog(t, dir)
	for name, want := range wantRows(&all) {
		got := scanRows(t, loadTable(t, cat, name))
		if len(got) != len(want) {
			t.Errorf("%s: %d rows, want %d", name, len(got), len(want))
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s rows differ (-written +read):\n%s", name, d)
		}
	}

	// Hidden partitioning: one data file per (day, symbol) of the trades.
	tasks, err := loadTable(t, cat, icesink.RawTrades).Scan().PlanFiles(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, task := range tasks {
		p := task.File.Partition()
		got = append(got, fmt.Sprintf("%v %v", p[1000], p[1001]))
	}
	var want []string
	for _, tr := range all.Trades {
		day := tr.Timestamp.Unix() / 86400
		if k := fmt.Sprintf("%d %s", day, tr.Symbol); !slices.Contains(want, k) {
			want = append(want, k)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(want) != 8 {
		t.Fatalf("test data spans %d (day, symbol) partitions, want 8", len(want))
	}
	if !slices.Equal(got, want) {
		t.Errorf("raw_trades data files by partition (day, symbol): %v, want %v", got, want)
	}
}

func TestConformance(t *testing.T) {
	dirs := map[ctc.Sink]string{}
	ctctest.TestSink(t, ctctest.SinkFeatures{Trades: true, Alerts: true, Volumes: true, Spreads: true, Whales: true, Unordered: true},
		func(t *testing.T) ctc.Sink {
			dir := t.TempDir()
			s := openSink(t, dir)
			dirs[s] = dir
			return s
		},
		func(t *testing.T, s ctc.Sink) *ctc.Batch { return readBatch(t, dirs[s]) })
}

func snapshotCount(t *testing.T, cat catalog.Catalog, name string) int {
	return len(loadTable(t, cat, name).Metadata().Snapshots())
}

func TestCommitBatching(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openSink(t, dir)
	cat := freshCatalog(t, dir)
	ctx := t.Context()

	const n = 5
	for i := range n {
		b := genBatch(i*50, 50)
		b.Output.Spreads = nil
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range icesink.Tables {
		if c := snapshotCount(t, cat, name); c != 0 {
			t.Fatalf("%s has %d snapshots after Write alone, want 0: Write must not commit", name, c)
		}
	}
	cp := ctc.Checkpoint{PipelineID: "consumer-a", Seq: 7, Position: ctc.Position{Partition: "shardId-000000000001", Offset: 249}}
	if err := s.Commit(ctx, cp); err != nil {
		t.Fatal(err)
	}
	wantSnaps := map[string]int{icesink.RawTrades: 1, icesink.AnomalyAlerts: 1, icesink.VolumeAggregates: 1, icesink.WhaleTrades: 1}
	for _, name := range icesink.Tables {
		tbl := loadTable(t, cat, name)
		if c := len(tbl.Metadata().Snapshots()); c != wantSnaps[name] {
			t.Errorf("%s: %d snapshots after %d writes and one commit, want %d", name, c, n, wantSnaps[name])
			continue
		}
		if wantSnaps[name] == 0 {
			continue
		}
		sum := tbl.CurrentSnapshot().Summary
		if sum.Operation != table.OpAppend {
			t.Errorf("%s: snapshot operation %s, want append", name, sum.Operation)
		}
		for k, v := range map[string]string{"ctc.pipeline-id": "consumer-a", "ctc.checkpoint-seq": "7", "ctc.position": "shardId-000000000001:249"} {
			if got := sum.Properties[k]; got != v {
				t.Errorf("%s: snapshot summary %s = %q, want %q", name, k, got, v)
			}
		}
	}
	if got := scanRows(t, loadTable(t, cat, icesink.RawTrades)); len(got) != n*50 {
		t.Errorf("raw_trades has %d rows, want %d", len(got), n*50)
	}

	// A checkpoint with nothing written commits nothing; one with spreads only, only them.
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "consumer-a", Seq: 8}); err != nil {
		t.Fatal(err)
	}
	b := genBatch(1000, 10)
	if err := s.Write(ctx, &ctc.Batch{Output: ctc.Output{Spreads: b.Output.Spreads}}); err != nil {
		t.Fatal(err)
	}
	cp9 := ctc.Checkpoint{PipelineID: "consumer-a", Seq: 9, Position: ctc.Position{Partition: "shardId-000000000001", Offset: 300}}
	if err := s.Commit(ctx, cp9); err != nil {
		t.Fatal(err)
	}
	wantSnaps[icesink.ExchangeSpreads] = 1
	for _, name := range icesink.Tables {
		if c := snapshotCount(t, cat, name); c != wantSnaps[name] {
			t.Errorf("%s: %d snapshots, want %d", name, c, wantSnaps[name])
		}
	}

	got, err := s.Committed(ctx, "consumer-a")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ctc.Checkpoint{icesink.RawTrades: cp, icesink.AnomalyAlerts: cp, icesink.VolumeAggregates: cp,
		icesink.WhaleTrades: cp, icesink.ExchangeSpreads: cp9}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Committed (-want +got):\n%s", d)
	}
	if got, _ := s.Committed(ctx, "consumer-b"); len(got) != 0 {
		t.Errorf("Committed for another pipeline: %v, want none", got)
	}

	// Flush commits without a checkpoint: a snapshot without the ctc summary keys.
	if err := s.Write(ctx, &ctc.Batch{Trades: genTrades(2000, 5)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	tbl := loadTable(t, cat, icesink.RawTrades)
	if c := len(tbl.Metadata().Snapshots()); c != 2 {
		t.Errorf("raw_trades: %d snapshots after Flush, want 2", c)
	}
	if _, ok := tbl.CurrentSnapshot().Summary.Properties["ctc.pipeline-id"]; ok {
		t.Error("Flush's snapshot carries a pipeline id")
	}
	if last, ok := icesink.LastCheckpoint(tbl, "consumer-a"); !ok || last != cp {
		t.Errorf("LastCheckpoint after a Flush: %v %v, want %v", last, ok, cp)
	}
}

func TestCommitValidates(t *testing.T) {
	t.Parallel()
	s := openSink(t, t.TempDir())
	for _, cp := range []ctc.Checkpoint{{Seq: 1}, {PipelineID: "p", Seq: 0}, {PipelineID: "p", Seq: -3}} {
		if err := s.Commit(t.Context(), cp); err == nil {
			t.Errorf("Commit(%+v) succeeded, want an error", cp)
		}
	}
}

func TestRestartSkipsCommittedCheckpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	cp := func(seq int64) ctc.Checkpoint {
		return ctc.Checkpoint{PipelineID: "replay", Seq: seq, Position: ctc.Position{Partition: "f", Offset: seq * 100}}
	}
	b1, b2 := genBatch(0, 300), genBatch(300, 100)

	s1 := openSink(t, dir)
	if err := s1.Write(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if err := s1.Commit(ctx, cp(3)); err != nil {
		t.Fatal(err)
	}
	// The process dies before saving its state: the next run re-runs checkpoint 3.
	if err := s1.Close(ctx); err != nil {
		t.Fatal(err)
	}

	cat := freshCatalog(t, dir)
	snaps := func() map[string]int64 {
		m := map[string]int64{}
		for _, name := range icesink.Tables {
			if snap := loadTable(t, cat, name).CurrentSnapshot(); snap != nil {
				m[name] = snap.SnapshotID
			}
		}
		return m
	}
	before := snaps()
	if len(before) != 5 {
		t.Fatalf("tables with a snapshot after the first commit: %v, want the 5 pipeline tables", before)
	}

	s2 := openSink(t, dir)
	for _, seq := range []int64{3, 2} { // the landed checkpoint, and an older one
		if err := s2.Write(ctx, b1); err != nil {
			t.Fatal(err)
		}
		if err := s2.Commit(ctx, cp(seq)); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(before, snaps()); d != "" {
			t.Fatalf("re-running checkpoint %d made new snapshots (-before +after):\n%s", seq, d)
		}
	}
	for name, want := range wantRows(b1) {
		if got := scanRows(t, loadTable(t, cat, name)); len(got) != len(want) {
			t.Errorf("%s: %d rows after the re-run, want %d (no duplicates)", name, len(got), len(want))
		}
	}

	// The next checkpoint commits again, and only its own rows: the skipped ones were dropped.
	if err := s2.Write(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if err := s2.Commit(ctx, cp(4)); err != nil {
		t.Fatal(err)
	}
	after := snaps()
	for name, id := range before {
		if after[name] == id {
			t.Errorf("%s: no new snapshot for checkpoint 4", name)
		}
	}
	var all ctc.Batch
	appendBatch(&all, b1)
	appendBatch(&all, b2)
	for name, want := range wantRows(&all) {
		if d := cmp.Diff(want, scanRows(t, loadTable(t, cat, name))); d != "" {
			t.Errorf("%s after checkpoint 4 (-want +got):\n%s", name, d)
		}
	}

	// A crash between two tables' commits: checkpoint 5 landed in raw_trades only. Re-running it
	// commits the other tables and skips raw_trades.
	b3 := genBatch(400, 50)
	if err := s2.Write(ctx, &ctc.Batch{Trades: b3.Trades}); err != nil {
		t.Fatal(err)
	}
	if err := s2.Commit(ctx, cp(5)); err != nil {
		t.Fatal(err)
	}
	if err := s2.Write(ctx, b3); err != nil {
		t.Fatal(err)
	}
	if err := s2.Commit(ctx, cp(5)); err != nil {
		t.Fatal(err)
	}
	appendBatch(&all, b3)
	for name, want := range wantRows(&all) {
		if d := cmp.Diff(want, scanRows(t, loadTable(t, cat, name))); d != "" {
			t.Errorf("%s after re-running a half-committed checkpoint (-want +got):\n%s", name, d)
		}
	}
}

func TestSchemaEvolution(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s := openSink(t, dir)
	b1, b2 := genBatch(0, 100), genBatch(100, 100)
	if err := s.Write(ctx, b1); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 1}); err != nil {
		t.Fatal(err)
	}

	// Add an optional column with iceberg-go's schema update, while the sink is open.
	tbl, err := s.Table(ctx, icesink.RawTrades)
	if err != nil {
		t.Fatal(err)
	}
	tx := tbl.NewTransaction()
	if err := tx.UpdateSchema(true, false).AddColumn([]string{"venue"}, iceberg.PrimitiveTypes.String,
		"trading venue", false, nil).Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// New appends still work, and leave the new column null too.
	if err := s.Write(ctx, b2); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 2}); err != nil {
		t.Fatal(err)
	}

	cat := freshCatalog(t, dir)
	evolved := loadTable(t, cat, icesink.RawTrades)
	if f, ok := evolved.Schema().FindFieldByName("venue"); !ok || f.Required || f.ID != 10 {
		t.Fatalf("venue in the evolved schema: %+v %v, want optional field 10", f, ok)
	}
	var want []row
	for _, tr := range append(slices.Clone(b1.Trades), b2.Trades...) {
		r := tradeRow(tr)
		r["venue"] = nil
		want = append(want, r)
	}
	if d := cmp.Diff(sortRows(want), scanRows(t, evolved)); d != "" {
		t.Errorf("raw_trades after adding venue (-want +got):\n%s", d)
	}
	// Reading the first snapshot uses the schema it was written with.
	first := evolved.Metadata().Snapshots()[0].SnapshotID
	if d := cmp.Diff(mapRows(b1.Trades, tradeRow), scanRows(t, evolved, table.WithSnapshotID(first))); d != "" {
		t.Errorf("raw_trades at the first snapshot (-want +got):\n%s", d)
	}

	var n int
	for trades, err := range s.ScanTrades(ctx, icesink.ScanOptions{}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(trades)
	}
	if n != 200 {
		t.Errorf("ScanTrades after the schema change: %d trades, want 200", n)
	}
}

func scanTrades(t *testing.T, s *icesink.Sink, opt icesink.ScanOptions) ([]ctc.Trade, error) {
	var all []ctc.Trade
	for trades, err := range s.ScanTrades(t.Context(), opt) {
		if err != nil {
			return nil, err
		}
		all = append(all, trades...)
	}
	sortTrades(all)
	return all, nil
}

func sortTrades(trades []ctc.Trade) {
	slices.SortFunc(trades, func(a, b ctc.Trade) int { return bytes.Compare(a.EventID[:], b.EventID[:]) })
}

func TestTimeTravel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s := openSink(t, dir)
	t1, t2 := genTrades(0, 400), genTrades(400, 400)
	var snaps []*table.Snapshot
	for i, trades := range [][]ctc.Trade{t1, t2} {
		if i > 0 {
			time.Sleep(5 * time.Millisecond) // snapshots a few milliseconds apart, for AsOf
		}
		if err := s.Write(ctx, &ctc.Batch{Trades: trades}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
		tbl, err := s.Table(ctx, icesink.RawTrades)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, tbl.CurrentSnapshot())
	}
	all := append(slices.Clone(t1), t2...)
	sortTrades(t1)
	sortTrades(all)
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	inRange := func(from, to time.Time) []ctc.Trade {
		var out []ctc.Trade
		for _, tr := range all {
			if !tr.Timestamp.Before(from) && tr.Timestamp.Before(to) {
				out = append(out, tr)
			}
		}
		return out
	}
	// A range across midnight, with bounds inside seconds, in another time zone.
	est := time.FixedZone("EST", -5*3600)
	from, to := epoch.Add(70*time.Second+123*time.Millisecond).In(est), epoch.Add(150*time.Second+7*time.Millisecond)

	for _, c := range []struct {
		name string
		opt  icesink.ScanOptions
		want []ctc.Trade
	}{
		{"current", icesink.ScanOptions{}, all},
		{"first snapshot id", icesink.ScanOptions{SnapshotID: snaps[0].SnapshotID}, t1},
		{"second snapshot id", icesink.ScanOptions{SnapshotID: snaps[1].SnapshotID}, all},
		{"as of first commit", icesink.ScanOptions{AsOf: at(snaps[0].TimestampMs)}, t1},
		{"as of just before second", icesink.ScanOptions{AsOf: at(snaps[1].TimestampMs - 1)}, t1},
		{"as of second commit", icesink.ScanOptions{AsOf: at(snaps[1].TimestampMs)}, all},
		{"as of before any", icesink.ScanOptions{AsOf: at(snaps[0].TimestampMs - 1)}, nil},
		{"range", icesink.ScanOptions{From: from, To: to}, inRange(from, to)},
		{"from", icesink.ScanOptions{From: from}, inRange(from, epoch.Add(time.Hour))},
		{"to", icesink.ScanOptions{To: to}, inRange(epoch, to)},
		{"range at first snapshot", icesink.ScanOptions{SnapshotID: snaps[0].SnapshotID, From: from, To: to},
			func() []ctc.Trade {
				var out []ctc.Trade
				for _, tr := range inRange(from, to) {
					if slices.ContainsFunc(t1, func(x ctc.Trade) bool { return x.EventID == tr.EventID }) {
						out = append(out, tr)
					}
				}
				return out
			}()},
	} {
		got, err := scanTrades(t, s, c.opt)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(c.want) == 0 {
			c.want = nil
		}
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s: ScanTrades (-want +got):\n%s", c.name, d)
		}
	}
	if n := len(inRange(from, to)); n < 100 || n > len(all)-100 {
		t.Fatalf("the range keeps %d of %d trades: not a useful test", n, len(all))
	}

	for _, opt := range []icesink.ScanOptions{
		{SnapshotID: snaps[0].SnapshotID, AsOf: time.Now()},
		{SnapshotID: 12345},
		{From: to, To: from},
	} {
		if _, err := scanTrades(t, s, opt); err == nil {
			t.Errorf("ScanTrades(%+v) succeeded, want an error", opt)
		}
	}
}

func TestAlertsAndReprocessed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s := openSink(t, dir)
	b := genBatch(0, 500)
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	alerts := b.Output.Alerts
	sortAlerts := func(as []ctc.Alert) []ctc.Alert {
		as = slices.Clone(as)
		slices.SortFunc(as, func(a, b ctc.Alert) int {
			if c := a.DetectedAt.Compare(b.DetectedAt); c != 0 {
				return c
			}
			return bytes.Compare(a.AlertID[:], b.AlertID[:])
		})
		return as
	}
	got, err := s.ScanAlerts(ctx, icesink.AnomalyAlerts, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sortAlerts(alerts), got); d != "" {
		t.Errorf("ScanAlerts (-want +got):\n%s", d)
	}
	from, to := epoch.Add(time.Minute), epoch.Add(2*time.Minute+time.Millisecond)
	var want []ctc.Alert
	for _, a := range alerts {
		if !a.DetectedAt.Before(from) && a.DetectedAt.Before(to) {
			want = append(want, a)
		}
	}
	if len(want) == 0 || len(want) == len(alerts) {
		t.Fatalf("the range keeps %d of %d alerts: not a useful test", len(want), len(alerts))
	}
	got, err = s.ScanAlerts(ctx, icesink.AnomalyAlerts, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sortAlerts(want), got); d != "" {
		t.Errorf("ScanAlerts in [%s, %s) (-want +got):\n%s", from, to, d)
	}

	run1, run2 := alerts[:20], alerts[10:45]
	for _, r := range []struct {
		id     string
		alerts []ctc.Alert
	}{{"run-1", run1}, {"run-2", run2}} {
		if err := s.WriteReprocessed(ctx, r.id, r.alerts); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []struct {
		id   string
		want []ctc.Alert
	}{{"run-1", run1}, {"run-2", run2}, {"run-3", nil}} {
		got, err := s.ScanRun(ctx, r.id, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(sortAlerts(r.want), got, cmp.Comparer(func(a, b []ctc.Alert) bool {
			return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b)
		})); d != "" {
			t.Errorf("ScanRun(%s) (-want +got):\n%s", r.id, d)
		}
	}
	got, err = s.ScanAlerts(ctx, icesink.AnomaliesReprocessed, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(run1)+len(run2) {
		t.Errorf("ScanAlerts(anomalies_reprocessed): %d alerts, want %d", len(got), len(run1)+len(run2))
	}
	tbl := loadTable(t, freshCatalog(t, dir), icesink.AnomaliesReprocessed)
	if n := len(tbl.Metadata().Snapshots()); n != 2 {
		t.Errorf("anomalies_reprocessed: %d snapshots, want one per WriteReprocessed", n)
	}
	if id := tbl.CurrentSnapshot().Summary.Properties["ctc.run-id"]; id != "run-2" {
		t.Errorf("summary run id %q, want run-2", id)
	}
	var wantRows []row
	for _, a := range run1 {
		r := alertRow(a)
		r["run_id"] = "run-1"
		wantRows = append(wantRows, r)
	}
	for _, a := range run2 {
		r := alertRow(a)
		r["run_id"] = "run-2"
		wantRows = append(wantRows, r)
	}
	if d := cmp.Diff(sortRows(wantRows), scanRows(t, tbl)); d != "" {
		t.Errorf("anomalies_reprocessed rows (-want +got):\n%s", d)
	}

	if _, err := s.ScanAlerts(ctx, icesink.RawTrades, time.Time{}, time.Time{}); err == nil {
		t.Error("ScanAlerts(raw_trades) succeeded, want an error")
	}
	if err := s.WriteReprocessed(ctx, "", alerts); err == nil {
		t.Error("WriteReprocessed without a run id succeeded, want an error")
	}
}

// TestIndependentReader is issue item 8: with the sink closed, iceberg-go alone — a SQL catalog of
// its own on catalog.db, as the iceberg CLI opens it — lists the namespace and scans every table.
func TestIndependentReader(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := t.Context()
	s := openSink(t, dir)
	b := genBatch(0, 120)
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "p", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteReprocessed(ctx, "r", b.Output.Alerts[:3]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	cat := freshCatalog(t, dir)
	nss, err := cat.ListNamespaces(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(nss, func(ns table.Identifier) bool { return slices.Equal(ns, table.Identifier{"coattail"}) }) {
		t.Fatalf("namespaces %v, want coattail among them", nss)
	}
	want := map[string]int{icesink.RawTrades: 120, icesink.AnomalyAlerts: 12, icesink.VolumeAggregates: 12,
		icesink.WhaleTrades: 12, icesink.ExchangeSpreads: 12, icesink.AnomaliesReprocessed: 3}
	got := map[string]int{}
	for id, err := range cat.ListTables(ctx, table.Identifier{"coattail"}) {
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := cat.LoadTable(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		at, err := tbl.Scan().ToArrowTable(ctx)
		if err != nil {
			t.Fatalf("scan %s: %v", id, err)
		}
		got[catalog.TableNameFromIdent(id)] = int(at.NumRows())
		at.Release()
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows per table read by a fresh catalog (-want +got):\n%s", d)
	}
}

func TestCloseDropsUncommitted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := icesink.Open(t.Context(), icesink.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(t.Context(), genBatch(0, 30)); err != nil {
		t.Fatal(err)
	}
	err = s.Close(t.Context())
	if err == nil || !strings.Contains(err.Error(), "30 raw_trades") {
		t.Errorf("Close with uncommitted rows: %v, want an error counting them", err)
	}
	if err := s.Write(t.Context(), genBatch(0, 1)); !errors.Is(err, icesink.ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(t.Context()); !errors.Is(err, icesink.ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
	if n := snapshotCount(t, freshCatalog(t, dir), icesink.RawTrades); n != 0 {
		t.Errorf("raw_trades has %d snapshots after Close, want 0: Close must not commit", n)
	}
}
