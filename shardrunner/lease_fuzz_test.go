package shardrunner

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// FuzzDecodeLease feeds the lease-item decoder whatever a lease table might hold — items written
// by another version, by hand, or damaged: it returns a lease or an error, never panics, and a
// lease it returns has a key.
func FuzzDecodeLease(f *testing.F) {
	f.Add("app/shardId-000000000001", "shardId-000000000001", "a", "3", true, "2024-03-01T00:00:00Z", uint8(0))
	f.Add("", "", "", "x", false, "", uint8(7))
	f.Add("app/s", "", "", "-1", false, "not a time", uint8(2))
	f.Fuzz(func(t *testing.T, key, shard, owner, counter string, finished bool, heartbeat string, drop uint8) {
		item := map[string]types.AttributeValue{
			"lease_key": &types.AttributeValueMemberS{Value: key},
			"shard_id":  &types.AttributeValueMemberS{Value: shard},
			"owner":     &types.AttributeValueMemberS{Value: owner},
			"counter":   &types.AttributeValueMemberN{Value: counter},
			"finished":  &types.AttributeValueMemberBOOL{Value: finished},
			"heartbeat": &types.AttributeValueMemberS{Value: heartbeat},
		}
		names := []string{"lease_key", "shard_id", "owner", "counter", "finished", "heartbeat"}
		if int(drop) < len(names) {
			delete(item, names[drop])
		} else if int(drop) < 2*len(names) {
			item[names[int(drop)-len(names)]] = &types.AttributeValueMemberBOOL{} // the wrong type
		}
		l, err := decodeLease(item)
		if err == nil && l.Key == "" {
			t.Fatalf("decoded a lease without a key from %v", item)
		}
	})
}
