package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
)

// validType is the form of an alert type the API accepts: built-in or a detector's own.
var validType = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// FuzzAlertsParams holds the /alerts parameter parser to its contract: it never panics, and every
// query string either parses into a valid AlertQuery (which encodes back to the same query) or
// yields an error naming a parameter and what it allows, which the handler answers with a 400.
func FuzzAlertsParams(f *testing.F) {
	for _, seed := range []string{
		"", "limit=50", "type=whale&symbol=BTC-USDT&limit=200&since=2025-03-14T00:00:00Z",
		"type=volume_spike", "type=spread&limit=1", "symbol=eth-usd", "since=2025-03-14T00:00:00.123456789%2B02:00",
		"since=2025-03-14T00:00:00+02:00", "limit=500", "limit=-1", "limit=0x10", "limit=%zz", "%zz=1",
		"type=whales", "type=Whale", "type=buy_pressure", "sort=asc", "limit=1&limit=2", "a=1;b=2", "&&&", "=", "type=&symbol=&limit=&since=",
		"symbol=%3Cimg%20src%3Dx%3E", "symbol=" + string([]byte{0xff, 0xfe}), "since=9999-12-31T23:59:59Z",
	} {
		f.Add(seed)
	}
	now := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	h, err := New(Config{Store: newFixture(now).store(f), Now: func() time.Time { return now }})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, e := parseAlertsQuery(raw, now)
		if e != nil {
			if e.Parameter == "" || e.Allowed == "" || e.Message == "" {
				t.Fatalf("%q: error without parameter, allowed values or message: %+v", raw, e)
			}
		} else {
			checkAlertQuery(t, raw, q, now)
		}

		req := httptest.NewRequest(http.MethodGet, "/alerts", nil)
		req.URL.RawQuery = raw
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case e == nil && rec.Code != http.StatusOK, e != nil && rec.Code != http.StatusBadRequest:
			t.Fatalf("%q: status %d for parse error %v", raw, rec.Code, e)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%q: the body is not JSON: %s", raw, rec.Body)
		}
		if e != nil {
			var got apiError
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Parameter == "" {
				t.Fatalf("%q: the 400 does not name a parameter: %s", raw, rec.Body)
			}
		}
	})
}

func checkAlertQuery(t *testing.T, raw string, q ctc.AlertQuery, now time.Time) {
	t.Helper()
	if q.Limit < 1 || q.Limit > MaxLimit {
		t.Fatalf("%q: limit %d", raw, q.Limit)
	}
	if q.Type != "" && !validType.MatchString(string(q.Type)) {
		t.Fatalf("%q: type %q", raw, q.Type)
	}
	if q.Symbol != "" {
		if s, e := parseSymbol("symbol", q.Symbol); e != nil || s != q.Symbol {
			t.Fatalf("%q: symbol %q is not a valid upper-case symbol", raw, q.Symbol)
		}
	}
	if q.Since.Location() != time.UTC {
		t.Fatalf("%q: since %v is not in UTC", raw, q.Since)
	}
	// The query encodes back to itself.
	v := url.Values{}
	v.Set("limit", strconv.Itoa(q.Limit))
	v.Set("since", q.Since.Format(time.RFC3339Nano))
	if q.Type != "" {
		v.Set("type", string(q.Type))
	}
	if q.Symbol != "" {
		v.Set("symbol", q.Symbol)
	}
	back, e := parseAlertsQuery(v.Encode(), now)
	if e != nil || back != q {
		t.Fatalf("%q: %+v encodes to %q, which parses to %+v, %v", raw, q, v.Encode(), back, e)
	}
}
