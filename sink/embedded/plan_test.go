package embedded

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// Every query walks an index in the order it returns rows, and every delete finds its rows by an
// index: no scan of a table, no sort. (The upserts' conflict targets are the unique indexes by
// construction.) The plans are SQLite's own (EXPLAIN QUERY PLAN), on an
// empty store, where the planner has no statistics to lean on.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	s, err := Open(filepath.Join(t.TempDir(), "alerts.db"), WithJanitorInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	alertArgs := []any{"", int64(0), int64(50), "whale", "BTC-USDT", noBefore, ""} // since, now, limit, type, symbol, before
	seriesArgs := []any{"", int64(0), "BTC-USDT"}                                  // since, now, symbol
	queries := map[string]struct {
		sql, index string
		args       []any
	}{
		"QueryAlerts all":             {alertQuery(alertWheres[0]), "alerts_by_time", alertArgs},
		"QueryAlerts type":            {alertQuery(alertWheres[1]), "alerts_by_type", alertArgs},
		"QueryAlerts symbol":          {alertQuery(alertWheres[2]), "alerts_by_symbol", alertArgs},
		"QueryAlerts type and symbol": {alertQuery(alertWheres[3]), "alerts_by_type_symbol", alertArgs},
		"Volumes all":                 {volumesAllSQL, "volume_aggregates_by_time", seriesArgs},
		"Volumes symbol":              {volumesSymbolSQL, "sqlite_autoindex_volume_aggregates_1", seriesArgs},
		"Spreads all":                 {spreadsAllSQL, "exchange_spreads_by_time", seriesArgs},
		"Spreads symbol":              {spreadsSymbolSQL, "sqlite_autoindex_exchange_spreads_1", seriesArgs},
		"delete alert":                {deleteAlertSQL, "sqlite_autoindex_alerts_1", []any{"id", ""}},
		"delete volume":               {deleteVolumeSQL, "sqlite_autoindex_volume_aggregates_1", []any{"BTC-USDT", "", "binance"}},
		"delete spread":               {deleteSpreadSQL, "sqlite_autoindex_exchange_spreads_1", []any{"BTC", ""}},
		"expire alerts":               {expireAlertsSQL, "alerts_by_expiry", []any{int64(0)}},
		"expire volumes":              {expireVolumesSQL, "volume_aggregates_by_expiry", []any{int64(0)}},
		"expire spreads":              {expireSpreadsSQL, "exchange_spreads_by_expiry", []any{int64(0)}},
	}
	for name, q := range queries {
		plan := explain(t, s, q.sql, q.args)
		if !strings.Contains(plan, "USING INDEX "+q.index+" ") && !strings.Contains(plan, "USING COVERING INDEX "+q.index+" ") {
			t.Errorf("%s does not use %s:\n%s", name, q.index, plan)
		}
		if strings.Contains(plan, "SCAN ") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s scans or sorts:\n%s", name, plan)
		}
	}
	// Symbols seeks from symbol to symbol and sorts only the few it found.
	plan := explain(t, s, symbolsQuery, []any{int64(0)})
	for _, table := range []string{"alerts", "volume_aggregates", "exchange_spreads"} {
		if strings.Contains(plan, "SCAN "+table+" ") && !strings.Contains(plan, "SCAN "+table+" USING COVERING INDEX") {
			t.Errorf("Symbols scans %s:\n%s", table, plan)
		}
	}
}

func explain(t *testing.T, s *Store, query string, args []any) string {
	t.Helper()
	rows, err := s.db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, query)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}
