package api

import (
	"context"
	"net"
	"net/http"
	"time"
)

// The timeouts NewServer sets. Every API answer is one small JSON document built in memory and
// the dashboard's files are a few kilobytes, so generous values still cut slow or stuck clients
// off long before they can pile up.
const (
	// ReadHeaderTimeout bounds reading a request's headers (the Slowloris guard).
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading a whole request; API requests have no body.
	ReadTimeout = 10 * time.Second
	// WriteTimeout bounds handling a request and writing its response, store queries included.
	WriteTimeout = 30 * time.Second
	// IdleTimeout is how long a keep-alive connection may wait for its next request; the
	// dashboard polls every 2 s, well within it.
	IdleTimeout = 120 * time.Second
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
)

// NewServer returns an http.Server for h on addr (e.g. "127.0.0.1:8080") with ReadHeaderTimeout
// 5 s, ReadTimeout 10 s, WriteTimeout 30 s, IdleTimeout 120 s and MaxHeaderBytes 64 KiB. Start it
// with ListenAndServe (or Serve on a listener of your own) and stop it with Shutdown.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// Start listens on addr and serves h in the background on a NewServer. It returns the URL it
// listens on (the port chosen when addr asks for port 0) and a function that shuts the server
// down, waiting up to 5 s for requests in flight. A command serving the API calls it once.
func Start(addr string, h http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := NewServer(addr, h)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
