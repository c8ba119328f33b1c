package embedded

import (
	"context"
	"fmt"
	"os"

	"github.com/coattailcapital/ctc"
)

// ReadFile returns what the store file at path holds: every alert, volume window and spread
// window, expired or not (the file has no clock), alerts in the order of DetectedAt and AlertID,
// windows in the order of WindowStart, symbol and exchange. It changes nothing the file holds
// (its connection is query-only, though closing it may checkpoint a WAL a crashed Store left),
// and works while Stores have it open, reading what they have committed. It is for inspection,
// export and tests, not for queries; an error wraps ErrNotStore as Open's does.
func ReadFile(path string) (*ctc.Output, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	db, err := openDB(path, true)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx := context.Background()
	if fresh, err := checkSchema(ctx, db, path); err != nil || fresh {
		return &ctc.Output{}, err
	}
	// One transaction, so that the three tables are read at one moment.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, sqliteError(path, err)
	}
	defer tx.Rollback()
	out := &ctc.Output{}
	rows, err := tx.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts ORDER BY detected_at, alert_id`)
	if err == nil {
		out.Alerts, err = collect(rows, newAlertScanner().scan)
	}
	if err == nil {
		rows, err = tx.QueryContext(ctx, `SELECT `+volumeColumns+` FROM volume_aggregates ORDER BY window_start, symbol, exchange`)
	}
	if err == nil {
		out.Volumes, err = collect(rows, scanVolume)
	}
	if err == nil {
		rows, err = tx.QueryContext(ctx, `SELECT `+spreadColumns+` FROM exchange_spreads ORDER BY window_start, symbol`)
	}
	if err == nil {
		out.Spreads, err = collect(rows, scanSpread)
	}
	if err != nil {
		return nil, sqliteError(path, err)
	}
	return out, nil
}
