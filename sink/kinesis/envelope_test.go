package kinesis_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/sink/kinesis"
)

func TestEnvelopeJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  kinesis.Envelope
		want string
	}{
		{"json", kinesis.Envelope{Reason: "invalid", ErrorMessage: "price must be > 0", Stream: "s", Position: ctc.Position{Partition: "f", Offset: 3}, Data: []byte(`{"price": -1}`)},
			`{"reason":"invalid","error_message":"price must be \u003e 0","stream":"s","partition":"f","offset":3,"data_bytes":13,"data":{"price": -1}}`},
		{"json scalar is text", kinesis.Envelope{Reason: "malformed", Stream: "s", Data: []byte(`"abc"`)},
			`{"reason":"malformed","stream":"s","data_bytes":5,"data":"\"abc\""}`},
		{"json with whitespace is text", kinesis.Envelope{Reason: "malformed", Stream: "s", Data: []byte(` {} `)},
			`{"reason":"malformed","stream":"s","data_bytes":4,"data":" {} "}`},
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
		back, err := kinesis.ParseEnvelope([]byte(got))
		want := tc.env
		want.DataBytes = len(want.Data)
		if want.Data == nil {
			want.Data = []byte{}
		}
		if err != nil || !reflect.DeepEqual(back, want) {
			t.Errorf("%s: ParseEnvelope = %+v, %v; want %+v", tc.name, back, err, want)
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
		back, err := kinesis.ParseEnvelope(b)
		if err != nil || !back.Truncated || back.DataBytes != len(data) || len(back.Data) == 0 || !bytes.HasPrefix(data, back.Data) {
			t.Errorf("ParseEnvelope of a truncated envelope: %v, truncated %v, %d of %d bytes, prefix %v",
				err, back.Truncated, len(back.Data), back.DataBytes, bytes.HasPrefix(data, back.Data))
		}
	}
}

func TestParseEnvelopeRefuses(t *testing.T) {
	t.Parallel()
	for _, b := range []string{``, `[]`, `{}`, `{"reason":"x"}`, `{"reason":"x","data_bytes":1,"data_base64":"!!"}`, `{"reason":1,"data_bytes":1}`} {
		if _, err := kinesis.ParseEnvelope([]byte(b)); err == nil {
			t.Errorf("ParseEnvelope(%s) succeeded", b)
		}
	}
}

// FuzzEnvelope: any record round-trips through its envelope, and ParseEnvelope never panics on
// arbitrary bytes.
func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1, 2]`, `"x"`, " {} ", "\xff\x00", "", "héllo\u2028", `{"reason":"x","data_bytes":0}`} {
		f.Add([]byte(s), "malformed", "detail <&>", int64(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, reason, msg string, off int64) {
		_, _ = kinesis.ParseEnvelope(data)
		e := kinesis.Envelope{Reason: reason, ErrorMessage: msg, Stream: "s", Position: ctc.Position{Partition: "p", Offset: off}, Data: data}
		b := e.AppendJSON(nil)
		if !json.Valid(b) {
			t.Fatalf("envelope is not JSON: %q", b)
		}
		back, err := kinesis.ParseEnvelope(b)
		if err != nil {
			t.Fatalf("ParseEnvelope(%q): %v", b, err)
		}
		if !bytes.Equal(back.Data, data) || back.DataBytes != len(data) || back.Position != e.Position {
			t.Fatalf("round trip of %q gave %q (%d bytes, %v)", data, back.Data, back.DataBytes, back.Position)
		}
		if utf8.ValidString(reason) && back.Reason != reason {
			t.Fatalf("reason %q came back %q", reason, back.Reason)
		}
	})
}
