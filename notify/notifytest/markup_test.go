package notifytest_test

import (
	"strings"
	"testing"

	"github.com/coattailcapital/ctc/notify/notifytest"
)

// The fakes refuse what Telegram refuses; otherwise tests that pass through them prove nothing.
func TestParseMarkdownV2(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want, err string }{
		{`*bold* _it_ __u__ ~s~ ||sp|| plain`, "bold it u s sp plain", ""},
		{"`a\\`b` ```x\\\\y```", "a`b x\\y", ""},
		{`[link](https://x\.example/a\)b) after`, "link after", ""},
		{`1\.5 \- 2 \\ \!`, `1.5 - 2 \ !`, ""},
		{`1.5`, "", "character '.' is reserved"},
		{`BTC-USDT`, "", "character '-' is reserved"},
		{`a (b)`, "", "character '(' is reserved"},
		{`*open`, "", "can't find end"},
		{"`open", "", "can't find end of Code"},
		{`ends with \`, "", "reserved"},
		{`\é`, "", "cannot be escaped"},
		{"\xff", "", "UTF-8"},
	} {
		got, err := notifytest.ParseMarkdownV2(c.in)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("ParseMarkdownV2(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseMarkdownV2(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
		}
	}
}

func TestParseHTML(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want, err string }{
		{`<b>x</b> <i>y</i> <code>z</code> <a href="https://x">l</a>`, "x y z l", ""},
		{`&lt;&gt;&amp;&quot;&#128011;&#x1F40B;`, `<>&"🐋🐋`, ""},
		{`a < b`, "", "unclosed start tag"},
		{`a <3 b>`, "", "unsupported start tag"},
		{`<script>x</script>`, "", `unsupported start tag "script"`},
		{`<b>x</i>`, "", "unmatched end tag"},
		{`<b>x`, "", "can't find end tag"},
		{`AT&T`, "", "must be escaped as &amp;"},
		{`&nbsp;`, "", "unsupported HTML entity"},
		{`a > b`, "", "must be escaped as &gt;"},
	} {
		got, err := notifytest.ParseHTML(c.in)
		if c.err == "" && (err != nil || got != c.want) {
			t.Errorf("ParseHTML(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ParseHTML(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
		}
	}
}

func TestDiscordUnescape(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`\*a\*`: "*a*", `\a`: `\a`, `\é`: `\é`, `x\`: `x\`, `\\`: `\`} {
		if got := notifytest.DiscordUnescape(in); got != want {
			t.Errorf("DiscordUnescape(%q) = %q, want %q", in, got, want)
		}
	}
}
