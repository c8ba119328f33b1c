package ctc

import "strings"

// Instruments says which instrument a symbol belongs to: the one rule that the Kinesis partition
// key (both exchanges of an instrument on one shard), the spread join (the instrument whose
// exchanges are compared) and the API (spread windows and alerts by instrument) share, so they
// can never disagree (DESIGN §9).
//
// The nil map is the default rule, InstrumentOf: the base asset, the part of the symbol before
// the first '-' (BTC-USDT and BTC-USD → BTC). Entries override it for symbols whose bases differ
// between exchanges, such as {"XBT-USD": "BTC"}; detect.SpreadConfig.Instruments gives the entries
// of the pairs it joins, to hand to the producer, the consumer and the API alike.
type Instruments map[string]string

// Of returns the instrument of symbol: its entry, or InstrumentOf(symbol).
func (in Instruments) Of(symbol string) string {
	if v, ok := in[symbol]; ok {
		return v
	}
	return InstrumentOf(symbol)
}

// InstrumentOf is the default rule: the base asset of a BASE-QUOTE symbol (BTC-USDT → BTC); a
// symbol without a quote (an instrument already, BTC) is itself.
func InstrumentOf(symbol string) string {
	if i := strings.IndexByte(symbol, '-'); i > 0 {
		return symbol[:i]
	}
	return symbol
}
