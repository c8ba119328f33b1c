package dynamodb

import (
	"math"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc"
)

// FuzzDecodeAlert feeds the item decoders attribute values as a server (or another writer of the
// table) could return them: they must never panic, and what they accept must encode to an item
// that decodes to the same alert.
func FuzzDecodeAlert(f *testing.F) {
	a := ctc.Alert{
		AlertID: ctc.NewAlertID(ctc.Whale, ctc.Binance, "BTC-USDT", "1"), AlertType: ctc.Whale, Symbol: "BTC-USDT",
		Exchange: ctc.Binance, Severity: ctc.High, ZScore: 3.25, ThresholdValue: 1e6, ActualValue: 1.5e6,
		WindowStart: time.Date(2024, 3, 13, 9, 0, 0, 0, time.UTC), DetectedAt: time.Date(2024, 3, 13, 9, 1, 0, 5e6, time.UTC),
		Message: "whale", TTLEpoch: 1710407000,
	}
	item, err := alertItem(&a)
	if err != nil {
		f.Fatal(err)
	}
	str := func(name string) string {
		switch v := item[name].(type) {
		case *types.AttributeValueMemberS:
			return v.Value
		case *types.AttributeValueMemberN:
			return v.Value
		}
		return ""
	}
	f.Add(str(attrAlertID), str(attrDetectedAt), str(attrAlertType), str(attrSeverity), str(attrZScore), str(attrTTLEpoch), str(attrEmittedAt), uint8(0))
	f.Add("", "", "", "", "", "", "", uint8(0xff))
	f.Add("not-a-uuid", "2024-13-99T00:00:00Z", "x", "severe", "1e999", "9223372036854775808", "0001-01-01T00:00:00Z", uint8(0x15))
	f.Add(str(attrAlertID), "2024-03-13T09:01:00.005+05:30", "t", "none", "NaN", "-1", "-0001-01-01T00:00:00Z", uint8(0x2a))
	f.Fuzz(func(t *testing.T, id, detected, typ, sev, num, ttl, emitted string, shape uint8) {
		it := map[string]types.AttributeValue{}
		for k, v := range item {
			it[k] = v
		}
		// shape picks, per attribute, a string, a number, another type, or no attribute at all.
		set := func(i uint, name, v string) {
			switch (shape >> (i % 8)) & 3 {
			case 0:
				it[name] = &types.AttributeValueMemberS{Value: v}
			case 1:
				it[name] = &types.AttributeValueMemberN{Value: v}
			case 2:
				it[name] = &types.AttributeValueMemberBOOL{Value: true}
			default:
				delete(it, name)
			}
		}
		set(0, attrAlertID, id)
		set(1, attrDetectedAt, detected)
		set(2, attrAlertType, typ)
		set(3, attrSeverity, sev)
		set(4, attrZScore, num)
		set(5, attrTTLEpoch, ttl)
		set(6, attrEmittedAt, emitted)
		set(7, attrWindowStart, detected)
		got, err := decodeAlert(it)
		if err != nil {
			return
		}
		again, err := alertItem(&got)
		if err != nil {
			return // decodable, but not storable (an empty type, a year beyond 9999): Write refuses it
		}
		back, err := decodeAlert(again)
		if err != nil {
			t.Fatalf("re-decoding an encoded alert: %v", err)
		}
		eq := cmp.Comparer(func(x, y float64) bool {
			return math.Float64bits(x) == math.Float64bits(y) || (math.IsNaN(x) && math.IsNaN(y))
		})
		if diff := cmp.Diff(got, back, eq); diff != "" {
			t.Fatalf("decode(encode(decode(item))) differs (-first +second):\n%s", diff)
		}
		_, _ = decodeVolume(it)
		_, _ = decodeSpread(it)
	})
}
