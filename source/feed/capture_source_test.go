package feed_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/feed"
)

// decodeQty is a toy exchange: a frame "n" holds n trades, "x" is malformed, "-" holds none.
func decodeQty(frame []byte, out []ctc.Trade) ([]ctc.Trade, error) {
	switch s := string(frame); s {
	case "x":
		return out, errors.New("malformed")
	case "-":
		return out, nil
	default:
		n, _ := strconv.Atoi(s)
		for i := range n {
			out = append(out, ctc.Trade{Symbol: "S", Quantity: float64(i + 1)})
		}
		return out, nil
	}
}

func TestCaptureSourceReplaysThroughTheDecoder(t *testing.T) {
	var buf bytes.Buffer
	w := feed.NewCaptureWriter(&buf)
	at := time.Date(2024, 1, 15, 10, 0, 0, 0, time.UTC)
	for i, f := range []string{"2", "-", "x", "1"} {
		w.Write(at.Add(time.Duration(i)*time.Second), []byte(f))
	}
	w.Flush()
	src := feed.NewCaptureSource(strings.NewReader(buf.String()), decodeQty, "cap")
	var got []string
	var rec ctc.Record
	for {
		err := src.Next(context.Background(), &rec)
		if errors.Is(err, ctc.ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Err != nil {
			got = append(got, "err@"+strconv.FormatInt(rec.Position.Offset, 10))
			continue
		}
		got = append(got, strconv.FormatFloat(rec.Trade.Quantity, 'f', -1, 64)+"@"+strconv.FormatInt(rec.Position.Offset, 10)+
			"/"+rec.Trade.IngestionTimestamp.Format("05"))
	}
	want := "1@1/00 2@2/00 err@3 1@4/03"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %q, want %q", strings.Join(got, " "), want)
	}
}
