package binance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/clock"
	"github.com/coattailcapital/ctc/source/feed"
)

// AggTrade is a trade with its aggregate id, which gap repair and paging need.
type AggTrade struct {
	ID    int64
	Trade ctc.Trade
}

// History reads GET /api/v3/aggTrades. It keeps under the request-weight limit, waits out 429 and
// 418 answers for as long as Retry-After says (a client that keeps asking after a 429 gets banned),
// and retries 5xx and network errors with back-off. It is safe for concurrent use.
type History struct {
	// Endpoint is the REST base URL; default https://api.binance.com.
	Endpoint string
	// Client is the HTTP client; default one with a 15 s timeout, so that a dead network fails
	// rather than hangs.
	Client *http.Client
	// WeightLimit is the weight allowed a minute; default 6000. A request weighs 4.
	WeightLimit int
	// Backoff paces retries of 5xx and network errors; MaxRetries bounds them (default 5).
	Backoff    feed.Backoff
	MaxRetries int
	// Symbols normalises symbols; nil uses DefaultQuotes.
	Symbols *SymbolMap
	// Now and Sleep are the clock, replaceable in tests.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	mu         sync.Mutex
	usedWeight int
	usedAt     time.Time
}

// requestWeight is the weight of one aggTrades request.
const requestWeight = 4

// StatusError is a REST answer that was neither success nor retried away.
type StatusError struct {
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	if e.Status == http.StatusUnavailableForLegalReasons {
		return "binance: aggTrades answered 451: " + ErrRegionBlocked.Error()
	}
	return fmt.Sprintf("binance: aggTrades answered %d: %s", e.Status, e.Body)
}

// Unwrap makes a 451 answer match ErrRegionBlocked.
func (e *StatusError) Unwrap() error {
	if e.Status == http.StatusUnavailableForLegalReasons {
		return ErrRegionBlocked
	}
	return nil
}

// ErrRegionBlocked is what Binance's HTTP 451 means, wrapped by the error of a History request
// or of a Source's WebSocket handshake that got one: Binance does not serve the address the
// request came from (it refuses many US addresses, AWS's US regions among them). It is
// permanent — neither retries nor reconnects change it — so the Source stops with it rather than
// reconnecting forever.
var ErrRegionBlocked = errors.New("Binance refuses requests from this location (HTTP 451: it does not serve many US addresses, AWS's US regions among them); " +
	"use its market-data-only endpoints (WebSocket wss://data-stream.binance.vision, REST https://data-api.binance.vision: " +
	"the -binance-ws and -binance-rest flags, CTC_BINANCE_ENDPOINT), its daily archives at https://data.binance.vision for history " +
	"(the loader's -csv), or run in a region Binance serves")

