// Package notifytest runs local HTTP servers that act like the services notify delivers to — a
// receiver of ctc's signed webhooks, a Slack incoming webhook, a Discord webhook and the
// Telegram Bot API's sendMessage — so that notifications can be tested end to end without a
// network: each server checks requests as its service does (paths, tokens, signatures, payload
// shape and limits, Telegram's markup), answers as it does, including its rate-limit and error
// shapes, and records what a person would have seen.
//
// Faults are scripted: Fail queues answers for the next requests — a 429 with the service's way
// of saying how long to wait, a 5xx, an answer slower than the client's timeout.
package notifytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
)

// Request is one request a server received.
type Request struct {
	// At is when the request's body had been read.
	At     time.Time
	Path   string
	Header http.Header
	Body   []byte
	// Status is what the server answered (for a slow answer, what it tried to answer).
	Status int
	// Accepted says that the service took the message: a person sees it.
	Accepted bool
	// Problem is why the service refused it, in the service's words.
	Problem string
	// Key is the idempotency key: the webhook's header, or the one the chat message shows.
	Key string
	// Duplicate says that an accepted request's Key had been accepted before: a person saw the
	// message twice (a webhook receiver that drops repeats would not).
	Duplicate bool
	// Alert is the webhook's alert.
	Alert *ctc.Alert
	// Text is what a chat service shows: Slack's text, Discord's embed description, Telegram's
	// message with its markup parsed away.
	Text string
}

// Fault is one scripted answer.
type Fault struct {
	// Status is the status to answer with; 0 answers as usual (after Delay).
	Status int
	// RetryAfter is how long to ask the client to wait, said as the service says it: Retry-After
	// for Slack and the webhook, Retry-After and a JSON retry_after for Discord,
	// parameters.retry_after in Telegram's JSON.
	RetryAfter time.Duration
	// Delay holds the answer back: longer than the client's timeout, it is an answer the client
	// never sees — though the service, like a real one, may still have acted on the request.
	Delay time.Duration
	// Body replaces the service's usual error body.
	Body string
}

// Server is one fake service.
type Server struct {
	srv  *httptest.Server
	kind string
	// secret is the webhook's HMAC key; path what Slack's and Discord's URLs hold; token Telegram's.
	secret, path, token, chatID string

	mu        sync.Mutex
	faults    []Fault
	reqs      []Request
	seen      map[string]bool
	changed   chan struct{}
	now       func() time.Time
	tolerance time.Duration
	hook      func(Request)
	nextID    int
}

