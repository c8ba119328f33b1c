package notify_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"pgregory.net/rapid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/notify/notifytest"
)

// Whatever a message holds, each service's markup shows it as written: escaping and parsing
// (as the service does) give the message back.
func TestEscapingRoundTrips(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.String(), rapid.StringOf(rapid.SampledFrom([]rune("_*[]()~`>#+-=|{}.!\\<&\"'@:a é🐋\n")))).Draw(t, "message")
		s = strings.ToValidUTF8(s, "")
		if got, err := notifytest.ParseMarkdownV2(notify.MarkdownV2Escape(s)); err != nil || got != s {
			t.Fatalf("MarkdownV2: %q → %q, %v", s, got, err)
		}
		if got, err := notifytest.ParseHTML(notify.HTMLEscape(s)); err != nil || got != s {
			t.Fatalf("HTML: %q → %q, %v", s, got, err)
		}
		if got := notifytest.DiscordUnescape(notify.DiscordEscape(s)); got != s {
			t.Fatalf("Discord: %q → %q", s, got)
		}
		esc := notify.SlackEscape(s)
		if strings.ContainsAny(strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(esc), "<>&") {
			t.Fatalf("Slack: %q left markup in %q", s, esc)
		}
	})
}

// A message far over every service's limit is cut, at a character and never inside an escape,
// and the service accepts what is left.
func TestLongMessage(t *testing.T) {
	t.Parallel()
	a := alert(1, ctc.Critical)
	a.Message = strings.Repeat("🐋.<&_", 3000)
	n := &notify.Notification{Alert: a, Revision: 4}
	for _, mode := range []string{notify.ParseHTML, notify.ParseMarkdownV2} {
		text := notify.TelegramText(n, mode)
		parse := notifytest.ParseHTML
		if mode == notify.ParseMarkdownV2 {
			parse = notifytest.ParseMarkdownV2
		}
		plain, err := parse(text)
		if err != nil {
			t.Fatalf("%s: %v", mode, err)
		}
		if u := len(utf16.Encode([]rune(plain))); u > 4096 {
			t.Errorf("%s: %d UTF-16 units, Telegram's limit is 4096", mode, u)
		}
		if !strings.Contains(plain, "…") || !strings.HasSuffix(plain, a.AlertID.String()+":4") {
			t.Errorf("%s: cut wrongly: …%s", mode, plain[len(plain)-200:])
		}
	}
	var slack struct {
		Text   string `json:"text"`
		Blocks []struct {
			Text *struct{ Text string } `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(notify.SlackPayload(n), &slack); err != nil {
		t.Fatal(err)
	}
	sec := slack.Blocks[1].Text.Text
	if utf8.RuneCountInString(sec) > 3000 || !strings.HasSuffix(sec, "…") || strings.HasSuffix(strings.TrimSuffix(sec, "…"), "&") {
		t.Errorf("slack section: %d runes, ends %q", utf8.RuneCountInString(sec), sec[len(sec)-20:])
	}
	var discord struct {
		Embeds []struct{ Description string } `json:"embeds"`
	}
	if err := json.Unmarshal(notify.DiscordPayload(n), &discord); err != nil {
		t.Fatal(err)
	}
	if d := discord.Embeds[0].Description; utf8.RuneCountInString(d) > 4096 || strings.HasSuffix(strings.TrimSuffix(d, "…"), `\`) {
		t.Errorf("discord description: %d runes", utf8.RuneCountInString(d))
	}
}

// What each service gets, in full, for one alert: the contract with the services' formats.
func TestPayloads(t *testing.T) {
	t.Parallel()
	a := alert(7, ctc.High)
	a.Message = "BTC-USDT <@U123> & co"
	n := &notify.Notification{Alert: a, Revision: 3, Attempt: 1, At: time.Unix(1_710_252_000, 0)}
	key := a.AlertID.String() + ":3"
	for _, c := range []struct{ name, got, want string }{
		{"slack", string(notify.SlackPayload(n)), `{"text":"🔴 HIGH volume_spike BTC-USDT on binance: BTC-USDT &lt;@U123&gt; &amp; co","blocks":[` +
			`{"type":"header","text":{"type":"plain_text","text":"🔴 HIGH volume_spike BTC-USDT on binance"}},` +
			`{"type":"section","text":{"type":"mrkdwn","text":"BTC-USDT &lt;@U123&gt; &amp; co"}},` +
			`{"type":"context","elements":[{"type":"mrkdwn","text":"z=4.10 · actual 1.52e+06 · threshold 3 · detected 2024-03-12T14:08:00.000Z · ` + key + `"}]}]}`},
		{"discord", string(notify.DiscordPayload(n)), `{"content":"HIGH volume_spike BTC-USDT on binance","embeds":[{"title":"HIGH volume_spike BTC-USDT on binance",` +
			`"description":"BTC\\-USDT \\<\\@U123\\> \\& co","color":14687834,"fields":[{"name":"Symbol","value":"BTC\\-USDT","inline":true},` +
			`{"name":"Exchange","value":"binance","inline":true},{"name":"Severity","value":"high","inline":true},{"name":"Actual","value":"1.52e+06","inline":true},` +
			`{"name":"Threshold","value":"3","inline":true},{"name":"Z-score","value":"4.10","inline":true}],"timestamp":"2024-03-12T14:08:00.000Z","footer":{"text":"` + key + `"}}],` +
			`"allowed_mentions":{"parse":[]}}`},
		{"telegram html", string(notify.TelegramPayload(n, "-100", "")), `{"chat_id":"-100","text":"<b>🔴 HIGH volume_spike BTC-USDT on binance</b>\nBTC-USDT &lt;@U123&gt; &amp; co\n` +
			`<i>z=4.10 · actual 1.52e+06 · threshold 3 · detected 2024-03-12T14:08:00.000Z</i>\n<code>` + key + `</code>","parse_mode":"HTML","link_preview_options":{"is_disabled":true}}`},
		{"telegram markdown", notify.TelegramText(n, notify.ParseMarkdownV2), "*🔴 HIGH volume\\_spike BTC\\-USDT on binance*\nBTC\\-USDT <@U123\\> & co\n" +
			"_z\\=4\\.10 · actual 1\\.52e\\+06 · threshold 3 · detected 2024\\-03\\-12T14:08:00\\.000Z_\n`" + key + "`"},
	} {
		if c.got != c.want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.name, c.got, c.want)
		}
	}
}

