package apigw

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

// echo answers with what it received, so that the tests see the request the handler saw.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_, deadline := r.Context().Deadline()
	json.NewEncoder(w).Encode(map[string]any{
		"method": r.Method, "path": r.URL.Path, "raw_query": r.URL.RawQuery, "request_uri": r.RequestURI,
		"host": r.Host, "cookie": r.Header.Get("Cookie"), "accept": r.Header.Values("Accept"),
		"body": string(body), "body_b64": base64.StdEncoding.EncodeToString(body), "content_length": r.ContentLength, "remote": r.RemoteAddr, "deadline": deadline,
	})
})

func event(method, path, query string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, RawQueryString: query,
		Headers: map[string]string{"host": "abc.execute-api.us-east-1.amazonaws.com", "accept": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "abc.execute-api.us-east-1.amazonaws.com",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, Protocol: "HTTP/1.1", SourceIP: "192.0.2.1"},
		},
	}
}

func TestRequest(t *testing.T) {
	t.Parallel()
	b64 := event("POST", "/x", "")
	b64.Body, b64.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte("\x00\xffbinary")), true
	cookies := event("GET", "/", "")
	cookies.Cookies = []string{"a=1", "b=2"}
	noHost := event("GET", "/alerts", "")
	delete(noHost.Headers, "host")
	for _, c := range []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
		want map[string]any
	}{
		{"query passed on raw", event("GET", "/alerts", "type=whale&limit=5&limit=6&since=2024-01-01T00:00:00+01:00&x=%zz"), map[string]any{
			"method": "GET", "path": "/alerts", "raw_query": "type=whale&limit=5&limit=6&since=2024-01-01T00:00:00+01:00&x=%zz",
			"request_uri": "/alerts?type=whale&limit=5&limit=6&since=2024-01-01T00:00:00+01:00&x=%zz"}},
		{"escaped path", event("GET", "/metrics/BTC%2DUSDT", ""), map[string]any{"path": "/metrics/BTC-USDT", "request_uri": "/metrics/BTC%2DUSDT"}},
		{"host and remote", event("GET", "/", ""), map[string]any{"host": "abc.execute-api.us-east-1.amazonaws.com", "remote": "192.0.2.1:0", "accept": []any{"application/json"}}},
		{"host from the domain", noHost, map[string]any{"host": "abc.execute-api.us-east-1.amazonaws.com"}},
		{"base64 body", b64, map[string]any{"method": "POST", "body_b64": base64.StdEncoding.EncodeToString([]byte("\x00\xffbinary")), "content_length": float64(8)}},
		{"plain body", func() events.APIGatewayV2HTTPRequest { e := event("PUT", "/y", ""); e.Body = "héllo"; return e }(),
			map[string]any{"body": "héllo", "content_length": float64(6)}},
		{"double slash stays a path", event("GET", "//evil.example/x", ""), map[string]any{"path": "//evil.example/x", "host": "abc.execute-api.us-east-1.amazonaws.com"}},
		{"named stage", func() events.APIGatewayV2HTTPRequest {
			e := event("GET", "/prod/alerts", "limit=5")
			e.RequestContext.Stage = "prod"
			return e
		}(), map[string]any{"path": "/alerts", "request_uri": "/alerts?limit=5"}},
		{"named stage root", func() events.APIGatewayV2HTTPRequest {
			e := event("GET", "/prod", "")
			e.RequestContext.Stage = "prod"
			return e
		}(), map[string]any{"path": "/"}},
		{"stage-like prefix kept", func() events.APIGatewayV2HTTPRequest {
			e := event("GET", "/production/x", "")
			e.RequestContext.Stage = "prod"
			return e
		}(), map[string]any{"path": "/production/x"}},
		{"$default stage", func() events.APIGatewayV2HTTPRequest {
			e := event("GET", "/alerts", "")
			e.RequestContext.Stage = "$default"
			return e
		}(), map[string]any{"path": "/alerts"}},
		{"cookies", cookies, map[string]any{"cookie": "a=1; b=2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := Serve(context.Background(), echo, &c.ev)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range c.want {
				if d := cmp.Diff(v, got[k]); d != "" {
					t.Errorf("%s (-want +got):\n%s", k, d)
				}
			}
		})
	}
}

