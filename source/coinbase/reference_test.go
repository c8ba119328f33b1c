package coinbase

import (
	"encoding/json"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/rfc3339"
)

// restTrade and restToTrade read an element of GET /products/{id}/trades through encoding/json:
// the reference the page decoder (DecodeTradesPage) is checked against, and its benchmark's
// baseline.
type restTrade struct {
	Time    string          `json:"time"`
	TradeID int64           `json:"trade_id"`
	Price   json.RawMessage `json:"price"`
	Size    json.RawMessage `json:"size"`
	Side    string          `json:"side"`
}

func restToTrade(prod string, rt restTrade) (ctc.Trade, error) {
	var ps, qs string
	if json.Unmarshal(rt.Price, &ps) != nil || json.Unmarshal(rt.Size, &qs) != nil {
		return ctc.Trade{}, errPrice
	}
	pb, qb := []byte(`"`+ps+`"`), []byte(`"`+qs+`"`)
	p, ok1 := parseDecimal(pb, span{1, int32(len(pb) - 1), '"'})
	q, ok2 := parseDecimal(qb, span{1, int32(len(qb) - 1), '"'})
	ts, ok3 := rfc3339.Parse([]byte(rt.Time))
	if !ok1 || !ok2 || !ok3 || rt.TradeID <= 0 {
		return ctc.Trade{}, errPrice
	}
	side, ok := takerSide([]byte(rt.Side))
	if !ok {
		return ctc.Trade{}, errSide
	}
	return ctc.Trade{EventID: ctc.NewEventIDInt(ctc.Coinbase, prod, rt.TradeID), Exchange: ctc.Coinbase, Symbol: prod,
		Price: p, Quantity: q, QuoteVolume: p * q, Side: side, Timestamp: ts}, nil
}
