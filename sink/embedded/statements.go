package embedded

import (
	"context"
	"database/sql"
	"fmt"
)

// statements are the store's prepared statements. database/sql prepares each on a connection the
// first time it runs there, and keeps it for the connection's life.
type statements struct {
	// alerts[i] answers a QueryAlerts with a type if i&1, with a symbol if i&2 (alertWheres[i]).
	// Every one binds ?1 since, ?2 now, ?3 limit, ?4 type, ?5 symbol, ?6 and ?7 Before's time
	// and id (noBefore and "" when there is none).
	alerts                      [4]*sql.Stmt
	volumesAll, volumesSymbol   *sql.Stmt
	spreadsAll, spreadsSymbol   *sql.Stmt
	symbols                     *sql.Stmt
	upsertAlert, deleteAlert    *sql.Stmt
	upsertVolume, deleteVolume  *sql.Stmt
	upsertSpread, deleteSpread  *sql.Stmt
	expireAlerts, expireVolumes *sql.Stmt
	expireSpreads               *sql.Stmt
}

// The expiry condition is written +ttl_epoch (and +expires_at) in queries: the unary plus keeps
// the planner, whatever statistics it has, from choosing the expiry index, which has no order a
// query can use, over the index that gives the rows in the order asked for (TestQueryPlans).
//
// Each shape names its index (INDEXED BY): with both a lower and an upper bound on detected_at the
// planner, without statistics, may otherwise pick a less selective one.
func alertQuery(where string) string {
	return `SELECT ` + alertColumns + ` FROM alerts INDEXED BY ` + alertIndexes[where] + `
	WHERE ` + where + `detected_at >= ?1 AND detected_at <= ?6 AND (detected_at < ?6 OR alert_id < ?7) AND +ttl_epoch > ?2
	ORDER BY detected_at DESC, alert_id DESC LIMIT ?3`
}

// alertWheres are the conditions of the four shapes of QueryAlerts, by the index of statements.alerts.
var alertWheres = [4]string{"", "alert_type = ?4 AND ", "symbol = ?5 AND ", "alert_type = ?4 AND symbol = ?5 AND "}

// alertIndexes is the index each shape walks, newest first.
var alertIndexes = map[string]string{alertWheres[0]: "alerts_by_time", alertWheres[1]: "alerts_by_type",
	alertWheres[2]: "alerts_by_symbol", alertWheres[3]: "alerts_by_type_symbol"}

// The aggregates' queries bind ?1 since, ?2 now and ?3 symbol.
const (
	volumesAllSQL = `SELECT ` + volumeColumns + ` FROM volume_aggregates
	WHERE window_start >= ?1 AND +expires_at > ?2 ORDER BY window_start, symbol, exchange`
	volumesSymbolSQL = `SELECT ` + volumeColumns + ` FROM volume_aggregates
	WHERE symbol = ?3 AND window_start >= ?1 AND +expires_at > ?2 ORDER BY window_start, exchange`
	spreadsAllSQL = `SELECT ` + spreadColumns + ` FROM exchange_spreads
	WHERE window_start >= ?1 AND +expires_at > ?2 ORDER BY window_start, symbol`
	spreadsSymbolSQL = `SELECT ` + spreadColumns + ` FROM exchange_spreads
	WHERE symbol = ?3 AND window_start >= ?1 AND +expires_at > ?2 ORDER BY window_start`
)

