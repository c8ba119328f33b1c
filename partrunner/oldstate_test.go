package partrunner

import (
	"bytes"
	"encoding/gob"
	"strings"
	"testing"

	"github.com/coattailcapital/ctc"
)

// A shard state saved before states were segmented (the checkpoint's output inline, as a plain
// struct) does not decode; the error says what to do.
func TestDecodeStateFromBeforeSegments(t *testing.T) {
	type oldBatch struct {
		Trades []ctc.Trade
	}
	type ShardState struct { // the old shape, under the same name
		Version  int64
		Shard    string
		Sequence string
		Pending  *oldBatch
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&ShardState{Version: 3, Shard: "shardId-1", Pending: &oldBatch{Trades: []ctc.Trade{{Symbol: "BTC-USDT"}}}}); err != nil {
		t.Fatal(err)
	}
	_, err := DecodeState(buf.Bytes())
	if err == nil || !strings.Contains(err.Error(), "delete the shard's item") {
		t.Fatalf("decoding an old state: %v", err)
	}
}
