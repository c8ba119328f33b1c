package notify

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/coattailcapital/ctc"
)

// discord posts to a Discord webhook: an embed with the alert's facts, and no mentions, so that a
// message holding "@everyone" pings nobody.
type discord struct {
	poster
	url Secret
}

func (d *discord) Name() string { return d.name }

func (d *discord) Send(ctx context.Context, n *Notification) error {
	status, b, h, err := d.post(ctx, d.url.Value(), DiscordPayload(n), nil)
	if err != nil {
		return err
	}
	if status/100 == 2 {
		return nil
	}
	e := statusError(status, parseRetryAfter(h.Get("Retry-After"), d.now()), detail(b))
	// Discord's rate-limit body says the wait in fractional seconds, more precisely than the header.
	var rl struct {
		RetryAfter float64 `json:"retry_after"`
	}
	if json.Unmarshal(b, &rl) == nil {
		e.RetryAfter = max(e.RetryAfter, secondsDuration(rl.RetryAfter))
	}
	return e
}

// Discord's limits on an embed's title, description and field values.
const (
	discordTitleMax = 256
	discordDescMax  = 4096
	discordFieldMax = 1024
)

// DiscordPayload is the JSON body posted to a Discord webhook for n.
func DiscordPayload(n *Notification) []byte {
	a := &n.Alert
	type field struct {
		Name   string `json:"name"`
		Value  string `json:"value"`
		Inline bool   `json:"inline"`
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }
	fields := []field{
		{"Symbol", escapeCut(a.Symbol, discordFieldMax, DiscordEscape), true},
		{"Exchange", escapeCut(a.Exchange, discordFieldMax, DiscordEscape), true},
		{"Severity", a.Severity.String(), true},
		{"Actual", num(a.ActualValue), true},
		{"Threshold", num(a.ThresholdValue), true},
	}
	if a.ZScore != 0 {
		fields = append(fields, field{"Z-score", strconv.FormatFloat(a.ZScore, 'f', 2, 64), true})
	}
	type embed struct {
		Title       string  `json:"title"`
		Description string  `json:"description"`
		Color       int     `json:"color"`
		Fields      []field `json:"fields"`
		Timestamp   string  `json:"timestamp,omitempty"`
		Footer      struct {
			Text string `json:"text"`
		} `json:"footer"`
	}
	e := embed{
		Title:       truncate(headline(a), discordTitleMax),
		Description: escapeCut(a.Message, discordDescMax, DiscordEscape),
		Color:       severityColor(a.Severity),
		Fields:      fields,
	}
	if !a.DetectedAt.IsZero() {
		e.Timestamp = string(ctc.AppendTime(nil, a.DetectedAt))
	}
	e.Footer.Text = n.IdempotencyKey()
	return marshal(struct {
		Content         string  `json:"content"`
		Embeds          []embed `json:"embeds"`
		AllowedMentions struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}{Content: truncate(headline(a), 2000), Embeds: []embed{e}, AllowedMentions: struct {
		Parse []string `json:"parse"`
	}{Parse: []string{}}})
}

// DiscordEscape puts a backslash before every ASCII punctuation character: Discord's markdown
// drops a backslash before any of them and shows the character as is, so no message can open
// bold, a code block, a spoiler, a link or a mention.
func DiscordEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func severityColor(s ctc.Severity) int {
	switch s {
	case ctc.Critical:
		return 0x8B0000
	case ctc.High:
		return 0xE01E5A
	case ctc.Medium:
		return 0xF2A33A
	}
	return 0xECB22E
}
