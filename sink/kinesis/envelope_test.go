package kinesis_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/coattailcapital/ctc/sink/kinesis"
)

func TestEnvelopeJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  kinesis.Envelope
		want string
	}{
		{"json", kinesis.Envelope{Reason: "invalid", ErrorMessage: "price must be > 0", Stream: "s", Position: "f:3", Data: []byte(`{"price": -1}`)},
			`{"reason":"invalid","error_message":"price must be \u003e 0","stream":"s","position":"f:3","data_bytes":13,"data":{"price": -1}}`},
		{"text", kinesis.Envelope{Reason: "malformed", Stream: "s", Data: []byte("not \"json\"\n")},
			`{"reason":"malformed","stream":"s","data_bytes":11,"data":"not \"json\"\n"}`},
		{"binary", kinesis.Envelope{Reason: "malformed", Stream: "s", Data: []byte{0xff, 0x00}},
			`{"reason":"malformed","stream":"s","data_bytes":2,"data_base64":"/wA="}`},
		{"empty", kinesis.Envelope{Reason: "malformed", Stream: "s"},
			`{"reason":"malformed","stream":"s","data_bytes":0,"data":""}`},
	} {
		got := string(tc.env.AppendJSON(nil))
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("%s: not valid JSON", tc.name)
		}
	}
}

// However large and whatever its bytes, a record's envelope fits in a record.
func TestEnvelopeTruncation(t *testing.T) {
	t.Parallel()
	for _, data := range [][]byte{
		[]byte(strings.Repeat("é\"<", 1<<19)),
		[]byte(strings.Repeat("\x00\xff", 1<<20)),
		[]byte(`{"a":"` + strings.Repeat("x", 2<<20) + `"}`),
	} {
		e := kinesis.Envelope{Reason: kinesis.ReasonTooLarge, Stream: "s", Data: data}
		b := kinesis.AppendEnvelopeLimited(&e, 1<<20)
		if len(b) > 1<<20 {
			t.Errorf("envelope of %d bytes exceeds 1 MiB", len(b))
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("envelope is not JSON: %v", err)
		}
		if m["truncated"] != true || m["data_bytes"] != float64(len(data)) {
			t.Errorf("truncated = %v, data_bytes = %v", m["truncated"], m["data_bytes"])
		}
	}
}
