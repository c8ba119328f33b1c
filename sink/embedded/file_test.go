package embedded_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/embedded"
)

// sqliteFile returns the bytes of an SQLite database made by stmts.
func sqliteFile(t *testing.T, stmts ...string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A file at the path that is not an alert store of this version gets an error that says what it
// is and what to do, and is left as it was: no panic, no overwrite.
func TestOpenRefusesOtherFiles(t *testing.T) {
	t.Parallel()
	// A store of the format before SQLite: its magic, then a frame (length, CRC-32C, kind 1).
	oldStore := []byte("CTCHOT\x00\x01\x05\x00\x00\x00\x9a\x4b\x11\x7e\x01abcd")
	garbage := make([]byte, 4096)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range garbage {
		garbage[i] = byte(r.Uint32())
	}
	newer := filepath.Join(t.TempDir(), "newer.db")
	s, err := embedded.Open(newer, embedded.WithJanitorInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	s.Close(t.Context())
	db, err := sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	newerBytes, err := os.ReadFile(newer)
	if err != nil {
		t.Fatal(err)
	}

	for name, tc := range map[string]struct {
		content []byte
		want    []string
	}{
		"old format":            {oldStore, []string{"format before SQLite", "delete it", "warehouse keeps every alert", "move it aside"}},
		"old format, 8 bytes":   {oldStore[:8], []string{"format before SQLite"}},
		"old format, cut short": {oldStore[:3], []string{"format before SQLite"}},
		"random bytes":          {garbage, []string{"not an SQLite database", "move it aside"}},
		"text":                  {[]byte("hello, world\n"), []string{`not an SQLite database (it begins "hello, world\n`}},
		"SQLite header cut":     {[]byte("SQLite format 3\x00\x10\x00"), []string{"not an alert store", "move it aside"}},
		"another SQLite database": {sqliteFile(t, "CREATE TABLE notes (body TEXT)", "INSERT INTO notes VALUES ('x')"),
			[]string{"SQLite database but not an alert store", "1 schema objects"}},
		"newer schema": {newerBytes, []string{"schema version 99, newer than this version of ctc reads (1)"}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "alerts.db")
			if err := os.WriteFile(path, tc.content, 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := embedded.Open(path)
			if err == nil {
				s.Close(context.Background())
				t.Fatal("Open succeeded")
			}
			_, rerr := embedded.ReadFile(path)
			for fn, err := range map[string]error{"Open": err, "ReadFile": rerr} {
				if !errors.Is(err, embedded.ErrNotStore) || !strings.Contains(err.Error(), path) {
					t.Errorf("%s: %v; want ErrNotStore naming the file", fn, err)
				}
				for _, w := range tc.want {
					if err != nil && !strings.Contains(err.Error(), w) {
						t.Errorf("%s: %q does not say %q", fn, err, w)
					}
				}
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, tc.content) {
				t.Error("the file was changed")
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
				t.Errorf("files left beside it: %v", entries)
			}
		})
	}
}

// An empty file, or an SQLite database with nothing in it, becomes a store; a missing file too.
func TestOpenEmpty(t *testing.T) {
	t.Parallel()
	for name, content := range map[string][]byte{
		"missing":               nil,
		"empty file":            {},
		"empty SQLite database": sqliteFile(t, "VACUUM"),
	} {
		path := filepath.Join(t.TempDir(), "alerts.db")
		if content != nil {
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := embedded.ReadFile(path); err != nil || len(out.Alerts) != 0 {
				t.Errorf("%s: ReadFile: %v, %v", name, out, err)
			}
		}
		c := newClock(testNow)
		s := mustOpen(t, path, c)
		mustWrite(t, s, batchOf(genAlerts(5, 2, testNow, time.Hour)...))
		mustClose(t, s)
		s = mustOpen(t, path, c)
		if st := s.Stats(); st.Alerts != 2 || st.Err != nil {
			t.Errorf("%s: after a write and a reopen: %+v, want 2 alerts", name, st)
		}
	}
	if _, err := embedded.ReadFile(filepath.Join(t.TempDir(), "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
}

// The sqlite3 shell reads the store while a Store has it open: the file is a plain SQLite
// database in WAL mode, with the schema the package documentation shows.
func TestSQLite3Shell(t *testing.T) {
	t.Parallel()
	shell, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("no sqlite3 shell in PATH")
	}
	c := newClock(testNow)
	path := filepath.Join(t.TempDir(), "alerts.db")
	s := mustOpen(t, path, c)
	a := genAlerts(21, 1, testNow, time.Minute)[0]
	a.Symbol, a.AlertType, a.Severity = "BTC-USDT", ctc.Whale, ctc.Critical
	mustWrite(t, s, &ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{a}, Volumes: []ctc.VolumeWindow{vol("ETH-USDT", ctc.Binance, testNow, 1.5e6)}}})
	out, err := exec.Command(shell, "-readonly", path, `PRAGMA journal_mode;
		SELECT alert_id, alert_type, symbol, severity, detected_at FROM alerts;
		SELECT symbol, total_volume, datetime(expires_at, 'unixepoch') FROM volume_aggregates;`).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3: %v\n%s", err, out)
	}
	want := "wal\n" + a.AlertID.String() + "|whale|BTC-USDT|4|" + a.DetectedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") + "\n" +
		"ETH-USDT|1500000.0|2024-03-13 15:01:00\n"
	if string(out) != want {
		t.Errorf("sqlite3 printed\n%s\nwant\n%s", out, want)
	}
}
