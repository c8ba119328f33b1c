package coinbase

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coattailcapital/ctc/internal/clock"
	"github.com/coattailcapital/ctc/source/feed"
)

// DefaultRequestsPerSecond is History's default pace: under Coinbase's public limit of 10
// requests a second per IP (bursts of 15), with room left for a live source's gap repairs from
// the same address.
const DefaultRequestsPerSecond = 8

// History reads the Coinbase Exchange trade history, GET /products/{product_id}/trades, page by
// page. It paces its requests (RequestsPerSecond), waits out 429 answers for as long as
// Retry-After says (else the back-off), retries 5xx, network errors, stalls (the client's
// timeout) and truncated pages with back-off, and fails at once, with a *StatusError, on any
// other answer: a 4xx other than 429 (an unknown product, a bad cursor) does not get better by
// asking again. It is safe for concurrent use.
type History struct {
	// Endpoint is the REST base URL; default DefaultRESTURL.
	Endpoint string
	// Client is the HTTP client; default one with a 15 s timeout, so that a stalled answer is
	// retried rather than waited on for ever.
	Client *http.Client
	// RequestsPerSecond paces the requests; default DefaultRequestsPerSecond.
	RequestsPerSecond float64
	// PageLimit is the page size (the limit parameter); default and maximum 1000.
	PageLimit int
	// Backoff spaces retries; MaxRetries bounds how many failed attempts in a row (429s included)
	// one page may take before the error is returned (default 8).
	Backoff    feed.Backoff
	MaxRetries int
	// Now and Sleep are the clock of the pacing and the retries; default the wall clock. Tests
	// replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	mu   sync.Mutex
	next time.Time // when the next request may go
}

// StatusError is an answer of the trade history that was neither a page nor retried away.
type StatusError struct {
	URL    string
	Status int
	Body   string
}

func (e *StatusError) Error() string {
	what := "a permanent failure: check the product id and the endpoint"
	switch {
	case e.Status == http.StatusTooManyRequests:
		what = "still rate limited after the retries: lower RequestsPerSecond"
	case e.Status >= 500:
		what = "still failing after the retries"
	}
	return fmt.Sprintf("coinbase: GET %s answered %d %s (%s): %s", e.URL, e.Status, http.StatusText(e.Status), what, e.Body)
}

// Permanent reports whether asking again cannot help (a 4xx other than 429).
func (e *StatusError) Permanent() bool {
	return e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// Page is one answer of the trade history.
type Page struct {
	// Trades as listed: newest first.
	Trades []PageTrade
	// Before and After are the CB-BEFORE and CB-AFTER cursors (0 when absent): the ids to pass
	// as before (newer trades) or after (older trades) for the neighbouring pages.
	Before, After int64
}

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

func (h *History) limit() int {
	if h.PageLimit <= 0 || h.PageLimit > 1000 {
		return 1000
	}
	return h.PageLimit
}

// pace waits for the request's turn: requests go at most RequestsPerSecond a second.
func (h *History) pace(ctx context.Context) error {
	rps := h.RequestsPerSecond
	if rps <= 0 {
		rps = DefaultRequestsPerSecond
	}
	gap := time.Duration(float64(time.Second) / rps)
	h.mu.Lock()
	now := h.now()
	at := h.next
	if at.Before(now) {
		at = now
	}
	h.next = at.Add(gap)
	h.mu.Unlock()
	if wait := at.Sub(now); wait > 0 {
		return h.sleep(ctx, wait)
	}
	return nil
}

// Cursor says which page to read: Newest, Before(id) — the trades just newer than id — or
// After(id) — the trades just older than id.
type Cursor struct {
	dir int8 // 0 newest, 1 before, -1 after
	id  int64
}

// Newest is the cursor of the latest trades.
var Newest = Cursor{}

// Before is the cursor of the page of trades newer than id (the ones right after it).
func Before(id int64) Cursor { return Cursor{1, id} }

// After is the cursor of the page of trades older than id (the ones right before it).
func After(id int64) Cursor { return Cursor{-1, id} }

// Page reads one page of product's trades at cur, at most limit (≤ 0: PageLimit).
func (h *History) Page(ctx context.Context, product string, cur Cursor, limit int) (*Page, error) {
	return h.page(ctx, product, cur, limit, nil)
}

func (h *History) page(ctx context.Context, product string, cur Cursor, limit int, buf []PageTrade) (*Page, error) {
	if !validProduct([]byte(product)) {
		return nil, fmt.Errorf("coinbase: product %q is not BASE-QUOTE", product)
	}
	if limit <= 0 || limit > 1000 {
		limit = h.limit()
	}
	q := url.Values{}
	q.Set("limit", strconv.Itoa(limit))
	switch cur.dir {
	case 1:
		q.Set("before", strconv.FormatInt(cur.id, 10))
	case -1:
		q.Set("after", strconv.FormatInt(cur.id, 10))
	}
	base := h.Endpoint
	if base == "" {
		base = DefaultRESTURL
	}
	u := strings.TrimRight(base, "/") + "/products/" + url.PathEscape(product) + "/trades?" + q.Encode()
	client := h.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	maxRetries := h.MaxRetries
	if maxRetries <= 0 {
		maxRetries = 8
	}
	sym := intern([]byte(product))
	failures := 0
	retry := func(wait time.Duration, err error) error {
		if failures++; failures > maxRetries {
			return err
		}
		if wait <= 0 {
			wait = h.Backoff.Delay(failures - 1)
		}
		return h.sleep(ctx, wait)
	}
	for {
		if err := h.pace(ctx); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := retry(0, fmt.Errorf("coinbase: GET %s: %w", u, err)); err != nil {
				return nil, err
			}
			continue
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			wait := time.Duration(0)
			if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 && s <= 3600 {
				wait = time.Duration(s) * time.Second
			}
			if err := retry(wait, &StatusError{u, resp.StatusCode, snippet(body)}); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode >= 500:
			if err := retry(0, &StatusError{u, resp.StatusCode, snippet(body)}); err != nil {
				return nil, err
			}
			continue
		case resp.StatusCode != http.StatusOK:
			return nil, &StatusError{u, resp.StatusCode, snippet(body)}
		case rerr != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err := retry(0, fmt.Errorf("coinbase: GET %s: reading the page: %w", u, rerr)); err != nil {
				return nil, err
			}
			continue
		}
		trades, derr := DecodeTradesPage(sym, body, buf[:0])
		if derr != nil {
			// A page cut short on the way decodes badly; a page that always does is reported.
			if err := retry(0, fmt.Errorf("coinbase: GET %s: %w", u, derr)); err != nil {
				return nil, err
			}
			continue
		}
		p := &Page{Trades: trades}
		p.Before, _ = strconv.ParseInt(resp.Header.Get("CB-BEFORE"), 10, 64)
		p.After, _ = strconv.ParseInt(resp.Header.Get("CB-AFTER"), 10, 64)
		return p, nil
	}
}

// snippet is a bounded, printable piece of an error body.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 256 {
		s = s[:256] + "…"
	}
	return s
}

// ErrCursorSkipped is returned when a page newer than a cursor does not start next to it and
// the page older than its first trade does not reach back to the cursor either: trades between
// them would be lost, so the load stops instead.
var ErrCursorSkipped = errors.New("coinbase: the trade history skipped trades after the cursor")
