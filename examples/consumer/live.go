package main

import (
	"context"
	"os"
	"path/filepath"

	"errors"
	"fmt"
	"github.com/coattailcapital/ctc"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/feed"
)

// captureSource replays a raw frame capture of an exchange through that exchange's decoder.
func captureSource(path, exchange string) (ctc.Source, func(context.Context) error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	decode := func(frame []byte, out []ctc.Trade) ([]ctc.Trade, error) {
		out, _, err := coinbase.DecodeFrame(frame, out)
		return out, err
	}
	if exchange == ctc.Binance {
		decode = func(frame []byte, out []ctc.Trade) ([]ctc.Trade, error) {
			out, _, err := binance.DecodeFrame(frame, nil, out)
			return out, err
		}
	}
	src := feed.NewCaptureSource(f, decode, filepath.Base(path))
	return src, func(context.Context) error { return f.Close() }, nil
}

// endpoints are where -live connects: the exchanges by default, a testnet or local test servers
// by flag.
type endpoints struct {
	binanceWS, binanceREST, coinbaseWS, coinbaseREST string
}

// hosts returns the host:port of every endpoint, checked before anything starts so that a machine
// without the internet gets a clear message at once rather than a feed that retries forever.
func (e endpoints) hosts() ([]string, error) {
	var hs []string
	for _, raw := range []string{e.binanceWS, e.binanceREST, e.coinbaseWS, e.coinbaseREST} {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("endpoint %q is not a URL", raw)
		}
		host := u.Host
		if u.Port() == "" {
			port := "443"
			if u.Scheme == "ws" || u.Scheme == "http" {
				port = "80"
			}
			host = net.JoinHostPort(u.Hostname(), port)
		}
		if !slices.Contains(hs, host) {
			hs = append(hs, host)
		}
	}
	return hs, nil
}

// liveSource returns Binance and Coinbase merged, for the base assets in symbols, and their
// counters for the metrics endpoint.
func liveSource(ctx context.Context, symbols string, at endpoints, stderr io.Writer) (*feed.Merge, map[string]func() feed.StatsSnapshot, error) {
	var bases []string
	for _, s := range strings.Split(symbols, ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			bases = append(bases, s)
		}
	}
	if len(bases) == 0 {
		return nil, nil, errors.New("-symbols names no asset")
	}
	hosts, err := at.hosts()
	if err != nil {
		return nil, nil, err
	}
	if err := reachable(ctx, hosts, 5*time.Second); err != nil {
		return nil, nil, fmt.Errorf("-live needs the internet: %w; check the network, or run without -live for the simulator", err)
	}
	onGap := func(g feed.Gap) { fmt.Fprintln(stderr, "consumer:", g) }
	var bn, cb []string
	for _, b := range bases {
		bn = append(bn, b+"-USDT")
		cb = append(cb, b+"-USD")
	}
	cbs, err := coinbase.New(coinbase.Config{Products: cb, OnGap: onGap, WSURL: at.coinbaseWS, RESTURL: at.coinbaseREST})
	if err != nil {
		return nil, nil, err
	}
	bns, err := binance.New(binance.Config{Symbols: bn, OnGap: onGap, StreamURL: at.binanceWS, RESTURL: at.binanceREST})
	if err != nil {
		return nil, nil, err
	}
	stats := map[string]func() feed.StatsSnapshot{ctc.Binance: bns.Stats, ctc.Coinbase: cbs.Stats}
	return feed.NewMerge(bns, cbs), stats, nil
}

// reachable dials every host once, in parallel, and reports the first that cannot be reached.
func reachable(ctx context.Context, hosts []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make(chan error, len(hosts))
	for _, h := range hosts {
		go func() {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", h)
			if err != nil {
				errs <- fmt.Errorf("cannot reach %s (%v)", h, err)
				return
			}
			c.Close()
			errs <- nil
		}()
	}
	var first error
	for range hosts {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}