func FuzzVerifySignature(f *testing.F) {
	at := time.Unix(1_710_252_000, 0)
	f.Add("t=1710252000,v1=00", []byte("{}"), int64(0))
	f.Add(notify.Sign([]byte(hmacKey), at, []byte("{}")), []byte("{}"), int64(10))
	f.Add("t=99999999999999999999,v1="+strings.Repeat("a", 64), []byte(""), int64(-1<<62))
	f.Fuzz(func(t *testing.T, header string, body []byte, skew int64) {
		now := at.Add(time.Duration(skew) * time.Second)
		if notify.VerifySignature(hmacKey, header, body, now, 0) == nil {
			// An accepted header carries the genuine MAC for its own timestamp: only the key makes one.
			genuine := notify.Sign([]byte(hmacKey), time.Unix(parseT(header), 0), body)
			if !strings.Contains(header, genuine[strings.Index(genuine, "v1="):]) {
				t.Fatalf("accepted a header without the genuine signature: %q", header)
			}
		}
		// A genuine signature always verifies at its own time.
		sig := notify.Sign([]byte(hmacKey), now, body)
		if err := notify.VerifySignature(hmacKey, sig, body, now, 0); err != nil && now.Unix() >= 0 {
			t.Fatalf("genuine signature %q refused: %v", sig, err)
		}
	})
}

// parseT reads the t= of a header the way a careless reader would, for the fuzz check.
func parseT(h string) int64 {
	for part := range strings.SplitSeq(h, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			var t int64
			for _, c := range v {
				if c < '0' || c > '9' {
					return -1
				}
				t = t*10 + int64(c-'0')
			}
			return t
		}
	}
	return -1
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(exampleConfig))
	f.Add([]byte(`{"destinations":[{"name":"s","kind":"slack","url":"https://hooks.slack.com/services/pasted-secret-value"}]}`))
	f.Add([]byte(`{"rules":[{"to":["x"],"min_severity":"low"}],"delivery":{"max_age":"1h"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := notify.ParseConfig(data, "")
		if err != nil {
			// A value that is not a reference is never echoed.
			if strings.Contains(string(data), "pasted-secret-value") && strings.Contains(err.Error(), "pasted-secret-value") {
				t.Fatalf("error echoes a secret: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted a config Validate refuses: %v", err)
		}
	})
}

func FuzzTelegramText(f *testing.F) {
	f.Add("whale *bought* 15 BTC \\ $1.2M <b> &amp; 🐋")
	f.Add("`code` ```pre``` [x](y) ||s|| __u__")
	f.Fuzz(func(t *testing.T, msg string) {
		a := alert(1, ctc.Medium)
		a.Message = msg
		n := &notify.Notification{Alert: a, Revision: 2}
		for _, mode := range []string{notify.ParseHTML, notify.ParseMarkdownV2} {
			plain, err := map[string]func(string) (string, error){notify.ParseHTML: notifytest.ParseHTML, notify.ParseMarkdownV2: notifytest.ParseMarkdownV2}[mode](notify.TelegramText(n, mode))
			if err != nil {
				t.Fatalf("%s: Telegram would refuse the text for %q: %v", mode, msg, err)
			}
			if utf8.ValidString(msg) && len(msg) < 1000 && !strings.Contains(plain, msg) {
				t.Fatalf("%s: %q shows as %q", mode, msg, plain)
			}
		}
	})
}
