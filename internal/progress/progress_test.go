package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

// Not a terminal: a plain line per label change and at most one per interval, and a last one.
func TestPlainLines(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	b := New(&out, "loader", "trades", WithClock(func() time.Time { return now }), WithEvery(5*time.Second))
	if b.tty {
		t.Fatal("a buffer is not a terminal")
	}
	for i := range 100 {
		b.Update("BTC-USDT", float64(i)/100, int64(i*10))
		now = now.Add(100 * time.Millisecond) // 10 s in all: two more lines after the first
	}
	b.Update("ETH-USDT", -1, 5)
	b.Done()
	want := "loader: BTC-USDT   0.0% 0 trades\n" +
		"loader: BTC-USDT  50.0% 500 trades\n" + // 5 s later
		"loader: BTC-USDT  99.0% 990 trades\n" + // its end, as ETH starts (10 s had not passed)
		"loader: ETH-USDT 5 trades\n" +
		"loader: ETH-USDT 5 trades\n" // Done
	if out.String() != want {
		t.Fatalf("got:\n%swant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("carriage returns in plain output")
	}
}

// A terminal: one line redrawn in place, ended by Done.
func TestTerminalBar(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, "reprocess", "trades", WithTerminal(true))
	b.Update("detect", 0.5, 50)
	b.Update("detect", 1, 100)
	b.Done()
	s := out.String()
	if strings.Count(s, "\r\033[K") != 2 || !strings.HasSuffix(s, "\n") || !strings.Contains(s, "100.0% 100 trades") ||
		!strings.Contains(s, "["+strings.Repeat("█", 15)+strings.Repeat("·", 15)+"]") {
		t.Errorf("%q", s)
	}
}

// /dev/null is a character device but no terminal: the old os.ModeCharDevice test got it wrong.
func TestDevNullIsNotATerminal(t *testing.T) {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	if fi, _ := f.Stat(); fi.Mode()&os.ModeCharDevice == 0 {
		t.Skip("/dev/null is not a character device here")
	}
	if IsTerminal(f) {
		t.Error("/dev/null taken for a terminal")
	}
}
