package ctc_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/quality"
)

// A dead letter keeps a bounded prefix of a hostile record and says how long it was; a long
// detail is cut.
func TestDeadLettersAreBounded(t *testing.T) {
	chain, err := quality.New(quality.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := ctc.NewProcessor(ctc.WithChecker(chain))
	if err != nil {
		t.Fatal(err)
	}
	huge := bytes.Repeat([]byte("z"), 10_000)
	pr.Process(&ctc.Record{Data: huge, Err: errors.New(strings.Repeat("é", 2000)), Position: ctc.Position{Partition: "f", Offset: 7}})
	pr.Process(&ctc.Record{Data: []byte("{bad"), Err: errors.New("short")})
	dl := pr.Pending().DeadLetters
	if len(dl) != 2 {
		t.Fatalf("%d dead letters", len(dl))
	}
	if len(dl[0].Data) != ctc.MaxDeadLetterData || !bytes.Equal(dl[0].Data, huge[:ctc.MaxDeadLetterData]) ||
		!strings.Contains(dl[0].Detail, "the record is 10000 bytes") || len(dl[0].Detail) > ctc.MaxDeadLetterDetail+200 ||
		!strings.HasPrefix(dl[0].Detail, "éé") || dl[0].Position.Offset != 7 {
		t.Fatalf("bounded dead letter: %d bytes of data, detail %.120q… (%d bytes)", len(dl[0].Data), dl[0].Detail, len(dl[0].Detail))
	}
	if string(dl[1].Data) != "{bad" || dl[1].Detail != "short" {
		t.Fatalf("a small dead letter changed: %+v", dl[1])
	}
}
