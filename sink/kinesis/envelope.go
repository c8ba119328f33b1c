package kinesis

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/coattailcapital/ctc"
)

// Envelope is a record on the DLQ stream: why a record did not make it onto the trade stream, and
// the record itself. Its JSON form is one object:
//
//	{"reason":"retries_exhausted","error_code":"ProvisionedThroughputExceededException",
//	 "error_message":"...","stream":"coattail-trades","partition_key":"BTC",
//	 "data_bytes":173,"data":{...the original record...}}
//
// with "partition" and "offset" (the source position) for a quality dead letter. "data" is the
// original record itself when it is a JSON object or array (the trade stream's records are), a
// JSON string of it when it is any other UTF-8 text, and "data_base64" replaces it for other
// bytes; so the original bytes always come back exactly (ParseEnvelope). A record so large that
// the envelope would exceed the stream's maximum record size keeps only a prefix, as text or
// base64, with "truncated":true; data_bytes always says how long the original was. Empty members
// are left out.
type Envelope struct {
	// Reason is a quality reason (malformed, incomplete, invalid) or one of the producer's
	// (ReasonTooLarge, ReasonBadKey, ReasonRejected, ReasonRetriesExhausted).
	Reason string
	// ErrorCode and ErrorMessage are Kinesis's last answer for the record; for a quality dead
	// letter ErrorMessage is the chain's detail.
	ErrorCode    string
	ErrorMessage string
	// Stream is the stream the record was meant for.
	Stream       string
	PartitionKey string
	// Position is where a quality dead letter was read; the zero value for the producer's own.
	Position ctc.Position
	// DataBytes is the length of the original record; Data holds it, or a prefix when Truncated.
	DataBytes int
	Truncated bool
	Data      []byte
}

// envelopeSlack is room for the envelope's own members, so that one holding a prefix of an
// oversized record still fits in a record.
const envelopeSlack = 4 << 10

// AppendJSON appends the envelope's JSON object, with Data in full. DataBytes and Truncated are
// written from Data, not from the fields.
func (e *Envelope) AppendJSON(b []byte) []byte { return e.appendJSON(b, 0) }

// MarshalJSON implements json.Marshaler.
func (e Envelope) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// appendJSON appends the envelope, keeping it within limit bytes (0: no limit) by truncating Data.
func (e *Envelope) appendJSON(b []byte, limit int) []byte {
	start := len(b)
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
	str("error_message", e.ErrorMessage)
	str("stream", e.Stream)
	str("partition_key", e.PartitionKey)
	if e.Position != (ctc.Position{}) {
		b = append(b, `,"partition":`...)
		b = ctc.AppendJSONString(b, e.Position.Partition)
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, e.Position.Offset, 10)
	}
	b = append(b, `,"data_bytes":`...)
	b = strconv.AppendInt(b, int64(len(e.Data)), 10)
	data := e.Data
	// Escaping can at most sextuple text (base64 adds a third): bound the worst case.
	if limit > 0 && 6*len(data)+(len(b)-start)+envelopeSlack > limit {
		keep := max((limit-(len(b)-start)-envelopeSlack)/6, 0)
		if keep < len(data) {
			b = append(b, `,"truncated":true`...)
			data = data[:keep]
			// Cut on a character boundary when the record is text.
			for i := 0; i < utf8.UTFMax && len(data) > 0 && !utf8.Valid(data); i++ {
				data = data[:len(data)-1]
			}
			return append(appendText(b, data), '}')
		}
	}
	if embeddable(data) {
		b = append(b, `,"data":`...)
		b = append(b, data...)
		return append(b, '}')
	}
	return append(appendText(b, data), '}')
}

// embeddable reports whether data can stand in the envelope as itself and come back byte for
// byte: a JSON object or array without surrounding whitespace.
func embeddable(data []byte) bool {
	if len(data) < 2 {
		return false
	}
	first, last := data[0], data[len(data)-1]
	return (first == '{' && last == '}' || first == '[' && last == ']') && json.Valid(data)
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

type envelopeJSON struct {
	Reason       *string         `json:"reason"`
	ErrorCode    string          `json:"error_code"`
	ErrorMessage string          `json:"error_message"`
	Stream       string          `json:"stream"`
	PartitionKey string          `json:"partition_key"`
	Partition    string          `json:"partition"`
	Offset       int64           `json:"offset"`
	DataBytes    *int            `json:"data_bytes"`
	Truncated    bool            `json:"truncated"`
	Data         json.RawMessage `json:"data"`
	DataBase64   *string         `json:"data_base64"`
}

// ParseEnvelope decodes a DLQ record written by a Producer, for a consumer of the DLQ stream (or a
// tool that re-drives it): Data comes back as the original bytes (or the prefix kept).
func ParseEnvelope(b []byte) (Envelope, error) {
	var v envelopeJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return Envelope{}, fmt.Errorf("kinesis: DLQ envelope: %w", err)
	}
	if v.Reason == nil || v.DataBytes == nil {
		return Envelope{}, errors.New("kinesis: DLQ envelope needs reason and data_bytes: is this a record of a ctc DLQ stream?")
	}
	e := Envelope{Reason: *v.Reason, ErrorCode: v.ErrorCode, ErrorMessage: v.ErrorMessage, Stream: v.Stream,
		PartitionKey: v.PartitionKey, Position: ctc.Position{Partition: v.Partition, Offset: v.Offset},
		DataBytes: *v.DataBytes, Truncated: v.Truncated}
	switch {
	case v.DataBase64 != nil:
		d, err := base64.StdEncoding.DecodeString(*v.DataBase64)
		if err != nil {
			return Envelope{}, fmt.Errorf("kinesis: DLQ envelope data_base64: %w", err)
		}
		e.Data = d
	case len(v.Data) > 0 && v.Data[0] == '"':
		var s string
		if err := json.Unmarshal(v.Data, &s); err != nil {
			return Envelope{}, fmt.Errorf("kinesis: DLQ envelope data: %w", err)
		}
		e.Data = []byte(s)
	case len(v.Data) > 0 && !bytes.Equal(v.Data, []byte("null")):
		e.Data = append([]byte(nil), v.Data...)
	}
	return e, nil
}
