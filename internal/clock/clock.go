// Package clock holds the one way ctc's live sources wait on the wall clock.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d or until ctx is done, whichever comes first, and returns ctx's error in the
// second case.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
