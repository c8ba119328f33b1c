package notify

import (
	"context"
	"strings"

	"github.com/coattailcapital/ctc"
)

// slack posts to a Slack incoming webhook: a text fallback (what notifications and screen
// readers show) and blocks (what the channel shows).
type slack struct {
	poster
	url Secret
}

func (s *slack) Name() string { return s.name }

func (s *slack) Send(ctx context.Context, n *Notification) error {
	status, b, h, err := s.post(ctx, s.url.Value(), SlackPayload(n), nil)
	if err != nil {
		return err
	}
	return s.httpStatus(status, b, h)
}

// Slack's limits on a section's text and a header's.
const (
	slackSectionMax = 3000
	slackHeaderMax  = 150
)

// SlackPayload is the JSON body posted to a Slack incoming webhook for n.
func SlackPayload(n *Notification) []byte {
	a := &n.Alert
	type text struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type block struct {
		Type     string `json:"type"`
		Text     *text  `json:"text,omitempty"`
		Elements []text `json:"elements,omitempty"`
	}
	head := severityEmoji(a.Severity) + " " + headline(a)
	return marshal(struct {
		Text   string  `json:"text"`
		Blocks []block `json:"blocks"`
	}{
		Text: escapeCut(head+": "+a.Message, slackSectionMax, SlackEscape),
		Blocks: []block{
			{Type: "header", Text: &text{Type: "plain_text", Text: truncate(head, slackHeaderMax)}},
			{Type: "section", Text: &text{Type: "mrkdwn", Text: escapeCut(a.Message, slackSectionMax, SlackEscape)}},
			{Type: "context", Elements: []text{{Type: "mrkdwn", Text: escapeCut(facts(a)+" · "+n.IdempotencyKey(), slackSectionMax, SlackEscape)}}},
		},
	})
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// SlackEscape escapes the three characters Slack's mrkdwn gives meaning to as markup (&, <, >),
// so that a message cannot open a link or mention a channel.
func SlackEscape(s string) string { return slackEscaper.Replace(s) }

func severityEmoji(s ctc.Severity) string {
	switch s {
	case ctc.Critical:
		return "🚨"
	case ctc.High:
		return "🔴"
	case ctc.Medium:
		return "🟠"
	}
	return "🟡"
}
