package ctc

import (
	"crypto/sha1"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Namespace is the UUIDv5 namespace of every ctc identifier: the UUIDv5 of the project's URL in
// the standard URL namespace.
var Namespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/coattailcapital/ctc"))

// NewEventID returns the deterministic id of a trade: the UUIDv5 of "exchange|symbol|tradeID" in
// Namespace. The same exchange trade always gets the same id, which is what lets dedup drop the
// overlap after a reconnect. It does not allocate for names up to 200 bytes.
func NewEventID(exchange, symbol, tradeID string) uuid.UUID {
	var buf [200]byte
	b := appendName(buf[:0], exchange, symbol)
	b = append(b, tradeID...)
	return v5(b)
}

// NewEventIDInt is NewEventID for exchanges whose trade ids are integers.
func NewEventIDInt(exchange, symbol string, tradeID int64) uuid.UUID {
	var buf [200]byte
	b := appendName(buf[:0], exchange, symbol)
	b = strconv.AppendInt(b, tradeID, 10)
	return v5(b)
}

// NewAlertID returns the deterministic id of an alert: the UUIDv5 of
// "alert_type|exchange|symbol|key", where key is what distinguishes alerts of the same kind: the
// window start (RFC 3339, ms) for window alerts, the trade's event id for trade alerts.
func NewAlertID(t AlertType, exchange, symbol, key string) uuid.UUID {
	var buf [200]byte
	b := append(buf[:0], t...)
	b = append(b, '|')
	b = appendName(b, exchange, symbol)
	b = append(b, key...)
	return v5(b)
}

// WindowKey formats a window start as NewAlertID's key.
func WindowKey(start time.Time) string {
	return string(AppendTime(nil, start))
}

func appendName(b []byte, exchange, symbol string) []byte {
	b = append(b, exchange...)
	b = append(b, '|')
	b = append(b, symbol...)
	return append(b, '|')
}

// v5 computes a UUIDv5 as RFC 9562 defines it (what uuid.NewSHA1 does) without the hash.Hash
// allocation, since event ids are computed for every trade.
func v5(name []byte) uuid.UUID {
	var buf [256]byte
	var in []byte
	if len(name)+len(Namespace) <= len(buf) {
		in = append(buf[:0], Namespace[:]...)
	} else {
		in = make([]byte, 0, len(Namespace)+len(name))
		in = append(in, Namespace[:]...)
	}
	in = append(in, name...)
	sum := sha1.Sum(in)
	var u uuid.UUID
	copy(u[:], sum[:16])
	u[6] = (u[6] & 0x0f) | 0x50 // version 5
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	return u
}
