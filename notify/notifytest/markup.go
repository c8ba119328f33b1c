package notifytest

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// markdownV2Reserved are the characters Telegram's MarkdownV2 requires escaped outside entities.
const markdownV2Reserved = "_*[]()~`>#+-=|{}.!"

// ParseMarkdownV2 parses text in Telegram's MarkdownV2 as the Bot API does and returns the plain
// text a person sees, or the API's complaint: a reserved character not escaped, an entity not
// closed, a backslash before nothing. Entities: *bold*, _italic_, __underline__, ~strike~,
// ||spoiler||, `code`, ```pre```, [text](url).
func ParseMarkdownV2(s string) (string, error) {
	var out strings.Builder
	var open []string // entity markers, innermost last
	toggle := func(m string) {
		if len(open) > 0 && open[len(open)-1] == m {
			open = open[:len(open)-1]
			return
		}
		open = append(open, m)
	}
	inLink := false
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return "", fmt.Errorf("text must be encoded in UTF-8")
		}
		switch {
		case r == '\\':
			if i+1 >= len(s) {
				return "", fmt.Errorf("character '\\' is reserved and must be escaped with the preceding '\\'")
			}
			e, m := utf8.DecodeRuneInString(s[i+1:])
			if e < 1 || e > 126 {
				return "", fmt.Errorf("character %q cannot be escaped (byte offset %d)", e, i)
			}
			out.WriteRune(e)
			i += 1 + m
			continue
		case strings.HasPrefix(s[i:], "```"):
			end := codeEnd(s, i+3, "```")
			if end < 0 {
				return "", fmt.Errorf("can't find end of Pre entity at byte offset %d", i)
			}
			out.WriteString(unescapeCode(s[i+3 : end]))
			i = end + 3
			continue
		case r == '`':
			end := codeEnd(s, i+1, "`")
			if end < 0 {
				return "", fmt.Errorf("can't find end of Code entity at byte offset %d", i)
			}
			out.WriteString(unescapeCode(s[i+1 : end]))
			i = end + 1
			continue
		case strings.HasPrefix(s[i:], "__"):
			toggle("__")
			i += 2
			continue
		case strings.HasPrefix(s[i:], "||"):
			toggle("||")
			i += 2
			continue
		case r == '*' || r == '_' || r == '~':
			toggle(string(r))
		case r == '[' && !inLink:
			inLink = true
		case r == ']' && inLink:
			if !strings.HasPrefix(s[i:], "](") {
				return "", fmt.Errorf("can't find end of TextUrl entity at byte offset %d", i)
			}
			end := strings.IndexByte(s[i+2:], ')')
			for end >= 0 && s[i+2+end-1] == '\\' {
				next := strings.IndexByte(s[i+2+end+1:], ')')
				if next < 0 {
					end = -1
					break
				}
				end += 1 + next
			}
			if end < 0 {
				return "", fmt.Errorf("can't find end of URL at byte offset %d", i)
			}
			inLink = false
			i += 2 + end + 1
			continue
		case strings.ContainsRune(markdownV2Reserved, r):
			return "", fmt.Errorf("character '%c' is reserved and must be escaped with the preceding '\\' (byte offset %d)", r, i)
		default:
			out.WriteRune(r)
		}
		i += n
	}
	if len(open) > 0 {
		return "", fmt.Errorf("can't find end of the entity starting with %q", open[len(open)-1])
	}
	if inLink {
		return "", fmt.Errorf("can't find end of TextUrl entity")
	}
	return out.String(), nil
}

// codeEnd finds the unescaped end marker of a code entity starting at i.
func codeEnd(s string, i int, marker string) int {
	for i < len(s) {
		if s[i] == '\\' {
			i += 2
			continue
		}
		if strings.HasPrefix(s[i:], marker) {
			return i
		}
		i++
	}
	return -1
}

func unescapeCode(s string) string {
	return strings.NewReplacer("\\`", "`", `\\`, `\`).Replace(s)
}

// htmlTags are the tags Telegram's HTML parse mode supports.
var htmlTags = map[string]bool{
	"b": true, "strong": true, "i": true, "em": true, "u": true, "ins": true, "s": true, "strike": true,
	"del": true, "code": true, "pre": true, "a": true, "tg-spoiler": true, "span": true, "blockquote": true,
	"tg-emoji": true,
}

// ParseHTML parses text in Telegram's HTML parse mode as the Bot API does and returns the plain
// text a person sees, or the API's complaint: an unsupported tag, a tag not closed or closed out
// of order, a bare < or &, an entity other than &lt; &gt; &amp; &quot; and numeric ones.
func ParseHTML(s string) (string, error) {
	var out strings.Builder
	var open []string
	for i := 0; i < len(s); {
		switch s[i] {
		case '<':
			end := strings.IndexByte(s[i:], '>')
			if end < 0 {
				return "", fmt.Errorf("unclosed start tag at byte offset %d", i)
			}
			tag := s[i+1 : i+end]
			closing := strings.HasPrefix(tag, "/")
			name, _, _ := strings.Cut(strings.TrimPrefix(tag, "/"), " ")
			if !htmlTags[name] {
				return "", fmt.Errorf("unsupported start tag %q at byte offset %d", name, i)
			}
			if closing {
				if len(open) == 0 || open[len(open)-1] != name {
					return "", fmt.Errorf("unmatched end tag at byte offset %d, expected \"</%s>\", found \"</%s>\"", i, last(open), name)
				}
				open = open[:len(open)-1]
			} else {
				open = append(open, name)
			}
			i += end + 1
		case '>':
			return "", fmt.Errorf("character '>' must be escaped as &gt; (byte offset %d)", i)
		case '&':
			end := strings.IndexByte(s[i:], ';')
			if end < 0 {
				return "", fmt.Errorf("character '&' must be escaped as &amp; (byte offset %d)", i)
			}
			ent := s[i+1 : i+end]
			switch {
			case ent == "lt":
				out.WriteByte('<')
			case ent == "gt":
				out.WriteByte('>')
			case ent == "amp":
				out.WriteByte('&')
			case ent == "quot":
				out.WriteByte('"')
			case strings.HasPrefix(ent, "#x") || strings.HasPrefix(ent, "#X"):
				v, err := strconv.ParseUint(ent[2:], 16, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					return "", fmt.Errorf("unsupported HTML entity at byte offset %d", i)
				}
				out.WriteRune(rune(v))
			case strings.HasPrefix(ent, "#"):
				v, err := strconv.ParseUint(ent[1:], 10, 32)
				if err != nil || !utf8.ValidRune(rune(v)) {
					return "", fmt.Errorf("unsupported HTML entity at byte offset %d", i)
				}
				out.WriteRune(rune(v))
			default:
				return "", fmt.Errorf("unsupported HTML entity %q at byte offset %d", "&"+ent+";", i)
			}
			i += end + 1
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return "", fmt.Errorf("text must be encoded in UTF-8")
			}
			out.WriteRune(r)
			i += n
		}
	}
	if len(open) > 0 {
		return "", fmt.Errorf("can't find end tag corresponding to start tag %q", last(open))
	}
	return out.String(), nil
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
