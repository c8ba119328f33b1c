package ctc_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
)

func TestAppendTimeMatchesLayout(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ts := time.Unix(rapid.Int64Range(-62135596800, 253402300799).Draw(t, "sec"), rapid.Int64Range(0, 999999999).Draw(t, "ns"))
		if got, want := string(ctc.AppendTime(nil, ts)), ts.UTC().Format(ctc.TimeLayout); got != want {
			t.Fatalf("AppendTime(%v) = %s, want %s", ts, got, want)
		}
	})
}

func TestEventIDIsUUIDv5(t *testing.T) {
	got := ctc.NewEventIDInt("binance", "BTC-USDT", 12345)
	want := uuid.NewSHA1(ctc.Namespace, []byte("binance|BTC-USDT|12345"))
	if got != want || got != ctc.NewEventID("binance", "BTC-USDT", "12345") {
		t.Fatalf("event id %v is not the UUIDv5 of binance|BTC-USDT|12345", got)
	}
	if n := testing.AllocsPerRun(100, func() { ctc.NewEventIDInt("binance", "BTC-USDT", 12345) }); n != 0 {
		t.Fatalf("NewEventIDInt allocates %v times", n)
	}
}