const (
	// symbolsQuery lists the symbols with a live record in any table. Each table's distinct
	// symbols are found by a skip scan of an index that begins with the symbol (the recursive
	// step seeks the next symbol after the last), so the cost grows with the number of symbols,
	// not of rows; each symbol is then kept if a live row has it, looked for newest first.
	symbolsQuery = `WITH RECURSIVE
	a(symbol) AS (SELECT (SELECT symbol FROM alerts ORDER BY symbol LIMIT 1)
		UNION ALL SELECT (SELECT symbol FROM alerts WHERE symbol > a.symbol ORDER BY symbol LIMIT 1) FROM a WHERE a.symbol IS NOT NULL),
	v(symbol) AS (SELECT (SELECT symbol FROM volume_aggregates ORDER BY symbol LIMIT 1)
		UNION ALL SELECT (SELECT symbol FROM volume_aggregates WHERE symbol > v.symbol ORDER BY symbol LIMIT 1) FROM v WHERE v.symbol IS NOT NULL),
	s(symbol) AS (SELECT (SELECT symbol FROM exchange_spreads ORDER BY symbol LIMIT 1)
		UNION ALL SELECT (SELECT symbol FROM exchange_spreads WHERE symbol > s.symbol ORDER BY symbol LIMIT 1) FROM s WHERE s.symbol IS NOT NULL)
SELECT symbol FROM a WHERE symbol IS NOT NULL AND EXISTS (SELECT 1 FROM alerts x
	WHERE x.symbol = a.symbol AND +x.ttl_epoch > ?1 ORDER BY x.detected_at DESC LIMIT 1)
UNION SELECT symbol FROM v WHERE symbol IS NOT NULL AND EXISTS (SELECT 1 FROM volume_aggregates x
	WHERE x.symbol = v.symbol AND +x.expires_at > ?1 ORDER BY x.window_start DESC LIMIT 1)
UNION SELECT symbol FROM s WHERE symbol IS NOT NULL AND EXISTS (SELECT 1 FROM exchange_spreads x
	WHERE x.symbol = s.symbol AND +x.expires_at > ?1 ORDER BY x.window_start DESC LIMIT 1)
ORDER BY 1`

	// An alert replaces the stored version unless that one was emitted later: a reprocessing run
	// (later emitted_at) wins over the live run, and a replay of the same input (the same
	// emitted_at) rewrites what it wrote.
	upsertAlertSQL = `INSERT INTO alerts (` + alertColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (alert_id) DO UPDATE SET alert_type = excluded.alert_type, symbol = excluded.symbol,
		exchange = excluded.exchange, severity = excluded.severity, z_score = excluded.z_score,
		threshold_value = excluded.threshold_value, actual_value = excluded.actual_value,
		window_start = excluded.window_start, detected_at = excluded.detected_at, message = excluded.message,
		ttl_epoch = excluded.ttl_epoch, emitted_at = excluded.emitted_at
	WHERE excluded.emitted_at >= alerts.emitted_at`
	// An expired version removes the stored one on the same terms.
	deleteAlertSQL = `DELETE FROM alerts WHERE alert_id = ?1 AND emitted_at <= ?2`

	upsertVolumeSQL = `INSERT INTO volume_aggregates (` + volumeColumns + `, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (symbol, window_start, exchange) DO UPDATE SET window_end = excluded.window_end,
		trade_count = excluded.trade_count, total_volume = excluded.total_volume, avg_price = excluded.avg_price,
		max_price = excluded.max_price, min_price = excluded.min_price, buy_volume = excluded.buy_volume,
		sell_volume = excluded.sell_volume, expires_at = excluded.expires_at`
	deleteVolumeSQL = `DELETE FROM volume_aggregates WHERE symbol = ?1 AND window_start = ?2 AND exchange = ?3`

	upsertSpreadSQL = `INSERT INTO exchange_spreads (` + spreadColumns + `, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (symbol, window_start) DO UPDATE SET window_end = excluded.window_end,
		binance_vwap = excluded.binance_vwap, coinbase_vwap = excluded.coinbase_vwap,
		spread_pct = excluded.spread_pct, expires_at = excluded.expires_at`
	deleteSpreadSQL = `DELETE FROM exchange_spreads WHERE symbol = ?1 AND window_start = ?2`

	// The janitor's, binding ?1 now.
	expireAlertsSQL  = `DELETE FROM alerts WHERE ttl_epoch <= ?1`
	expireVolumesSQL = `DELETE FROM volume_aggregates WHERE expires_at <= ?1`
	expireSpreadsSQL = `DELETE FROM exchange_spreads WHERE expires_at <= ?1`
)

func (st *statements) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		if s, err = db.PrepareContext(ctx, q); err != nil {
			err = fmt.Errorf("prepare %.40q…: %w", q, err)
		}
		return s
	}
	for i := range st.alerts {
		st.alerts[i] = prep(alertQuery(alertWheres[i]))
	}
	st.volumesAll, st.volumesSymbol = prep(volumesAllSQL), prep(volumesSymbolSQL)
	st.spreadsAll, st.spreadsSymbol = prep(spreadsAllSQL), prep(spreadsSymbolSQL)
	st.symbols = prep(symbolsQuery)
	st.upsertAlert, st.deleteAlert = prep(upsertAlertSQL), prep(deleteAlertSQL)
	st.upsertVolume, st.deleteVolume = prep(upsertVolumeSQL), prep(deleteVolumeSQL)
	st.upsertSpread, st.deleteSpread = prep(upsertSpreadSQL), prep(deleteSpreadSQL)
	st.expireAlerts, st.expireVolumes, st.expireSpreads = prep(expireAlertsSQL), prep(expireVolumesSQL), prep(expireSpreadsSQL)
	return err
}

func (st *statements) close() {
	for _, s := range st.all() {
		if s != nil {
			s.Close()
		}
	}
}

func (st *statements) all() []*sql.Stmt {
	return append(st.alerts[:], st.volumesAll, st.volumesSymbol, st.spreadsAll, st.spreadsSymbol, st.symbols,
		st.upsertAlert, st.deleteAlert, st.upsertVolume, st.deleteVolume, st.upsertSpread, st.deleteSpread,
		st.expireAlerts, st.expireVolumes, st.expireSpreads)
}

// txStatements runs prepared statements in a transaction, binding each to it once.
type txStatements struct {
	ctx   context.Context
	tx    *sql.Tx
	bound [6]struct{ stmt, txStmt *sql.Stmt }
}

// exec runs stmt in the transaction.
func (w *txStatements) exec(stmt *sql.Stmt, args ...any) error {
	_, err := w.execN(stmt, args...)
	return err
}

// execN runs stmt in the transaction and returns the number of rows it changed.
func (w *txStatements) execN(stmt *sql.Stmt, args ...any) (int64, error) {
	var ts *sql.Stmt
	for i := range w.bound {
		b := &w.bound[i]
		if b.stmt == stmt {
			ts = b.txStmt
			break
		}
		if b.stmt == nil {
			b.stmt, b.txStmt = stmt, w.tx.StmtContext(w.ctx, stmt)
			ts = b.txStmt
			break
		}
	}
	if ts == nil { // more distinct statements than slots
		ts = w.tx.StmtContext(w.ctx, stmt)
	}
	r, err := ts.ExecContext(w.ctx, args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
