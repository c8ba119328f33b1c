package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Telegram's parse modes.
const (
	ParseHTML       = "HTML"
	ParseMarkdownV2 = "MarkdownV2"
)

// DefaultTelegramAPI is the Bot API's base URL.
const DefaultTelegramAPI = "https://api.telegram.org"

// telegram calls the Bot API's sendMessage. The token is part of the URL path, which is why
// transport errors are stripped of their URL and everything is redacted besides.
type telegram struct {
	poster
	api       string
	token     Secret
	chatID    string
	parseMode string
}

func (t *telegram) Name() string { return t.name }

// telegramAnswer is the Bot API's answer: {"ok":true,"result":…} or
// {"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}.
type telegramAnswer struct {
	OK          bool   `json:"ok"`
	ErrorCode   int    `json:"error_code"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter      float64 `json:"retry_after"`
		MigrateToChatID int64   `json:"migrate_to_chat_id"`
	} `json:"parameters"`
}

func (t *telegram) Send(ctx context.Context, n *Notification) error {
	u := strings.TrimRight(t.api, "/") + "/bot" + t.token.Value() + "/sendMessage"
	status, b, h, err := t.post(ctx, u, TelegramPayload(n, t.chatID, t.parseMode), nil)
	if err != nil {
		return err
	}
	return telegramResult(status, b, h, t.now)
}

// telegramResult reads sendMessage's answer. The API puts the wait of a 429 in
// parameters.retry_after, not in a header, and answers some errors with a 200 and ok:false.
func telegramResult(status int, b []byte, h http.Header, now func() time.Time) error {
	var ans telegramAnswer
	if json.Unmarshal(b, &ans) != nil {
		// Not the Bot API talking (a proxy, a load balancer): go by the status.
		if status/100 == 2 {
			return nil
		}
		return statusError(status, parseRetryAfter(h.Get("Retry-After"), now()), detail(b))
	}
	if ans.OK && status/100 == 2 {
		return nil
	}
	code := ans.ErrorCode
	if code == 0 {
		code = status
	}
	if code/100 == 2 {
		code = http.StatusBadGateway // ok:false with a success code: an answer we cannot trust
	}
	e := statusError(code, max(secondsDuration(ans.Parameters.RetryAfter), parseRetryAfter(h.Get("Retry-After"), now())), detail([]byte(ans.Description)))
	if ans.Parameters.MigrateToChatID != 0 {
		e.Detail += " (the group became a supergroup: set chat_id to the new id Telegram gives)"
	}
	return e
}

// TelegramPayload is the JSON body of sendMessage for n, with the text marked up for parseMode
// (ParseHTML or ParseMarkdownV2; "" is HTML).
func TelegramPayload(n *Notification, chatID, parseMode string) []byte {
	if parseMode == "" {
		parseMode = ParseHTML
	}
	return marshal(struct {
		ChatID             string `json:"chat_id"`
		Text               string `json:"text"`
		ParseMode          string `json:"parse_mode"`
		LinkPreviewOptions struct {
			IsDisabled bool `json:"is_disabled"`
		} `json:"link_preview_options"`
	}{ChatID: chatID, Text: TelegramText(n, parseMode), ParseMode: parseMode, LinkPreviewOptions: struct {
		IsDisabled bool `json:"is_disabled"`
	}{true}})
}

// Bounds on the parts of a Telegram message, in bytes of the text people see. Telegram limits a
// message to 4096 characters after entities parsing — the markup and its escapes do not count —
// so the parts are cut before they are escaped. A UTF-8 byte count is never below the UTF-16
// count Telegram limits, so the sum stays under it.
const (
	telegramHeadMax    = 300
	telegramMessageMax = 3000
	telegramFactsMax   = 500
)

// TelegramText is the marked-up text of n's message: the headline in bold, the message, the
// figures in italics and the idempotency key as code.
func TelegramText(n *Notification, parseMode string) string {
	a := &n.Alert
	head := severityEmoji(a.Severity) + " " + headline(a)
	if parseMode == ParseMarkdownV2 {
		return "*" + MarkdownV2Escape(cut(head, telegramHeadMax)) + "*\n" +
			MarkdownV2Escape(cut(a.Message, telegramMessageMax)) + "\n" +
			"_" + MarkdownV2Escape(cut(facts(a), telegramFactsMax)) + "_\n" +
			"`" + markdownV2CodeEscape(n.IdempotencyKey()) + "`"
	}
	return "<b>" + HTMLEscape(cut(head, telegramHeadMax)) + "</b>\n" +
		HTMLEscape(cut(a.Message, telegramMessageMax)) + "\n" +
		"<i>" + HTMLEscape(cut(facts(a), telegramFactsMax)) + "</i>\n" +
		"<code>" + HTMLEscape(n.IdempotencyKey()) + "</code>"
}

// MarkdownV2Escape escapes text for Telegram's MarkdownV2 outside entities: a backslash before
// each of _*[]()~`>#+-=|{}.! and before the backslash itself.
func MarkdownV2Escape(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for _, r := range s {
		if strings.ContainsRune(`_*[]()~`+"`"+`>#+-=|{}.!\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// markdownV2CodeEscape escapes text inside a MarkdownV2 code entity, where only ` and \ are special.
func markdownV2CodeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s)
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// HTMLEscape escapes text for Telegram's HTML parse mode, using only the named entities the Bot
// API supports (&lt; &gt; &amp; &quot;).
func HTMLEscape(s string) string { return htmlEscaper.Replace(s) }
