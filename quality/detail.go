package quality

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Details are built only for records that fail, so they may allocate.

// err builds the *Error of a failed decode.
func (d *decoder) err(data []byte, r result) *Error {
	e := &Error{Reason: r.code.reason(), Detail: d.detail(data, r)}
	if r.field >= 0 {
		e.Field = fieldNames[r.field]
	}
	return e
}

func (d *decoder) detail(data []byte, r result) string {
	switch r.code {
	case rcMalformed:
		switch r.msg {
		case msgEmpty:
			return "the record is empty; expected a JSON object"
		case msgNotObject:
			return "the record must be a JSON object, got " + snippet(data[r.pos:])
		}
		s := fmt.Sprintf("malformed JSON at byte %d: %s", r.pos, messages[r.msg])
		if r.pos < len(data) {
			s += ", near " + snippet(data[r.pos:])
		}
		return s
	case rcIncomplete:
		var parts []string
		for _, f := range requiredFields {
			s := d.slots[f]
			switch d.st(f) {
			case stAbsent:
				parts = append(parts, fieldNames[f])
			case stNull:
				parts = append(parts, fieldNames[f]+" (null)")
			case stEmpty:
				switch {
				case s.end-s.start <= 2:
					parts = append(parts, fieldNames[f]+" (empty string)")
				case f == fEventID:
					parts = append(parts, fieldNames[f]+" (the nil UUID)")
				default:
					parts = append(parts, fieldNames[f]+" (the zero time)")
				}
			}
		}
		return missingDetail(parts)
	}
	return d.invalidDetail(data, r)
}

func missingDetail(parts []string) string {
	if len(parts) == 1 {
		return "missing field " + parts[0]
	}
	return "missing fields " + strings.Join(parts, ", ")
}

func (d *decoder) invalidDetail(data []byte, r result) string {
	f := int(r.field)
	if d.st(f) == stAbsent { // only side is invalid when absent; the slot is stale, do not read it
		return "side must be buy or sell, but the field is missing"
	}
	s := d.slots[f]
	name := fieldNames[f]
	raw := data[s.start:s.end]
	got := snippet(raw)
	switch f {
	case fPrice, fQuantity, fQuoteVolume:
		if r.msg == msgProduct {
			p, q := d.slots[fPrice], d.slots[fQuantity]
			return fmt.Sprintf("price × quantity must be a finite number > 0, got %s × %s",
				snippet(data[p.start:p.end]), snippet(data[q.start:q.end]))
		}
		switch s.kind {
		case kString:
			got += " (a string)"
		case kNumber:
			if v, _, _ := parseNumber(raw, 0); math.IsInf(v, 0) {
				got += " (out of range)"
			}
		}
		return fmt.Sprintf("%s must be a finite number > 0, got %s", name, got)
	case fEventID:
		return "event_id must be a UUID (8-4-4-4-12 hex digits, e.g. 6f1c7c52-0f5e-5d2c-9a57-0d8e5b7e1a11), got " + got
	case fTimestamp, fIngestion:
		if s.kind == kString {
			if _, ok := parseTime(unquote(nil, raw[1:len(raw)-1])); ok {
				got += " (outside years 0001 to 9999 in UTC)"
			}
		}
		if f == fTimestamp {
			return "timestamp must be RFC 3339 with a zone, got " + got
		}
		return "ingestion_timestamp must be RFC 3339 with a zone (or null), got " + got
	case fSide:
		return "side must be buy or sell, got " + got
	case fExchange, fSymbol:
		if d.st(f) == stBad {
			return name + " must be a string, got " + got
		}
		v := string(unquote(nil, raw[1:len(raw)-1]))
		if f == fExchange {
			return d.pol.exchangeDetail(v)
		}
		return d.pol.symbolDetail(v)
	}
	return name + " is invalid, got " + got
}

// snippet quotes at most 64 bytes of raw JSON for a detail, cut at a rune boundary.
func snippet(raw []byte) string {
	const max = 64
	if len(raw) <= max {
		return string(raw)
	}
	n := max
	for n > 0 && !utf8.RuneStart(raw[n]) {
		n--
	}
	return string(raw[:n]) + "…"
}

// fmtFloat writes a number of a decoded trade in a detail.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
