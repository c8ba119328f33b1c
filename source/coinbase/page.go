package coinbase

import (
	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/jsonscan"
	"github.com/coattailcapital/ctc/internal/rfc3339"
)

// PageTrade is one element of a GET /products/{id}/trades page: its trade id and the trade, or,
// when a field of the element is unusable, Err and the element's bytes (Raw, a slice of the page).
type PageTrade struct {
	ID    int64
	Trade ctc.Trade
	Err   error
	Raw   []byte
}

var (
	errPage        = malformed("trades page is not a JSON array of objects")
	errPageTradeID = malformed("trades page element without a positive integer trade_id")
)

// DecodeTradesPage appends the elements of a GET /products/{id}/trades answer to out, in the
// order the exchange listed them (newest first). Each is decoded by the rules of a match frame:
// the same event id (exchange, product, trade id) and the maker's "side" inverted to the
// aggressor's. An element whose trade_id cannot be read fails the whole page (a cursor cannot
// step over it); an element with another bad field is kept with Err set, so that it becomes a
// dead letter rather than stopping a load. It allocates nothing beyond out's growth.
func DecodeTradesPage(product string, body []byte, out []PageTrade) ([]PageTrade, error) {
	n0 := len(out)
	i := jsonscan.SkipWS(body, 0)
	if i >= len(body) || body[i] != '[' {
		return out, errPage
	}
	var err error
	end, ok := scanArray(body, i, func(v span) bool {
		if v.kind != 'o' || body[v.start] != '{' {
			err = errPage
			return false
		}
		var pt PageTrade
		pt, err = decodePageTrade(product, body, v)
		if err != nil {
			return false
		}
		out = append(out, pt)
		return true
	})
	if err == nil && (!ok || jsonscan.SkipWS(body, end) != len(body)) {
		err = errSyntax
	}
	if err != nil {
		return out[:n0], err
	}
	return out, nil
}

func decodePageTrade(product string, body []byte, obj span) (PageTrade, error) {
	var tradeID, side, size, price, tm span
	scanObject(body, int(obj.start), func(key []byte, v span) {
		switch string(key) {
		case "trade_id":
			tradeID = v
		case "side":
			side = v
		case "size":
			size = v
		case "price":
			price = v
		case "time":
			tm = v
		}
	})
	pt := PageTrade{Raw: body[obj.start:obj.end]}
	id, ok := parseUint(body, tradeID)
	if !ok || id <= 0 {
		return pt, errPageTradeID
	}
	pt.ID = id
	s, ok := takerSide(plain(body, side))
	if !ok {
		pt.Err = errSide
		return pt, nil
	}
	if tm.kind != '"' {
		pt.Err = errTime
		return pt, nil
	}
	ts, ok := rfc3339.Parse(tm.of(body))
	if !ok {
		pt.Err = errTime
		return pt, nil
	}
	p, ok := parseDecimal(body, price)
	if !ok {
		pt.Err = errPrice
		return pt, nil
	}
	q, ok := parseDecimal(body, size)
	if !ok {
		pt.Err = errSize
		return pt, nil
	}
	pt.Trade = ctc.Trade{
		EventID:     ctc.NewEventIDInt(ctc.Coinbase, product, id),
		Exchange:    ctc.Coinbase,
		Symbol:      product,
		Price:       p,
		Quantity:    q,
		QuoteVolume: p * q,
		Side:        s,
		Timestamp:   ts,
	}
	return pt, nil
}
