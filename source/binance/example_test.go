package binance_test

import (
	"fmt"

	"github.com/coattailcapital/ctc/source/binance"
)

func ExampleDecodeFrame() {
	frame := []byte(`{"stream":"nknusdt@aggTrade","data":{"e":"aggTrade","E":1633998523963,"s":"NKNUSDT","a":15683430,"p":"0.35280000","q":"58.00000000","f":19862790,"l":19862790,"T":1633998523963,"m":false,"M":true}}`)
	trades, info, err := binance.DecodeFrame(frame, nil, nil)
	if err != nil {
		panic(err)
	}
	t := trades[0]
	fmt.Println(info.Kind, info.ID, t.Symbol, t.Side, t.Price, t.Quantity, t.Timestamp.Format("2006-01-02T15:04:05.000Z07:00"))

	_, info, _ = binance.DecodeFrame([]byte(`{"result":null,"id":1}`), nil, nil)
	fmt.Println(info.Kind, info.ID)
	// Output:
	// aggTrade 15683430 NKN-USDT buy 0.3528 58 2021-10-12T00:28:43.963Z
	// ack 1
}
