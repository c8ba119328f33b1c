package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/source/binance"
	"github.com/coattailcapital/ctc/source/coinbase"
	"github.com/coattailcapital/ctc/source/feed"
	"github.com/coattailcapital/ctc/source/live"
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

// liveSource returns Binance and Coinbase merged, for the base assets in symbols, and their
// counters for the metrics endpoint.
func liveSource(ctx context.Context, symbols string, at endpoints, log *slog.Logger) (*live.Source, map[string]func() feed.StatsSnapshot, error) {
	bases := live.ParseBases(symbols)
	if len(bases) == 0 {
		return nil, nil, errors.New("-symbols names no asset")
	}
	src, err := live.New(ctx, live.Config{
		Bases:     bases,
		BinanceWS: at.binanceWS, BinanceREST: at.binanceREST, CoinbaseWS: at.coinbaseWS, CoinbaseREST: at.coinbaseREST,
		OnGap: func(g feed.Gap) {
			log.Warn(g.String(), "exchange", g.Exchange, "symbol", g.Symbol, "repaired", g.Repaired)
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("-live needs the internet: %w, or run without -live for the simulator", err)
	}
	return src, src.Stats, nil
}
