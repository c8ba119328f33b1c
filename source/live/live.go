// Package live is the real market as one ctc.Source: Binance (X-USDT, aggTrade) and Coinbase
// Exchange (X-USD, matches) for a list of base assets, merged, with their feed counters. It is the
// wiring the -live modes of the example consumer and the producer share; the protocols live in
// source/binance and source/coinbase.
//
// New first dials every endpoint once, so that a machine without the internet gets a clear error
// at once rather than a source that retries forever.
//
// # Concurrency
//
// The merged source reads each exchange on a goroutine of its own (feed.Merge); Close stops them.
package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/feed"
)

// The exchanges' production endpoints, the defaults of Config.
const (
	BinanceWS    = "wss://stream.binance.com:9443"
	BinanceREST  = "https://api.binance.com"
	CoinbaseWS   = "wss://ws-feed.exchange.coinbase.com"
	CoinbaseREST = "https://api.exchange.coinbase.com"
)

// Config says what to watch and where.
type Config struct {
	// Bases are the base assets to watch, e.g. BTC, ETH: Binance X-USDT and Coinbase X-USD each.
	Bases []string
	// The endpoints; defaults are the production ones above (a testnet or local test servers by
	// configuration).
	BinanceWS, BinanceREST, CoinbaseWS, CoinbaseREST string
	// OnGap is told of every gap either feed detects (and repairs where the exchange allows).
	OnGap func(feed.Gap)
	// DialTimeout bounds the reachability check; default 5 s.
	DialTimeout time.Duration
}

// ParseBases splits a comma-separated list of base assets (" btc, eth ") into upper-case names.
func ParseBases(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.ToUpper(strings.TrimSpace(b)); b != "" && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// Source is Binance and Coinbase merged.
type Source struct {
	*feed.Merge
	// Stats are the feeds' counters by exchange (ctc.Binance, ctc.Coinbase), for metrics.
	Stats map[string]func() feed.StatsSnapshot
}

var _ ctc.Source = (*Source)(nil)

// New checks that every endpoint can be reached and returns the merged source.
func New(ctx context.Context, cfg Config) (*Source, error) {
	if len(cfg.Bases) == 0 {
		return nil, errors.New("live: no asset to watch: name base assets such as BTC,ETH")
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&cfg.BinanceWS, BinanceWS)
	def(&cfg.BinanceREST, BinanceREST)
	def(&cfg.CoinbaseWS, CoinbaseWS)
	def(&cfg.CoinbaseREST, CoinbaseREST)
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	hosts, err := hostsOf(cfg.BinanceWS, cfg.BinanceREST, cfg.CoinbaseWS, cfg.CoinbaseREST)
	if err != nil {
		return nil, err
	}
	if err := reachable(ctx, hosts, cfg.DialTimeout); err != nil {
		return nil, fmt.Errorf("live: the markets cannot be reached: %w; check the network", err)
	}
	var bn, cb []string
	for _, b := range cfg.Bases {
		bn = append(bn, b+"-USDT")
		cb = append(cb, b+"-USD")
	}
	cbs, err := coinbase.New(coinbase.Config{Products: cb, OnGap: cfg.OnGap, WSURL: cfg.CoinbaseWS, RESTURL: cfg.CoinbaseREST})
	if err != nil {
		return nil, err
	}
	bns, err := binance.New(binance.Config{Symbols: bn, OnGap: cfg.OnGap, StreamURL: cfg.BinanceWS, RESTURL: cfg.BinanceREST})
	if err != nil {
		return nil, err
	}
	return &Source{
		Merge: feed.NewMerge(bns, cbs),
		Stats: map[string]func() feed.StatsSnapshot{ctc.Binance: bns.Stats, ctc.Coinbase: cbs.Stats},
	}, nil
}

// hostsOf returns the host:port of every endpoint, once each.
func hostsOf(endpoints ...string) ([]string, error) {
	var hs []string
	for _, raw := range endpoints {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("live: endpoint %q is not a URL", raw)
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
