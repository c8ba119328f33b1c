package feed_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc/source/feed"
)

func TestBackoff(t *testing.T) {
	b := feed.Backoff{Initial: time.Second, Max: 10 * time.Second, Rand: func() float64 { return 1 }}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	for n, w := range want {
		if got := b.Delay(n); got != w {
			t.Errorf("Delay(%d) = %v, want %v", n, got, w)
		}
	}
	b.Rand = func() float64 { return 0 }
	if got := b.Delay(1); got != time.Second {
		t.Errorf("jitter floor: Delay(1) = %v, want 1s (half of 2s)", got)
	}
	if got := (feed.Backoff{Rand: func() float64 { return 1 }}).Delay(1000); got != 30*time.Second {
		t.Errorf("default cap: %v", got)
	}
}

func TestCaptureRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := feed.NewCaptureWriter(&buf)
	at := time.Date(2021, 10, 12, 0, 28, 43, 957215000, time.UTC)
	frames := []string{`{"a":1}`, `{"b":2}`}
	for i, f := range frames {
		if err := w.Write(at.Add(time.Duration(i)*time.Millisecond), []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(at, []byte("a\nb")); err == nil {
		t.Fatal("a frame with a newline must be refused")
	}
	w.Flush()
	r := feed.NewCaptureReader(strings.NewReader("wss://x <-> 1633998511.159679\nwss://x <- 1633998511.2: {\"sub\":1}\n" + buf.String()))
	for i, f := range frames {
		recv, frame, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if string(frame) != f || !recv.Equal(at.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("frame %d: %s at %v", i, frame, recv)
		}
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

// The real cryptofeed captures in ../shared read as frames, connect and sent lines skipped.
func TestReadsRealCaptures(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "exchanges")
	for _, name := range []string{"cryptofeed_BINANCE.ws.1.0.raw", "cryptofeed_COINBASE.ws.28.0.raw"} {
		f, err := os.Open(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("%s is not here (../shared is absent outside the project's workspace)", name)
		}
		if err != nil {
			t.Fatal(err)
		}
		r := feed.NewCaptureReader(f)
		n := 0
		for {
			_, frame, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(frame) == 0 || frame[0] != '{' {
				t.Fatalf("%s: frame %d is not a JSON object: %.60s", name, n, frame)
			}
			n++
		}
		f.Close()
		if n < 200 {
			t.Fatalf("%s: only %d frames", name, n)
		}
	}
}
