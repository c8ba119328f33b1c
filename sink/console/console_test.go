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

// Dead letters are printed only with DeadLetters.
func TestDeadLetters(t *testing.T) {
	b := &ctc.Batch{DeadLetters: []ctc.DeadLetter{{Reason: ctc.Malformed, Detail: "line 2: want 8\nfields", Position: ctc.Position{Partition: "f.csv", Offset: 2}}}}
	var quiet, loud bytes.Buffer
	if err := console.New(&quiet).Write(context.Background(), b); err != nil || quiet.Len() != 0 {
		t.Fatalf("without DeadLetters: %q %v", quiet.String(), err)
	}
	if err := console.New(&loud, console.DeadLetters()).Write(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if want := "dead letter (malformed) at f.csv:2: line 2: want 8 fields\n"; loud.String() != want {
		t.Fatalf("got %q, want %q", loud.String(), want)
	}
}