// The invocation's deadline reaches the handler, which can stop when it passes.
func TestRequestContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ev := event("GET", "/", "")
	var got context.Context
	Serve(ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Context() }), &ev)
	if dl, ok := got.Deadline(); !ok || dl.IsZero() {
		t.Fatal("the request has no deadline")
	}
	cancel()
	if got.Err() == nil {
		t.Fatal("cancelling the invocation did not cancel the request")
	}
}

func TestBadEvents(t *testing.T) {
	t.Parallel()
	b64 := event("POST", "/x", "")
	b64.Body, b64.IsBase64Encoded = "not base64!", true
	for _, c := range []struct {
		name string
		ev   events.APIGatewayV2HTTPRequest
		want string
	}{
		{"no method", events.APIGatewayV2HTTPRequest{RawPath: "/"}, "no requestContext.http.method"},
		{"relative path", event("GET", "alerts", ""), "must start with '/'"},
		{"bad method", event("GE T", "/", ""), "bad request line"},
		{"bad base64", b64, "not base64"},
		{"control character", event("GET", "/a\nb", ""), "not a request path"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp := Serve(context.Background(), echo, &c.ev)
			var body struct{ Error string }
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", resp.Body, err)
			}
			if resp.StatusCode != 400 || !strings.Contains(body.Error, c.want) {
				t.Fatalf("got %d %q, want 400 with %q", resp.StatusCode, body.Error, c.want)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00")
	for _, c := range []struct {
		name  string
		serve http.HandlerFunc
		want  events.APIGatewayV2HTTPResponse
	}{
		{"json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			w.Write([]byte(`{"error":"limit must be 1..200, got 500"}`))
		}, events.APIGatewayV2HTTPResponse{StatusCode: 400, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"error":"limit must be 1..200, got 500"}`}},
		{"multi-value headers and cookies", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Origin")
			w.Header().Add("Vary", "Accept")
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2; Path=/")
			w.WriteHeader(204)
		}, events.APIGatewayV2HTTPResponse{StatusCode: 204, Headers: map[string]string{"Vary": "Origin, Accept"},
			Cookies: []string{"a=1", "b=2; Path=/"}}},
		{"binary", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "image/png"},
			Body: base64.StdEncoding.EncodeToString(png), IsBase64Encoded: true}},
		{"javascript", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			w.Write([]byte("let x = 'é';"))
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/javascript; charset=utf-8"},
			Body: "let x = 'é';"}},
		{"svg", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/svg+xml")
			w.Write([]byte("<svg/>"))
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "image/svg+xml"}, Body: "<svg/>"}},
		{"gzip", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Encoding", "gzip")
			w.Write([]byte("{}"))
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"},
			Body: base64.StdEncoding.EncodeToString([]byte("{}")), IsBase64Encoded: true}},
		{"invalid UTF-8 text", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte{0xff})
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"},
			Body: "/w==", IsBase64Encoded: true}},
		{"sniffed", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello")) },
			events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "hello"}},
		{"first status wins", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404); w.WriteHeader(500) },
			events.APIGatewayV2HTTPResponse{StatusCode: 404, Headers: map[string]string{}}},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {},
			events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := event("GET", "/", "")
			got, err := Handler(c.serve)(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Fatalf("(-want +got):\n%s", d)
			}
		})
	}
}

// Whatever bytes arrive as an event, the conversion answers without panicking, and a request it
// accepts reaches the handler with the event's method and raw query.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"version":"2.0","rawPath":"/alerts","rawQueryString":"type=whale&limit=5","requestContext":{"http":{"method":"GET"}}}`,
		`{"rawPath":"/x","body":"AAE=","isBase64Encoded":true,"requestContext":{"http":{"method":"POST"}},"cookies":["a=1"]}`,
		`{"rawPath":"//x","requestContext":{"http":{"method":"GET"}}}`, `{}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(b, &ev) != nil {
			return
		}
		resp := Serve(context.Background(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != ev.RequestContext.HTTP.Method || r.URL.RawQuery != ev.RawQueryString {
				t.Fatalf("request %s ?%s from event %s ?%s", r.Method, r.URL.RawQuery, ev.RequestContext.HTTP.Method, ev.RawQueryString)
			}
			w.WriteHeader(299)
		}), &ev)
		if resp.StatusCode != 299 && resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}
