package console_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/console"
)

func TestWritePrintsOneLinePerAlert(t *testing.T) {
	var buf bytes.Buffer
	s := console.New(&buf)
	at := time.Date(2024, 1, 15, 10, 31, 0, 0, time.UTC)
	b := &ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{
		{AlertType: ctc.Whale, Severity: ctc.Critical, DetectedAt: at, Message: "BTC-USDT on binance: $1.52M buy"},
		{AlertType: ctc.Spread, Severity: ctc.Low, DetectedAt: at.Add(time.Second), Message: "two\nlines"},
	}}}
	if err := s.Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	want := "2024-01-15T10:31:00.000Z  CRITICAL  whale         BTC-USDT on binance: $1.52M buy\n" +
		"2024-01-15T10:31:01.000Z  LOW       spread        two lines\n"
	if got := buf.String(); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func Example() {
	s := console.New(os.Stdout)
	_ = s.Write(context.Background(), &ctc.Batch{Output: ctc.Output{Alerts: []ctc.Alert{{
		AlertType: ctc.Whale, Severity: ctc.High, DetectedAt: time.Date(2024, 1, 15, 10, 31, 0, 0, time.UTC),
		Message: "BTC-USDT on binance: $750.0k buy of 12.5 at 60000 (over $500.0k)",
	}}}})
	// Output:
	// 2024-01-15T10:31:00.000Z  HIGH      whale         BTC-USDT on binance: $750.0k buy of 12.5 at 60000 (over $500.0k)
}
