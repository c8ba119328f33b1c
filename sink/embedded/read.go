package embedded

import (
	"errors"
	"fmt"
	"github.com/coattailcapital/ctc/internal/binx"
	"io"
	"os"

	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
)

// ReadFile returns what the store file at path holds: the latest version of every alert, volume
// window and spread window written, expired or not (the file has no clock), in the order of their
// latest write. It does not change the file and works while a Store has it open, reading the
// records written so far; a torn last record is ignored and damaged records are skipped, as Open
// does. It is for inspection, export and tests, not for queries.
func ReadFile(path string) (*ctc.Output, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	sc := newScanner(path, f, fi.Size())
	if empty, err := sc.header(); err != nil || empty {
		return &ctc.Output{}, err
	}
	// Every version is kept in file order, and a later version marks the earlier one gone.
	type rec struct {
		a    *ctc.Alert
		v    *ctc.VolumeWindow
		w    *ctc.SpreadWindow
		gone bool
	}
	var recs []rec
	latest := map[any]int{}
	put := func(id any, r rec) {
		if i, ok := latest[id]; ok {
			recs[i].gone = true
		}
		latest[id] = len(recs)
		recs = append(recs, r)
	}
	for {
		k, body, err := sc.next()
		if errors.Is(err, io.EOF) || errors.Is(err, errTorn) {
			break
		}
		if err != nil {
			return nil, err
		}
		d := decoder{Reader: binx.Reader{B: body}}
		off := sc.off - int64(frameSize+1+len(body))
		switch k {
		case kindAlert:
			a, err := d.alert()
			if err != nil {
				return nil, corrupt(path, off, "alert: %v", err)
			}
			put(uuid.UUID(a.AlertID), rec{a: &a})
		case kindVolume:
			v, err := d.volume()
			if err != nil {
				return nil, corrupt(path, off, "volume window: %v", err)
			}
			put(newAggKey(v.WindowStart, v.Symbol, v.Exchange), rec{v: &v})
		case kindSpread:
			w, err := d.spread()
			if err != nil {
				return nil, corrupt(path, off, "spread window: %v", err)
			}
			put(spreadID{newAggKey(w.WindowStart, w.Symbol, "")}, rec{w: &w})
		default:
			return nil, corrupt(path, off, "unknown record kind %d (written by a newer build?)", k)
		}
	}
	out := &ctc.Output{}
	for _, r := range recs {
		switch {
		case r.gone:
		case r.a != nil:
			out.Alerts = append(out.Alerts, *r.a)
		case r.v != nil:
			out.Volumes = append(out.Volumes, *r.v)
		default:
			out.Spreads = append(out.Spreads, *r.w)
		}
	}
	return out, nil
}

// spreadID keeps a spread's identity apart from a volume window's with an empty exchange.
type spreadID struct{ aggKey }
