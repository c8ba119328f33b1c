package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/iceberg/maintain"
)

// lake commits n checkpoints of one trade each to a warehouse in dir.
func lake(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	s, err := iceberg.Open(ctx, iceberg.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	day := time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)
	for seq := int64(1); seq <= int64(n); seq++ {
		tr := ctc.Trade{EventID: uuid.New(), Exchange: ctc.Binance, Symbol: "BTC-USDT", Price: 100, Quantity: 1, QuoteVolume: 100,
			Side: ctc.Sell, Timestamp: day.Add(time.Duration(seq) * time.Second)}
		if err := s.Write(ctx, &ctc.Batch{Trades: []ctc.Trade{tr}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Commit(ctx, ctc.Checkpoint{PipelineID: "live", Seq: seq}); err != nil {
			t.Fatal(err)
		}
	}
}

func maintainCmd(args ...string) (int, string, string) {
	var o, e bytes.Buffer
	code := run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestMaintain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lake(t, dir, 6)
	code, out, errs := maintainCmd("-warehouse", dir, "-min-input-files", "2", "-tables", "raw_trades,whale_trades")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "raw_trades") || !strings.Contains(out, "6 → 1") || strings.Contains(out, "anomaly_alerts") {
		t.Fatalf("report:\n%s", out)
	}
}

// A moved warehouse does not open, says how to fix it, and opens with -relocate-from.
func TestRelocateFrom(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	from, to := filepath.Join(base, "a"), filepath.Join(base, "b")
	lake(t, from, 3)
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
	code, _, errs := maintainCmd("-warehouse", to)
	if code != 1 || !strings.Contains(errs, "-relocate-from") {
		t.Fatalf("a moved warehouse: exit %d: %s", code, errs)
	}
	code, out, errs := maintainCmd("-warehouse", to, "-relocate-from", from, "-json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	line, rest, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(line, "relocated 6 tables from file://") {
		t.Fatalf("first line %q", line)
	}
	var rep maintain.Report
	if err := json.Unmarshal([]byte(rest), &rep); err != nil || len(rep.Tables) != 6 {
		t.Fatalf("report %s: %v", rest, err)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-warehouse is required"},
		{[]string{"-warehouse", filepath.Join(dir, "none")}, "-warehouse:"},
		{[]string{"-warehouse", dir, "-orphan-age", "5m"}, "orphan age must be at least 1h"},
		{[]string{"-warehouse", dir, "-tables", "raw_trades,trades"}, `table "trades" is not one of`},
		{[]string{"-warehouse", dir, "extra"}, "unexpected argument"},
	} {
		if code, _, errs := maintainCmd(tc.args...); code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tc.args, code, errs, tc.want)
		}
	}
}