func (h *History) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *History) sleep(ctx context.Context, d time.Duration) error {
	if h.Sleep != nil {
		return h.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

// throttle waits for the next minute when the weight the server reported leaves no room for one
// more request: the server counts per clock minute.
func (h *History) throttle(ctx context.Context) error {
	limit := h.WeightLimit
	if limit <= 0 {
		limit = 6000
	}
	h.mu.Lock()
	now := h.now()
	if now.Truncate(time.Minute) != h.usedAt.Truncate(time.Minute) {
		h.usedWeight = 0
	}
	wait := time.Duration(0)
	if h.usedWeight+requestWeight > limit {
		wait = now.Truncate(time.Minute).Add(time.Minute).Sub(now)
		h.usedWeight = 0
	}
	h.mu.Unlock()
	if wait > 0 {
		return h.sleep(ctx, wait)
	}
	return nil
}

// Page returns up to limit (≤ 1000) trades of symbol: from fromID when it is ≥ 0, else from
// startMs (ms) to endMs (when > 0).
func (h *History) Page(ctx context.Context, symbol string, fromID, startMs, endMs int64, limit int) ([]AggTrade, error) {
	q := url.Values{}
	q.Set("symbol", strings.ToUpper(strings.ReplaceAll(symbol, "-", "")))
	q.Set("limit", strconv.Itoa(min(max(limit, 1), 1000)))
	if fromID >= 0 {
		q.Set("fromId", strconv.FormatInt(fromID, 10))
	} else {
		q.Set("startTime", strconv.FormatInt(startMs, 10))
		if endMs > 0 {
			q.Set("endTime", strconv.FormatInt(endMs, 10))
		}
	}
	base := h.Endpoint
	if base == "" {
		base = "https://api.binance.com"
	}
	u := strings.TrimRight(base, "/") + "/api/v3/aggTrades?" + q.Encode()
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	maxRetries := h.MaxRetries
	if maxRetries <= 0 {
		maxRetries = 5
	}
	failures := 0
	for {
		if err := h.throttle(ctx); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if failures++; failures > maxRetries {
				return nil, fmt.Errorf("binance: aggTrades %s: %w", symbol, err)
			}
			if err := h.sleep(ctx, h.Backoff.Delay(failures-1)); err != nil {
				return nil, err
			}
			continue
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if w, err := strconv.Atoi(resp.Header.Get("X-MBX-USED-WEIGHT-1M")); err == nil {
			h.mu.Lock()
			h.usedWeight, h.usedAt = w, h.now()
			h.mu.Unlock()
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusTeapot:
			wait := 60 * time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				wait = time.Duration(s) * time.Second
			}
			if err := h.sleep(ctx, wait); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode >= 500 || rerr != nil:
			if failures++; failures > maxRetries {
				return nil, &StatusError{resp.StatusCode, strings.TrimSpace(string(body))}
			}
			if err := h.sleep(ctx, h.Backoff.Delay(failures-1)); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode != http.StatusOK:
			return nil, &StatusError{resp.StatusCode, strings.TrimSpace(string(body))}
		}
		return h.decode(symbol, body)
	}
}

type restTrade struct {
	A    int64  `json:"a"`
	P    string `json:"p"`
	Q    string `json:"q"`
	T    int64  `json:"T"`
	M    bool   `json:"m"`
	Best bool   `json:"M"` // declared so that "M" cannot fill m by case-insensitive matching
}

func (h *History) decode(symbol string, body []byte) ([]AggTrade, error) {
	var rows []restTrade
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, fmt.Errorf("binance: aggTrades %s: %w", symbol, err)
	}
	sym := h.Symbols.Normalize([]byte(strings.ToUpper(strings.ReplaceAll(symbol, "-", ""))))
	out := make([]AggTrade, 0, len(rows))
	for _, r := range rows {
		t, err := restToTrade(sym, r)
		if err != nil {
			return nil, err
		}
		out = append(out, AggTrade{r.A, t})
	}
	return out, nil
}

func restToTrade(sym string, r restTrade) (ctc.Trade, error) {
	p, ok1 := decimal([]byte(strconv.Quote(r.P)), span{0, len(r.P) + 2})
	q, ok2 := decimal([]byte(strconv.Quote(r.Q)), span{0, len(r.Q) + 2})
	if !ok1 || !ok2 {
		return ctc.Trade{}, fmt.Errorf("binance: aggTrade %d: bad price %q or quantity %q", r.A, r.P, r.Q)
	}
	side := ctc.Buy
	if r.M {
		side = ctc.Sell
	}
	return ctc.Trade{EventID: ctc.NewEventIDInt(ctc.Binance, sym, r.A), Exchange: ctc.Binance, Symbol: sym,
		Price: p, Quantity: q, QuoteVolume: p * q, Side: side, Timestamp: time.UnixMilli(r.T).UTC()}, nil
}

// Range calls fn with the trades of symbol whose ids are in [fromID, toID], in pages, in order.
// It returns the id after the last trade delivered: less than toID+1 means the history had no more.
func (h *History) Range(ctx context.Context, symbol string, fromID, toID int64, fn func([]AggTrade) error) (int64, error) {
	next := fromID
	for next <= toID {
		limit := int(min(toID-next+1, 1000))
		page, err := h.Page(ctx, symbol, next, 0, 0, limit)
		if err != nil {
			return next, err
		}
		n := 0
		for n < len(page) && page[n].ID <= toID {
			n++
		}
		if n == 0 {
			return next, nil
		}
		if err := fn(page[:n]); err != nil {
			return next, err
		}
		next = page[n-1].ID + 1
		if len(page) < limit {
			return next, nil
		}
	}
	return next, nil
}
