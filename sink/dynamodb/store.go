package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"github.com/coattailcapital/ctc/internal/backoff"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/internal/clock"
)

// The defaults of Config.
const (
	DefaultAlertsTable     = "coattail-alerts"
	DefaultAggregatesTable = "coattail-aggregates"
	DefaultMaxAttempts     = 8
	DefaultBaseBackoff     = 25 * time.Millisecond
	DefaultMaxBackoff      = 2 * time.Second
)

// batchSize is the most write requests one BatchWriteItem call may carry.
const batchSize = 25

// registrySlack is how far beyond the newest ttl_epoch written a registry entry lives, so that a
// Store rewrites an entry at most about once an hour per symbol and type, not with every batch.
const registrySlack = int64(time.Hour / time.Second)

// Config configures a Store. The zero value is valid: every field has a default.
type Config struct {
	// AlertsTable is the alerts table (DESIGN §3.4). Default DefaultAlertsTable.
	AlertsTable string
	// AggregatesTable holds the volume and spread windows and the registries of symbols and alert
	// types. Default DefaultAggregatesTable.
	AggregatesTable string
	// Now is the clock that decides what has expired. Default time.Now.
	Now func() time.Time
	// PageSize is the Limit of every Query call: how many items DynamoDB reads per page. 0 (the
	// default) reads a little more than the query's own Limit, at most 1000. Tests set it small
	// to exercise paging.
	PageSize int
	// MaxAttempts bounds the BatchWriteItem calls per chunk of 25 writes, the first included, when
	// DynamoDB leaves items unprocessed or throttles. Default DefaultMaxAttempts.
	MaxAttempts int
	// BaseBackoff and MaxBackoff bound the exponential back-off between attempts; each wait is
	// drawn uniformly from [d/2, d] ("equal jitter"), d = min(MaxBackoff, BaseBackoff·2^attempt).
	// Defaults DefaultBaseBackoff and DefaultMaxBackoff.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

func (c Config) withDefaults() Config {
	if c.AlertsTable == "" {
		c.AlertsTable = DefaultAlertsTable
	}
	if c.AggregatesTable == "" {
		c.AggregatesTable = DefaultAggregatesTable
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.BaseBackoff == 0 {
		c.BaseBackoff = DefaultBaseBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	return c
}

// Validate reports what is wrong with c, after defaults.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.PageSize < 0:
		return fmt.Errorf("dynamodb: PageSize must be >= 0 (0: automatic), got %d", c.PageSize)
	case c.MaxAttempts < 1:
		return fmt.Errorf("dynamodb: MaxAttempts must be >= 1, got %d", c.MaxAttempts)
	case c.BaseBackoff < 0 || c.MaxBackoff < c.BaseBackoff:
		return fmt.Errorf("dynamodb: want 0 <= BaseBackoff <= MaxBackoff, got %v and %v", c.BaseBackoff, c.MaxBackoff)
	case c.AlertsTable == c.AggregatesTable:
		return fmt.Errorf("dynamodb: AlertsTable and AggregatesTable must differ, both are %q", c.AlertsTable)
	}
	return nil
}

// Store is the hot alert store on DynamoDB: a ctc.AlertStore, and the api.Store the HTTP API
// reads. Create it with New; it is safe for concurrent use.
type Store struct {
	client *ddb.Client
	cfg    Config

	// mu guards registered: for each registry entry this Store wrote, the ttl_epoch it wrote.
	mu         sync.Mutex
	registered map[registryKey]int64
}

type registryKey struct{ series, value string }

var _ ctc.AlertStore = (*Store)(nil)

// New returns a Store over client's tables. It makes no call: create the tables with CreateTables
// (tests, local use) or Terraform (AWS).
func New(client *ddb.Client, cfg Config) (*Store, error) {
	if client == nil {
		return nil, errors.New("dynamodb: New needs a client: dynamodb.NewFromConfig(awsConfig)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Store{client: client, cfg: cfg.withDefaults(), registered: map[registryKey]int64{}}, nil
}

// Config returns the configuration in use, defaults filled in.
func (s *Store) Config() Config { return s.cfg }

// UnprocessedError is returned by Write when DynamoDB still left writes unprocessed after
// MaxAttempts calls. The batch is then partly written; writing it again is safe (writes are
// idempotent), and is what a pipeline does when it retries the batch.
type UnprocessedError struct {
	// Items counts the writes left, by table.
	Items map[string]int
	// Attempts is the number of BatchWriteItem calls made for the chunk.
	Attempts int
}

func (e *UnprocessedError) Error() string {
	return fmt.Sprintf("dynamodb: writes still unprocessed after %d BatchWriteItem attempts %v: the table is throttled; "+
		"raise MaxAttempts or the table's capacity, then write the batch again (it is idempotent)", e.Attempts, e.Items)
}

// Write stores the batch's alerts in the alerts table and its volume and spread windows in the
// aggregates table; the rest of the batch (trades, whale records, late trades, dead letters) is
// not the hot store's. An item replaces the stored one with its key — an alert's alert_id and
// detected_at, a window's series and start — so writing again is harmless; within a batch the
// last record with a key wins.
//
// The records go in BatchWriteItem calls of 25 writes, one after another; unprocessed items and
// throttling are retried with back-off (Config.MaxAttempts). A failed Write may have stored part
// of the batch. Records that fail validation (an empty type or symbol, a time outside the years
// 0000-9999) fail the whole batch before anything is written. Write returns ctx.Err() if ctx is
// already done, and then stores nothing.
func (s *Store) Write(ctx context.Context, b *ctc.Batch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &b.Output
	if len(o.Alerts)+len(o.Volumes)+len(o.Spreads) == 0 {
		return nil
	}
	now := s.cfg.Now().Unix()
	reg := map[registryKey]int64{}
	note := func(series, value string, ttl int64) {
		if ttl > now {
			k := registryKey{series, value}
			reg[k] = max(reg[k], ttl)
		}
	}
	var alerts, aggs []types.WriteRequest
	alertAt := map[uuid.UUID]int{}
	for i := range o.Alerts {
		a := &o.Alerts[i]
		item, err := alertItem(a)
		if err != nil {
			return fmt.Errorf("dynamodb: %w", err)
		}
		w := types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
		// BatchWriteItem refuses a request that names one key twice.
		if j, ok := alertAt[a.AlertID]; ok {
			alerts[j] = w
		} else {
			alertAt[a.AlertID] = len(alerts)
			alerts = append(alerts, w)
		}
		note(registryAlertType, string(a.AlertType), a.TTLEpoch)
		note(registryAlertSym, a.Symbol, a.TTLEpoch)
	}
	aggAt := map[[2]string]int{}
	put := func(item map[string]types.AttributeValue) {
		k := [2]string{item[attrSeries].(*types.AttributeValueMemberS).Value, item[attrSortKey].(*types.AttributeValueMemberS).Value}
		w := types.WriteRequest{PutRequest: &types.PutRequest{Item: item}}
		if j, ok := aggAt[k]; ok {
			aggs[j] = w
		} else {
			aggAt[k] = len(aggs)
			aggs = append(aggs, w)
		}
	}
	for i := range o.Volumes {
		v := &o.Volumes[i]
		item, err := volumeItem(v)
		if err != nil {
			return fmt.Errorf("dynamodb: %w", err)
		}
		put(item)
		note(registryVolumeSym, v.Symbol, aggregateTTL(v.WindowEnd))
	}
	for i := range o.Spreads {
		w := &o.Spreads[i]
		item, err := spreadItem(w)
		if err != nil {
			return fmt.Errorf("dynamodb: %w", err)
		}
		put(item)
		note(registrySpreadSym, w.Symbol, aggregateTTL(w.WindowEnd))
	}
	// The registries first: a query that finds an alert must also find its type.
	if err := s.register(ctx, reg); err != nil {
		return err
	}
	var all []tableWrite
	for _, w := range alerts {
		all = append(all, tableWrite{s.cfg.AlertsTable, w})
	}
	for _, w := range aggs {
		all = append(all, tableWrite{s.cfg.AggregatesTable, w})
	}
	for len(all) > 0 {
		n := min(len(all), batchSize)
		req := map[string][]types.WriteRequest{}
		for _, w := range all[:n] {
			req[w.table] = append(req[w.table], w.w)
		}
		if err := s.batchWrite(ctx, req); err != nil {
			return err
		}
		all = all[n:]
	}
	return nil
}

type tableWrite struct {
	table string
	w     types.WriteRequest
}

// batchWrite makes one BatchWriteItem call and repeats it for what DynamoDB leaves unprocessed or
// refuses as throttled, with back-off, at most MaxAttempts calls in all.
func (s *Store) batchWrite(ctx context.Context, req map[string][]types.WriteRequest) error {
	for attempt := 1; ; attempt++ {
		out, err := s.client.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{RequestItems: req})
		switch {
		case err != nil && !retryable(err):
			return fmt.Errorf("dynamodb: BatchWriteItem: %w", err)
		case err != nil && attempt >= s.cfg.MaxAttempts:
			return fmt.Errorf("dynamodb: BatchWriteItem still throttled after %d attempts: raise MaxAttempts or the table's capacity, "+
				"then write the batch again (it is idempotent): %w", attempt, err)
		case err == nil:
			if len(out.UnprocessedItems) == 0 {
				return nil
			}
			req = out.UnprocessedItems
			if attempt >= s.cfg.MaxAttempts {
				left := map[string]int{}
				for t, ws := range req {
					left[t] = len(ws)
				}
				return &UnprocessedError{Items: left, Attempts: attempt}
			}
		}
		if err := clock.Sleep(ctx, s.backoff(attempt)); err != nil {
			return fmt.Errorf("dynamodb: BatchWriteItem retry: %w", err)
		}
	}
}

// backoff is the wait after the attempt-th call: exponential, capped, with equal jitter.
func (s *Store) backoff(attempt int) time.Duration {
	return backoff.Equal(backoff.Cap(s.cfg.BaseBackoff, s.cfg.MaxBackoff, 2, attempt), backoff.Uniform)
}

// throttleCodes are the error codes after which the same request may succeed later.
var throttleCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"LimitExceededException":                 true,
}

func retryable(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && throttleCodes[ae.ErrorCode()]
}

// register makes sure the registry entries of reg exist with a ttl_epoch at least the one given.
// Each entry is written by a conditional UpdateItem that only ever raises its ttl_epoch, so that
// Stores in several processes never lower each other's; a Store skips the entries it wrote itself
// recently enough.
func (s *Store) register(ctx context.Context, reg map[registryKey]int64) error {
	for k, ttl := range reg {
		s.mu.Lock()
		done := s.registered[k] >= ttl
		s.mu.Unlock()
		if done {
			continue
		}
		ttl += registrySlack
		_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName: aws.String(s.cfg.AggregatesTable),
			Key: map[string]types.AttributeValue{
				attrSeries:  strAttr(k.series),
				attrSortKey: strAttr(k.value),
			},
			UpdateExpression:          aws.String("SET #ttl = :ttl"),
			ConditionExpression:       aws.String("attribute_not_exists(#ttl) OR #ttl < :ttl"),
			ExpressionAttributeNames:  map[string]string{"#ttl": attrTTLEpoch},
			ExpressionAttributeValues: map[string]types.AttributeValue{":ttl": intAttr(ttl)},
		})
		var failed *types.ConditionalCheckFailedException
		if err != nil && !errors.As(err, &failed) {
			return fmt.Errorf("dynamodb: register %s %q in %s: %w", k.series, k.value, s.cfg.AggregatesTable, err)
		}
		s.mu.Lock()
		s.registered[k] = max(s.registered[k], ttl)
		s.mu.Unlock()
	}
	return nil
}

// ReadsTrades implements ctc.TradeReader: only alerts (and what they are about) are kept here,
// so a checkpoint of a pipeline writing only here need not save its trades.
func (s *Store) ReadsTrades() bool { return false }

var _ ctc.TradeReader = (*Store)(nil)
