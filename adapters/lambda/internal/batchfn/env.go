package batchfn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/coattailcapital/ctc/awsenv"
	"github.com/coattailcapital/ctc/awsenv/lakeenv"
	"github.com/coattailcapital/ctc/sink/iceberg"
)

// FromEnv builds the batch Lambda's handler from the environment (package awsenv): the Iceberg
// catalog of CTC_CATALOG (opened here, once per container), Binance at CTC_BINANCE_ENDPOINT, Coinbase at CTC_COINBASE_ENDPOINT,
// the evidence report's S3 object at CTC_EVIDENCE_URI (when set), and EMF metrics on metrics
// (os.Stdout). close releases the catalog.
func FromEnv(ctx context.Context, e awsenv.Env, metrics io.Writer, log *slog.Logger) (h *Handler, close func() error, err error) {
	cfg, err := e.AWSConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	em, err := e.Metrics(metrics)
	if err != nil {
		return nil, nil, err
	}
	var putEvidence func(context.Context, []byte) error
	if e.EvidenceURI != "" {
		obj, err := awsenv.ParseS3URI(e.EvidenceURI)
		if err != nil {
			return nil, nil, fmt.Errorf("batchfn: CTC_EVIDENCE_URI: %w", err)
		}
		s3c := e.S3(cfg)
		putEvidence = func(ctx context.Context, b []byte) error { return obj.Put(ctx, s3c, b, "application/json") }
	}
	cat, closeCat, err := lakeenv.OpenCatalog(ctx, e, cfg)
	if err != nil {
		return nil, nil, err
	}
	lake := lakeenv.LakeConfig(e, cat)
	h, err = New(Config{
		Lake:    func(ctx context.Context) (*iceberg.Sink, error) { return iceberg.Open(ctx, lake) },
		Binance: e.Binance, Coinbase: e.Coinbase, Metrics: em, Log: log,
		PutEvidence: putEvidence, EvidenceURI: e.EvidenceURI,
	})
	if err != nil {
		return nil, nil, errors.Join(err, closeCat())
	}
	return h, closeCat, nil
}
