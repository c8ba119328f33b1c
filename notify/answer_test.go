package notify

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 12, 14, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"5":                             5 * time.Second,
		" 2 ":                           2 * time.Second,
		"0.25":                          250 * time.Millisecond, // Discord
		"-3":                            0,
		"NaN":                           0,
		"1e30":                          24 * time.Hour,
		"soon":                          0,
		"Tue, 12 Mar 2024 14:00:30 GMT": 30 * time.Second,
		"Tue, 12 Mar 2024 13:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

// Telegram's answers, as the Bot API gives them.
func TestTelegramResult(t *testing.T) {
	t.Parallel()
	now := func() time.Time { return time.Unix(0, 0) }
	for _, c := range []struct {
		name      string
		status    int
		body      string
		header    http.Header
		ok        bool
		code      int
		wait      time.Duration
		permanent bool
		detail    string
	}{
		{"ok", 200, `{"ok":true,"result":{"message_id":1}}`, nil, true, 0, 0, false, ""},
		{"rate limited", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`, nil, false, 429, 7 * time.Second, false, "retry after 7"},
		{"fractional", 429, `{"ok":false,"error_code":429,"description":"x","parameters":{"retry_after":0.5}}`, nil, false, 429, 500 * time.Millisecond, false, ""},
		{"blocked", 403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`, nil, false, 403, 0, true, "blocked"},
		{"migrated", 400, `{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-1001}}`, nil, false, 400, 0, true, "set chat_id"},
		{"ok false on 200", 200, `{"ok":false,"description":"odd"}`, nil, false, 502, 0, false, "odd"},
		{"proxy", 502, `<html>Bad Gateway</html>`, http.Header{"Retry-After": {"3"}}, false, 502, 3 * time.Second, false, "Bad Gateway"},
		{"proxy ok", 200, `not json`, nil, true, 0, 0, false, ""},
	} {
		h := c.header
		if h == nil {
			h = http.Header{}
		}
		err := telegramResult(c.status, []byte(c.body), h, now)
		if c.ok {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		se, isSend := err.(*SendError)
		if !isSend || se.Status != c.code || se.RetryAfter != c.wait || se.Permanent != c.permanent || !strings.Contains(se.Detail, c.detail) {
			t.Errorf("%s: got %#v", c.name, err)
		}
	}
}
