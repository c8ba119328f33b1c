package kinesis

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/coattailcapital/ctc"
)

// Envelope is a record on the DLQ stream: why a record did not make it onto the trade stream, and
// the record itself. Its JSON form is
//
//	{"reason":"retries_exhausted","error_code":"ProvisionedThroughputExceededException",
//	 "error_message":"...","stream":"coattail-trades","partition_key":"BTC","position":"...",
//	 "data_bytes":173,"data":{...the original record...}}
//
// "data" is the original record itself when it is JSON, a JSON string of it when it is other UTF-8
// text, and absent in favour of "data_base64" otherwise. A record so large that the envelope would
// exceed the stream's maximum record size keeps only a prefix, as a string, with "truncated":true;
// data_bytes always says how long the original was. Empty members are left out.
type Envelope struct {
	// Reason is a quality reason (malformed, incomplete, invalid) or one of the producer's
	// (ReasonTooLarge, ReasonBadKey, ReasonRejected, ReasonRetriesExhausted).
	Reason string `json:"reason"`
	// ErrorCode and ErrorMessage are Kinesis's last answer for the record, or the quality chain's
	// detail in ErrorMessage.
	ErrorCode    string `json:"error_code,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	// Stream is the stream the record was meant for.
	Stream       string `json:"stream"`
	PartitionKey string `json:"partition_key,omitempty"`
	// Position is where a quality dead letter was read (ctc.Position's partition:offset).
	Position string `json:"position,omitempty"`
	// Data is the original record.
	Data []byte `json:"-"`
}

// envelopeSlack is room for the envelope's own members, so that one holding a prefix of an
// oversized record still fits in a record.
const envelopeSlack = 4 << 10

// AppendJSON appends the envelope's JSON object, with Data in full.
func (e *Envelope) AppendJSON(b []byte) []byte { return e.appendJSON(b, 0) }

// MarshalJSON implements json.Marshaler.
func (e Envelope) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// appendJSON appends the envelope, keeping it within limit bytes (0: no limit) by truncating Data.
func (e *Envelope) appendJSON(b []byte, limit int) []byte {
	b = append(b, `{"reason":`...)
	b = ctc.AppendJSONString(b, e.Reason)
	str := func(k, v string) {
		if v != "" {
			b = append(b, ',', '"')
			b = append(b, k...)
			b = append(b, '"', ':')
			b = ctc.AppendJSONString(b, v)
		}
	}
	str("error_code", e.ErrorCode)
	msg := e.ErrorMessage
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	str("error_message", msg)
	str("stream", e.Stream)
	str("partition_key", e.PartitionKey)
	str("position", e.Position)
	b = append(b, `,"data_bytes":`...)
	b = strconv.AppendInt(b, int64(len(e.Data)), 10)
	data := e.Data
	// Escaping can at most sextuple text, base64 adds a third: bound the worst case.
	if limit > 0 && 6*len(data)+len(b)+envelopeSlack > limit {
		keep := (limit - len(b) - envelopeSlack) / 6
		if keep < 0 {
			keep = 0
		}
		if keep < len(data) {
			b = append(b, `,"truncated":true`...)
			data = data[:keep]
			for len(data) > 0 && !utf8.Valid(data) && len(data) > keep-utf8.UTFMax {
				data = data[:len(data)-1]
			}
			// A prefix is never valid JSON worth embedding; keep it as text.
			return append(appendText(b, data), '}')
		}
	}
	switch {
	case len(data) > 0 && json.Valid(data):
		b = append(b, `,"data":`...)
		b = append(b, data...)
	default:
		b = appendText(b, data)
	}
	return append(b, '}')
}

func appendText(b, data []byte) []byte {
	if utf8.Valid(data) {
		b = append(b, `,"data":`...)
		return ctc.AppendJSONString(b, string(data))
	}
	b = append(b, `,"data_base64":"`...)
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}