func newServer(t testing.TB, kind string) *Server {
	s := &Server{kind: kind, seen: map[string]bool{}, changed: make(chan struct{}), now: time.Now}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// NewWebhook is a receiver of notify's webhooks that verifies each signature with secret (at
// the server's clock, within notify.DefaultTolerance) and answers 401 to a bad one, 400 to a body
// that is not an alert, 200 otherwise.
func NewWebhook(t testing.TB, secret string) *Server {
	s := newServer(t, notify.KindWebhook)
	s.secret = secret
	return s
}

// NewSlack is a Slack incoming webhook. URL is the webhook URL (a secret in real life).
func NewSlack(t testing.TB) *Server {
	s := newServer(t, notify.KindSlack)
	s.path = "/services/T0CTC0000/B0CTC0000/sEcReTsLaCkToKeN0123456789"
	return s
}

// NewDiscord is a Discord webhook. URL is the webhook URL, token included.
func NewDiscord(t testing.TB) *Server {
	s := newServer(t, notify.KindDiscord)
	s.path = "/api/webhooks/112233445566778899/dIsCoRdWeBhOoKtOkEn-0123456789abcdefABCDEF"
	return s
}

// NewTelegram is the Bot API for one bot (token) allowed to post to one chat.
func NewTelegram(t testing.TB, token, chatID string) *Server {
	s := newServer(t, notify.KindTelegram)
	s.token, s.chatID = token, chatID
	return s
}

// URL is where to send: the webhook's, Slack's or Discord's full URL, or Telegram's API base URL.
func (s *Server) URL() string {
	if s.kind == notify.KindTelegram || s.kind == notify.KindWebhook {
		return s.srv.URL
	}
	return s.srv.URL + s.path
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Client is an HTTP client for the server (the default transport also works).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// SetClock sets the clock the webhook receiver checks signatures against.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// OnRequest calls f with every request, once processed and before it is answered.
func (s *Server) OnRequest(f func(Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = f
}

// Fail queues answers for the next len(f) requests.
func (s *Server) Fail(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Requests returns every request received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Accepted returns the requests the service took, in order.
func (s *Server) Accepted() []Request {
	var out []Request
	for _, r := range s.Requests() {
		if r.Accepted {
			out = append(out, r)
		}
	}
	return out
}

// Wait blocks until the server has accepted n requests, or ctx ends.
func (s *Server) Wait(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		k := 0
		for _, r := range s.reqs {
			if r.Accepted {
				k++
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if k >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("notifytest: %d of %d requests accepted: %w", k, n, ctx.Err())
		}
	}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	s.mu.Lock()
	var f *Fault
	if len(s.faults) > 0 {
		f = &s.faults[0]
		s.faults = s.faults[1:]
	}
	now := s.now
	s.mu.Unlock()
	req := Request{At: time.Now(), Path: r.URL.Path, Header: r.Header.Clone(), Body: body}

	if f != nil && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			// The client gave up; a real service would still act on what it received.
		}
	}
	var a answer
	if f != nil && f.Status != 0 {
		a = s.fault(*f)
	} else {
		a = s.handle(&req, now())
	}
	req.Status = a.status

	s.mu.Lock()
	if req.Accepted {
		req.Duplicate = req.Key != "" && s.seen[req.Key]
		s.seen[req.Key] = true
		s.nextID++
		if s.kind == notify.KindTelegram {
			a.body = fmt.Sprintf(`{"ok":true,"result":{"message_id":%d,"chat":{"id":%s},"date":%d,"text":%s}}`,
				s.nextID, strconv.Quote(s.chatID), req.At.Unix(), jsonString(req.Text))
		}
	}
	s.reqs = append(s.reqs, req)
	close(s.changed)
	s.changed = make(chan struct{})
	hook := s.hook
	s.mu.Unlock()

	if hook != nil {
		hook(req)
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if a.body != "" && w.Header().Get("Content-Type") == "" {
		if strings.HasPrefix(a.body, "{") {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

type answer struct {
	status int
	header http.Header
	body   string
}

// fault answers a scripted failure the way the service does.
func (s *Server) fault(f Fault) answer {
	a := answer{status: f.Status, header: http.Header{}, body: f.Body}
	secs := f.RetryAfter.Seconds()
	switch s.kind {
	case notify.KindTelegram:
		if a.body == "" {
			desc := http.StatusText(f.Status)
			params := ""
			if f.Status == http.StatusTooManyRequests {
				desc = fmt.Sprintf("Too Many Requests: retry after %d", int(math.Ceil(secs)))
			}
			if f.RetryAfter > 0 {
				params = fmt.Sprintf(`,"parameters":{"retry_after":%s}`, strconv.FormatFloat(secs, 'f', -1, 64))
			}
			a.body = fmt.Sprintf(`{"ok":false,"error_code":%d,"description":%q%s}`, f.Status, desc, params)
		}
	case notify.KindDiscord:
		if f.RetryAfter > 0 {
			a.header.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
			a.header.Set("X-RateLimit-Scope", "user")
		}
		if a.body == "" {
			if f.Status == http.StatusTooManyRequests {
				a.body = fmt.Sprintf(`{"message":"You are being rate limited.","retry_after":%s,"global":false}`, strconv.FormatFloat(secs, 'f', 3, 64))
			} else {
				a.body = fmt.Sprintf(`{"message":%q,"code":0}`, http.StatusText(f.Status))
			}
		}
	default: // Slack and the webhook: a Retry-After header in whole seconds
		if f.RetryAfter > 0 {
			a.header.Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
		}
		if a.body == "" {
			a.body = map[int]string{429: "rate_limited", 500: "rollup_error", 503: "service_unavailable"}[f.Status]
		}
	}
	return a
}

// handle answers a request as the service does when all is well with it.
func (s *Server) handle(req *Request, now time.Time) answer {
	switch s.kind {
	case notify.KindWebhook:
		return s.webhook(req, now)
	case notify.KindSlack:
		return s.slack(req)
	case notify.KindDiscord:
		return s.discord(req)
	}
	return s.telegram(req)
}

func (s *Server) webhook(req *Request, now time.Time) answer {
	s.mu.Lock()
	tol := s.tolerance
	s.mu.Unlock()
	if err := notify.VerifySignature(s.secret, req.Header.Get(notify.SignatureHeader), req.Body, now, tol); err != nil {
		req.Problem = err.Error()
		return answer{status: http.StatusUnauthorized, body: "bad signature"}
	}
	var a ctc.Alert
	if err := json.Unmarshal(req.Body, &a); err != nil {
		req.Problem = err.Error()
		return answer{status: http.StatusBadRequest, body: "not an alert"}
	}
	req.Alert, req.Key, req.Accepted = &a, req.Header.Get(notify.IdempotencyHeader), true
	req.Text = a.Message
	return answer{status: http.StatusOK, body: "ok"}
}

// keyIn finds an idempotency key ("<uuid>:<revision>") at the end of s.
func keyIn(s string) string {
	i := strings.LastIndexAny(s, " \n`>")
	k := strings.Trim(s[i+1:], "`")
	if len(k) > 37 && k[36] == ':' {
		return k
	}
	return ""
}

func (s *Server) slack(req *Request) answer {
	if req.Path != s.path {
		req.Problem = "no_service"
		return answer{status: http.StatusNotFound, body: "no_service"}
	}
	var p struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
			Elements []struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"elements"`
		} `json:"blocks"`
	}
	bad := func(why string) answer {
		req.Problem = why
		return answer{status: http.StatusBadRequest, body: why}
	}
	if json.Unmarshal(req.Body, &p) != nil {
		return bad("invalid_payload")
	}
	if p.Text == "" && len(p.Blocks) == 0 {
		return bad("no_text")
	}
	if len(p.Blocks) > 50 || len([]rune(p.Text)) > 40000 {
		return bad("invalid_blocks")
	}
	for _, b := range p.Blocks {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || len([]rune(b.Text.Text)) > 150 {
				return bad("invalid_blocks")
			}
		case "section":
			if b.Text == nil || len([]rune(b.Text.Text)) > 3000 {
				return bad("invalid_blocks")
			}
			req.Text = slackUnescape(b.Text.Text)
		case "context":
			for _, e := range b.Elements {
				if k := keyIn(e.Text); k != "" {
					req.Key = k
				}
			}
		default:
			return bad("invalid_blocks")
		}
	}
	req.Accepted = true
	return answer{status: http.StatusOK, body: "ok"}
}

func slackUnescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func (s *Server) discord(req *Request) answer {
	if req.Path != s.path {
		req.Problem = "Invalid Webhook Token"
		return answer{status: http.StatusUnauthorized, body: `{"message": "Invalid Webhook Token", "code": 50027}`}
	}
	var p struct {
		Content *string `json:"content"`
		Embeds  []struct {
			Title       string `json:"title"`
			Description string `json:"description"`
			Fields      []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"fields"`
			Footer struct {
				Text string `json:"text"`
			} `json:"footer"`
		} `json:"embeds"`
		AllowedMentions *struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}
	bad := func(why string, code int) answer {
		req.Problem = why
		return answer{status: http.StatusBadRequest, body: fmt.Sprintf(`{"message":%q,"code":%d}`, why, code)}
	}
	if json.Unmarshal(req.Body, &p) != nil {
		return bad("The request body contains invalid JSON.", 50109)
	}
	if (p.Content == nil || *p.Content == "") && len(p.Embeds) == 0 {
		return bad("Cannot send an empty message", 50006)
	}
	if p.Content != nil && len([]rune(*p.Content)) > 2000 || len(p.Embeds) > 10 {
		return bad("Invalid Form Body", 50035)
	}
	total := 0
	for _, e := range p.Embeds {
		if len([]rune(e.Title)) > 256 || len([]rune(e.Description)) > 4096 || len(e.Fields) > 25 {
			return bad("Invalid Form Body", 50035)
		}
		total += len([]rune(e.Title)) + len([]rune(e.Description)) + len([]rune(e.Footer.Text))
		for _, f := range e.Fields {
			if f.Name == "" || f.Value == "" || len([]rune(f.Value)) > 1024 {
				return bad("Invalid Form Body", 50035)
			}
			total += len([]rune(f.Name)) + len([]rune(f.Value))
		}
		req.Text = DiscordUnescape(e.Description)
		req.Key = keyIn(e.Footer.Text)
	}
	if total > 6000 {
		return bad("Invalid Form Body", 50035)
	}
	if p.AllowedMentions == nil {
		// Not Discord's rule, but this package's: a message without it could ping @everyone.
		return bad("allowed_mentions missing", 50035)
	}
	req.Accepted = true
	return answer{status: http.StatusNoContent}
}

// DiscordUnescape removes the backslash Discord's markdown drops before punctuation.
func DiscordUnescape(s string) string {
	var b strings.Builder
	esc := false
	for _, r := range s {
		if !esc && r == '\\' {
			esc = true
			continue
		}
		if esc && (r >= 0x80 || !strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r)) {
			b.WriteByte('\\')
		}
		esc = false
		b.WriteRune(r)
	}
	if esc {
		b.WriteByte('\\')
	}
	return b.String()
}

func (s *Server) telegram(req *Request) answer {
	fail := func(code int, desc string) answer {
		req.Problem = desc
		return answer{status: code, body: fmt.Sprintf(`{"ok":false,"error_code":%d,"description":%s}`, code, jsonString(desc))}
	}
	rest, ok := strings.CutPrefix(req.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return fail(http.StatusNotFound, "Not Found")
	}
	if token != s.token {
		return fail(http.StatusUnauthorized, "Unauthorized")
	}
	if method != "sendMessage" {
		return fail(http.StatusNotFound, "Not Found")
	}
	var p struct {
		ChatID    json.RawMessage `json:"chat_id"`
		Text      string          `json:"text"`
		ParseMode string          `json:"parse_mode"`
	}
	if json.Unmarshal(req.Body, &p) != nil {
		return fail(http.StatusBadRequest, "Bad Request: invalid JSON")
	}
	var chat string
	if json.Unmarshal(p.ChatID, &chat) != nil {
		var num int64
		if json.Unmarshal(p.ChatID, &num) != nil {
			return fail(http.StatusBadRequest, "Bad Request: chat_id is empty")
		}
		chat = strconv.FormatInt(num, 10)
	}
	if chat != s.chatID {
		return fail(http.StatusBadRequest, "Bad Request: chat not found")
	}
	var text string
	var err error
	switch p.ParseMode {
	case "":
		text = p.Text
	case "MarkdownV2":
		text, err = ParseMarkdownV2(p.Text)
	case "HTML":
		text, err = ParseHTML(p.Text)
	default:
		return fail(http.StatusBadRequest, "Bad Request: unsupported parse_mode")
	}
	if err != nil {
		return fail(http.StatusBadRequest, "Bad Request: can't parse entities: "+err.Error())
	}
	if strings.TrimSpace(text) == "" {
		return fail(http.StatusBadRequest, "Bad Request: message text is empty")
	}
	if len(utf16.Encode([]rune(text))) > 4096 {
		return fail(http.StatusBadRequest, "Bad Request: message is too long")
	}
	lines := strings.Split(text, "\n")
	req.Key = keyIn(lines[len(lines)-1])
	if len(lines) >= 4 {
		text = strings.Join(lines[1:len(lines)-2], "\n") // the message between headline and figures
	}
	req.Text, req.Accepted = text, true
	return answer{status: http.StatusOK}
}
