package dynamodb

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/coattailcapital/ctc"
)

// QueryAlerts returns the live alerts q selects, newest first (by DetectedAt, then AlertID
// descending), at most q.Limit of them. Every access pattern is a Query, never a Scan:
//
//   - a type: type-time-index, detected_at >= Since, newest first;
//   - a symbol: symbol-time-index likewise;
//   - a type and a symbol: symbol-time-index with a filter on the type;
//   - neither: type-time-index once per alert type in the registry, merged.
//
// Items whose ttl_epoch <= now are filtered out (DynamoDB deletes expired items only within a day
// or two, and emulators never), and pages are read until Limit live alerts are found. Alerts that
// tie on detected_at with the last one kept are read too, since an index orders ties arbitrarily.
func (s *Store) QueryAlerts(ctx context.Context, q ctc.AlertQuery) ([]ctc.Alert, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if q.Limit < 1 {
		return nil, fmt.Errorf("dynamodb: limit must be >= 1, got %d", q.Limit)
	}
	since, ok := "", true
	if !q.Since.IsZero() {
		if since, ok = sinceKey(q.Since); !ok {
			return []ctc.Alert{}, nil
		}
	}
	before := ""
	if !q.Before.IsZero() {
		switch k, ok := sinceKey(q.Before.DetectedAt); {
		case !ok: // after year 9999: every stored alert comes after it
		case k == "": // before year 0: none does
			return []ctc.Alert{}, nil
		default:
			before = k
		}
	}
	if since != "" && before != "" && since > before {
		return []ctc.Alert{}, nil // an empty range, which BETWEEN refuses
	}
	now := s.cfg.Now().Unix()
	r := indexRange{since: since, before: before, key: q.Before}
	switch {
	case q.Symbol != "":
		return s.queryIndex(ctx, SymbolTimeIndex, attrSymbol, q.Symbol, string(q.Type), r, q.Limit, now)
	case q.Type != "":
		return s.queryIndex(ctx, TypeTimeIndex, attrAlertType, string(q.Type), "", r, q.Limit, now)
	}
	typs, err := s.registry(ctx, registryAlertType, now)
	if err != nil {
		return nil, err
	}
	out := []ctc.Alert{}
	for _, typ := range typs {
		got, err := s.queryIndex(ctx, TypeTimeIndex, attrAlertType, typ, "", r, q.Limit, now)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	slices.SortFunc(out, newestFirst)
	return out[:min(len(out), q.Limit)], nil
}

// newestFirst orders alerts as ctc.AlertQuery says.
func newestFirst(a, b ctc.Alert) int {
	if c := b.DetectedAt.Compare(a.DetectedAt); c != 0 {
		return c
	}
	return bytes.Compare(b.AlertID[:], a.AlertID[:])
}

// pageSize is the Limit of one Query call for a query of limit results.
func (s *Store) pageSize(limit int) int32 {
	if s.cfg.PageSize > 0 {
		return int32(min(s.cfg.PageSize, 1<<30))
	}
	if limit < 1000-16 {
		return int32(limit + 16)
	}
	return 1000
}

// indexRange bounds a query of an index: detected_at >= since unless since is "", <= before
// unless before is "", and, of the alerts at exactly before, those that come after key.
type indexRange struct {
	since, before string
	key           ctc.AlertKey
}

// queryIndex reads index newest first for key = value (and alert_type = typ unless typ is ""),
// within r, until it has limit live alerts and every alert tying with the last of them.
func (s *Store) queryIndex(ctx context.Context, index, key, value, typ string, r indexRange, limit int, now int64) ([]ctc.Alert, error) {
	names := map[string]string{"#k": key, "#ttl": attrTTLEpoch}
	values := map[string]types.AttributeValue{":k": strAttr(value), ":now": intAttr(now)}
	cond := "#k = :k"
	switch {
	case r.since != "" && r.before != "":
		cond += " AND #d BETWEEN :since AND :before"
	case r.since != "":
		cond += " AND #d >= :since"
	case r.before != "":
		cond += " AND #d <= :before"
	}
	if r.since != "" || r.before != "" {
		names["#d"] = attrDetectedAt
	}
	if r.since != "" {
		values[":since"] = strAttr(r.since)
	}
	if r.before != "" {
		values[":before"] = strAttr(r.before)
	}
	filter := "#ttl > :now"
	if typ != "" {
		filter += " AND #ty = :ty"
		names["#ty"] = attrAlertType
		values[":ty"] = strAttr(typ)
	}
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.cfg.AlertsTable),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String(cond),
		FilterExpression:          aws.String(filter),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(s.pageSize(limit)),
	}
	out := []ctc.Alert{}
	var boundary time.Time // detected_at of the limit-th alert found
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamodb: query %s of %s for %s %q: %w", index, s.cfg.AlertsTable, key, value, err)
		}
		for _, item := range page.Items {
			a, err := decodeAlert(item)
			if err != nil {
				return nil, fmt.Errorf("dynamodb: %s: %w", s.cfg.AlertsTable, err)
			}
			if len(out) >= limit && a.DetectedAt.Before(boundary) {
				return finish(out, limit), nil
			}
			// The server filtered already; this keeps the contract should the clock have moved.
			// Alerts at exactly Before's time that do not come after it are dropped here.
			if a.TTLEpoch <= now || (typ != "" && string(a.AlertType) != typ) || !r.key.After(&a) {
				continue
			}
			out = append(out, a)
			if len(out) == limit {
				boundary = a.DetectedAt
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return finish(out, limit), nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func finish(out []ctc.Alert, limit int) []ctc.Alert {
	slices.SortFunc(out, newestFirst)
	return out[:min(len(out), limit)]
}

// registry returns the live values of a registry series, sorted.
func (s *Store) registry(ctx context.Context, series string, now int64) ([]string, error) {
	out := []string{}
	err := s.queryAggregates(ctx, series, "", now, func(item map[string]types.AttributeValue) error {
		if v, ok := item[attrSortKey].(*types.AttributeValueMemberS); ok {
			out = append(out, v.Value)
		}
		return nil
	})
	return out, err
}

// queryAggregates reads series oldest first from sort key since on ("" for all), keeping live items.
func (s *Store) queryAggregates(ctx context.Context, series, since string, now int64, each func(map[string]types.AttributeValue) error) error {
	names := map[string]string{"#s": attrSeries, "#ttl": attrTTLEpoch}
	values := map[string]types.AttributeValue{":s": strAttr(series), ":now": intAttr(now)}
	cond := "#s = :s"
	if since != "" {
		cond += " AND #k >= :since"
		names["#k"] = attrSortKey
		values[":since"] = strAttr(since)
	}
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.cfg.AggregatesTable),
		KeyConditionExpression:    aws.String(cond),
		FilterExpression:          aws.String("#ttl > :now"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(true),
	}
	if s.cfg.PageSize > 0 {
		in.Limit = aws.Int32(int32(min(s.cfg.PageSize, 1<<30)))
	}
	for {
		page, err := s.client.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("dynamodb: query %s for %s: %w", s.cfg.AggregatesTable, series, err)
		}
		for _, item := range page.Items {
			if ttlOf(item) <= now {
				continue
			}
			if err := each(item); err != nil {
				return fmt.Errorf("dynamodb: %s: %w", s.cfg.AggregatesTable, err)
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// symbolsFor returns symbol alone, or every registered symbol of the kind when symbol is "".
func (s *Store) symbolsFor(ctx context.Context, registry, symbol string, now int64) ([]string, error) {
	if symbol != "" {
		return []string{symbol}, nil
	}
	return s.registry(ctx, registry, now)
}

// Volumes returns the live volume windows of symbol on every exchange (of every registered symbol
// if symbol is ""), that start at or after since (the zero time: no bound), oldest first, then by
// symbol and exchange: one Query of the symbol's series each.
func (s *Store) Volumes(ctx context.Context, symbol string, since time.Time) ([]ctc.VolumeWindow, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from, ok := "", true
	if !since.IsZero() {
		if from, ok = sinceKey(since); !ok {
			return []ctc.VolumeWindow{}, nil
		}
	}
	now := s.cfg.Now().Unix()
	syms, err := s.symbolsFor(ctx, registryVolumeSym, symbol, now)
	if err != nil {
		return nil, err
	}
	out := []ctc.VolumeWindow{}
	for _, sym := range syms {
		err := s.queryAggregates(ctx, volumePrefix+sym, from, now, func(item map[string]types.AttributeValue) error {
			v, err := decodeVolume(item)
			if err == nil {
				out = append(out, v)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(out, func(a, b ctc.VolumeWindow) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol), cmp.Compare(a.Exchange, b.Exchange))
	})
	return out, nil
}

// Spreads returns the live spread windows of symbol (an instrument, such as BTC; every registered
// one if symbol is "") that start at or after since, oldest first, then by symbol.
func (s *Store) Spreads(ctx context.Context, symbol string, since time.Time) ([]ctc.SpreadWindow, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from, ok := "", true
	if !since.IsZero() {
		if from, ok = sinceKey(since); !ok {
			return []ctc.SpreadWindow{}, nil
		}
	}
	now := s.cfg.Now().Unix()
	syms, err := s.symbolsFor(ctx, registrySpreadSym, symbol, now)
	if err != nil {
		return nil, err
	}
	out := []ctc.SpreadWindow{}
	for _, sym := range syms {
		err := s.queryAggregates(ctx, spreadPrefix+sym, from, now, func(item map[string]types.AttributeValue) error {
			w, err := decodeSpread(item)
			if err == nil {
				out = append(out, w)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(out, func(a, b ctc.SpreadWindow) int {
		return cmp.Or(a.WindowStart.Compare(b.WindowStart), cmp.Compare(a.Symbol, b.Symbol))
	})
	return out, nil
}

// Symbols returns, sorted, every symbol of the registries of alert, volume and spread symbols whose
// entry is live: three Queries of small partitions. An entry lives up to an hour beyond the newest
// record of its symbol, so a symbol may stay listed that long after its last record expired.
func (s *Store) Symbols(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := s.cfg.Now().Unix()
	var out []string
	for _, r := range []string{registryAlertSym, registryVolumeSym, registrySpreadSym} {
		got, err := s.registry(ctx, r, now)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	slices.Sort(out)
	return append([]string{}, slices.Compact(out)...), nil
}
