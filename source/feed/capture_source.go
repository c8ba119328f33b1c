package feed

import (
	"context"
	"errors"
	"io"

	"github.com/coattailcapital/ctc"
)

// DecodeFunc decodes one exchange frame into trades appended to out: the shape of
// binance.DecodeFrame and coinbase.DecodeFrame once bound to their options.
type DecodeFunc func(frame []byte, out []ctc.Trade) ([]ctc.Trade, error)

// CaptureSource replays a capture (CaptureWriter's format, or a cryptofeed capture) through an
// exchange decoder: a bounded, deterministic ctc.Source of the trades a live source received. A
// frame that does not decode becomes a record with Err set, so the pipeline dead-letters it, as
// it would live. Frames without trades (subscriptions, heartbeats, book updates) produce nothing.
// IngestionTimestamp is the frame's receive time. Offsets count the records (1, 2, …), as
// ctc.Position says, so that every record of a capture has a position of its own.
type CaptureSource struct {
	r         *CaptureReader
	decode    DecodeFunc
	partition string
	pending   []ctc.Trade
	frame     []byte
	offset    int64
	done      bool
}

var _ ctc.Source = (*CaptureSource)(nil)

// NewCaptureSource replays r through decode; positions carry partition.
func NewCaptureSource(r io.Reader, decode DecodeFunc, partition string) *CaptureSource {
	return &CaptureSource{r: NewCaptureReader(r), decode: decode, partition: partition}
}

// Next returns the next trade (or undecodable frame) of the capture, then ctc.ErrEndOfInput.
func (c *CaptureSource) Next(ctx context.Context, rec *ctc.Record) error {
	for len(c.pending) == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if c.done {
			return ctc.ErrEndOfInput
		}
		recv, frame, err := c.r.Next()
		if errors.Is(err, io.EOF) {
			c.done = true
			continue
		}
		if err != nil {
			return err
		}
		c.frame = append(c.frame[:0], frame...)
		trades, derr := c.decode(c.frame, c.pending[:0])
		if derr != nil {
			c.offset++
			*rec = ctc.Record{Data: c.frame, Err: derr, Position: ctc.Position{Partition: c.partition, Offset: c.offset}}
			return nil
		}
		for i := range trades {
			trades[i].IngestionTimestamp = recv
		}
		c.pending = trades
	}
	c.offset++
	*rec = ctc.Record{Data: c.frame, Decoded: true, Trade: c.pending[0],
		Position: ctc.Position{Partition: c.partition, Offset: c.offset}}
	c.pending = c.pending[1:]
	return nil
}
