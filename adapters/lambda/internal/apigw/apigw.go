// Package apigw serves an Amazon API Gateway HTTP API (payload format 2.0) with a net/http
// handler: each event becomes an *http.Request, and what the handler writes becomes the
// response event. The API Lambda (adapters/lambda/api) wraps api.New's handler with it, so that
// the API behind API Gateway is byte for byte the API the local server serves.
//
// # Requests
//
// The method is requestContext.http.method; the path is rawPath (less the stage, on a named
// stage) and the query rawQueryString, both passed on unchanged so that the handler sees exactly
// what the client sent (a parameter given twice, an escape it must reject). Headers arrive comma-joined, as API Gateway joins
// repeated headers; cookies come back as one Cookie header. A base64 body (isBase64Encoded) is
// decoded. The request's context is the invocation's, so the handler stops when the Lambda's
// deadline passes. An event that is not a request (no method, a path that is not absolute, a
// body that is not base64 when it says so) is answered 400 with a JSON error, never a panic.
//
// # Responses
//
// The status, the headers (several values of one header comma-joined, as payload 2.0 wants),
// Set-Cookie headers as cookies, and the body: as text when it is valid UTF-8 of a textual
// content type (JSON, text/*, JavaScript, SVG, XML), base64 with isBase64Encoded otherwise (an
// image, a compressed body).
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Handler returns a Lambda handler that serves API Gateway HTTP API events with h. It never
// returns an error: a bad event gets a 400 response.
func Handler(h http.Handler) func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return Serve(ctx, h, &ev), nil
	}
}

// Serve converts ev into a request, runs h, and converts what h wrote into the response.
func Serve(ctx context.Context, h http.Handler, ev *events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	req, err := Request(ctx, ev)
	if err != nil {
		return badRequest(err)
	}
	w := NewResponseWriter()
	h.ServeHTTP(w, req)
	return w.Response()
}

// Request converts an API Gateway HTTP API event into an http.Request with ctx.
func Request(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("the event has no requestContext.http.method: is it an API Gateway HTTP API (payload 2.0) event?")
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	if !strings.HasPrefix(path, "/") {
		return nil, fmt.Errorf("rawPath must start with '/', got %q", truncate(path))
	}
	// On a named stage (not $default) API Gateway puts the stage in rawPath: /prod/alerts.
	if st := ev.RequestContext.Stage; st != "" && st != "$default" {
		if rest, ok := strings.CutPrefix(path, "/"+st); ok && (rest == "" || rest[0] == '/') {
			path = rest
			if path == "" {
				path = "/"
			}
		}
	}
	u, err := url.ParseRequestURI(path)
	if err != nil || u.RawQuery != "" || u.Host != "" {
		return nil, fmt.Errorf("rawPath %q is not a request path", truncate(path))
	}
	u.RawQuery = ev.RawQueryString
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		body, err = base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("the body is marked isBase64Encoded but is not base64: %v", err)
		}
	}
	// The URL is set, not parsed from a string: a path such as //host/x stays a path.
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bad request line: %v", err)
	}
	req.URL = u
	for k, v := range ev.Headers {
		req.Header.Add(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = ev.RequestContext.DomainName
	}
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(body))
	if ev.RequestContext.HTTP.SourceIP != "" {
		req.RemoteAddr = ev.RequestContext.HTTP.SourceIP + ":0"
	}
	if p := ev.RequestContext.HTTP.Protocol; p != "" {
		if major, minor, ok := http.ParseHTTPVersion(p); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = p, major, minor
		}
	}
	return req, nil
}

// ResponseWriter is an http.ResponseWriter that keeps the response for Response.
type ResponseWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

var _ http.ResponseWriter = (*ResponseWriter)(nil)

// NewResponseWriter returns an empty ResponseWriter.
func NewResponseWriter() *ResponseWriter { return &ResponseWriter{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; only the first call counts, as in net/http.
func (w *ResponseWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// Write implements http.ResponseWriter.
func (w *ResponseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Flush implements http.Flusher; the response is sent whole when the handler returns.
func (w *ResponseWriter) Flush() {}

// Response returns what was written as an API Gateway HTTP API response.
func (w *ResponseWriter) Response() events.APIGatewayV2HTTPResponse {
	code := w.code
	if code == 0 {
		code = http.StatusOK
	}
	resp := events.APIGatewayV2HTTPResponse{StatusCode: code, Headers: make(map[string]string, len(w.header))}
	for k, vs := range w.header {
		if k == "Set-Cookie" {
			resp.Cookies = append(resp.Cookies, vs...)
			continue
		}
		resp.Headers[k] = strings.Join(vs, ", ")
	}
	if w.body.Len() > 0 && w.header.Get("Content-Type") == "" {
		// net/http would sniff; so do we, so that the Lambda answers what the server answers.
		resp.Headers["Content-Type"] = http.DetectContentType(w.body.Bytes())
	}
	b := w.body.Bytes()
	if textual(resp.Headers["Content-Type"], w.header.Get("Content-Encoding")) && utf8.Valid(b) {
		resp.Body = string(b)
	} else {
		resp.Body = base64.StdEncoding.EncodeToString(b)
		resp.IsBase64Encoded = true
	}
	return resp
}

// textual reports whether a body of this content type can travel as a JSON string.
func textual(contentType, contentEncoding string) bool {
	if contentEncoding != "" && contentEncoding != "identity" {
		return false
	}
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"),
		mt == "application/json", mt == "application/javascript", mt == "application/xml",
		mt == "application/x-www-form-urlencoded", mt == "image/svg+xml":
		return true
	}
	return false
}

// badRequest answers an event that is not a request, in the API's error format.
func badRequest(err error) events.APIGatewayV2HTTPResponse {
	b, _ := json.Marshal(map[string]string{"error": err.Error()}) // strings always marshal
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusBadRequest,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(b),
	}
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
