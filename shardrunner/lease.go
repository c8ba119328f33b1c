package shardrunner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DefaultLeaseTable is the DynamoDB table of shard leases the deployment creates.
const DefaultLeaseTable = "coattail-shard-leases"

// Lease is one shard's lease as the lease table holds it. The Counter increases with every
// change (acquire, renew, release, finish); a change is conditional on the counter its writer
// last read, so two consumers can never both believe they changed a lease last.
type Lease struct {
	// Key is App/shard-id, the item's lease_key.
	Key string
	// Shard is the shard id.
	Shard string
	// Owner is the consumer holding the lease; empty when the lease is free (released).
	Owner string
	// Counter is the lease's version.
	Counter int64
	// Finished reports that the shard has been read to its end and committed: nobody needs to
	// lease it again, and its children may start.
	Finished bool
	// Heartbeat is the owner's wall-clock time of the last change, for people reading the table;
	// expiry never trusts another host's clock (see LeaseTable).
	Heartbeat time.Time
}

// ErrLeaseLost is returned by the LeaseTable's conditional writes when the lease changed since it
// was read: another consumer took it (or renewed it, or it was released). The caller no longer
// owns the lease and must stop processing its shard.
var ErrLeaseLost = errors.New("shardrunner: the lease changed hands")

// LeaseTable keeps shard leases in DynamoDB, one item per shard: lease_key (S, App/shard-id),
// shard_id, owner, counter (N), finished (BOOL) and heartbeat (S, RFC 3339). Every write is
// conditional on the counter the writer read.
//
// Whether a lease has expired is judged as the Kinesis Client Library does, without trusting
// any clock but the observer's own: a consumer remembers when it last saw each lease's counter
// change, and treats a lease whose counter has not moved for the lease duration as expired. A
// consumer that has just started therefore waits one lease duration before taking a lease held
// by someone else.
type LeaseTable struct {
	client *dynamodb.Client
	table  string
}

// NewLeaseTable returns the lease table on client; table defaults to DefaultLeaseTable. It makes
// no call: create the table with CreateLeaseTable (tests, local use) or Terraform (AWS).
func NewLeaseTable(client *dynamodb.Client, table string) (*LeaseTable, error) {
	if client == nil {
		return nil, errors.New("shardrunner: NewLeaseTable needs a DynamoDB client: dynamodb.NewFromConfig(awsConfig)")
	}
	if table == "" {
		table = DefaultLeaseTable
	}
	return &LeaseTable{client: client, table: table}, nil
}

// Name is the table's name.
func (t *LeaseTable) Name() string { return t.table }

// CreateLeaseTable creates the lease table (partition key lease_key, on-demand capacity) and
// waits until it is active; an existing table is left as it is. For local use and tests: on AWS
// the Terraform in deploy/ creates it.
func CreateLeaseTable(ctx context.Context, client *dynamodb.Client, table string) error {
	if table == "" {
		table = DefaultLeaseTable
	}
	return createKeyedTable(ctx, client, table, "lease_key")
}

// List returns the leases of an application (lease keys starting with app/), by lease key, with
// strongly consistent reads.
func (t *LeaseTable) List(ctx context.Context, app string) ([]Lease, error) {
	var out []Lease
	in := &dynamodb.ScanInput{
		TableName:                 aws.String(t.table),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("begins_with(lease_key, :app)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":app": &types.AttributeValueMemberS{Value: app + "/"}},
	}
	for {
		page, err := t.client.Scan(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("shardrunner: list leases in %s: %w", t.table, err)
		}
		for _, item := range page.Items {
			l, err := decodeLease(item)
			if err != nil {
				return nil, fmt.Errorf("shardrunner: lease table %s: %w", t.table, err)
			}
			out = append(out, l)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	slices.SortFunc(out, func(a, b Lease) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Get reads one lease with a strongly consistent read; a lease never written comes back with
// Counter 0 and no owner.
func (t *LeaseTable) Get(ctx context.Context, key string) (Lease, error) {
	out, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.table),
		Key:            map[string]types.AttributeValue{"lease_key": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Lease{}, fmt.Errorf("shardrunner: read lease %s in %s: %w", key, t.table, err)
	}
	if out.Item == nil {
		_, shard, _ := strings.Cut(key, "/")
		return Lease{Key: key, Shard: shard}, nil
	}
	l, err := decodeLease(out.Item)
	if err != nil {
		return Lease{}, fmt.Errorf("shardrunner: lease table %s: %w", t.table, err)
	}
	return l, nil
}

func decodeLease(item map[string]types.AttributeValue) (Lease, error) {
	var l Lease
	s := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	l.Key, l.Shard, l.Owner = s("lease_key"), s("shard_id"), s("owner")
	if l.Key == "" {
		return l, errors.New("an item has no lease_key")
	}
	n, ok := item["counter"].(*types.AttributeValueMemberN)
	if !ok {
		return l, fmt.Errorf("lease %s has no counter", l.Key)
	}
	c, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return l, fmt.Errorf("lease %s: counter %q: %w", l.Key, n.Value, err)
	}
	l.Counter = c
	if b, ok := item["finished"].(*types.AttributeValueMemberBOOL); ok {
		l.Finished = b.Value
	}
	if h := s("heartbeat"); h != "" {
		l.Heartbeat, _ = time.Parse(time.RFC3339Nano, h)
	}
	if l.Shard == "" {
		_, l.Shard, _ = strings.Cut(l.Key, "/")
	}
	return l, nil
}

// Acquire makes owner the holder of lease l as it was last read: a lease never written when
// l.Counter is 0, otherwise one whose counter is still l.Counter (free, expired, or taken from an
// over-loaded owner). It returns the lease as written, or an error wrapping ErrLeaseLost when
// someone changed it first.
func (t *LeaseTable) Acquire(ctx context.Context, l Lease, owner string, now time.Time) (Lease, error) {
	next := l
	next.Owner, next.Counter, next.Heartbeat = owner, l.Counter+1, now
	if l.Counter == 0 {
		item := map[string]types.AttributeValue{
			"lease_key": &types.AttributeValueMemberS{Value: l.Key},
			"shard_id":  &types.AttributeValueMemberS{Value: l.Shard},
			"owner":     &types.AttributeValueMemberS{Value: owner},
			"counter":   &types.AttributeValueMemberN{Value: "1"},
			"finished":  &types.AttributeValueMemberBOOL{Value: false},
			"heartbeat": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
		}
		_, err := t.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(t.table), Item: item, ConditionExpression: aws.String("attribute_not_exists(lease_key)"),
		})
		if err != nil {
			return l, t.condErr(err, "acquire", l.Key)
		}
		return next, nil
	}
	return next, t.update(ctx, l, "acquire", "SET #o = :owner, #c = :next, heartbeat = :hb", map[string]types.AttributeValue{
		":owner": &types.AttributeValueMemberS{Value: owner},
		":hb":    &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
	}, false)
}

// Renew raises the counter of a lease owner holds, so that other consumers see it alive.
func (t *LeaseTable) Renew(ctx context.Context, l Lease, now time.Time) (Lease, error) {
	next := l
	next.Counter, next.Heartbeat = l.Counter+1, now
	return next, t.update(ctx, l, "renew", "SET #c = :next, heartbeat = :hb", map[string]types.AttributeValue{
		":hb": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)},
	}, true)
}

// Release gives up a lease l.Owner holds, so that another consumer can take it at once instead
// of waiting for it to expire.
func (t *LeaseTable) Release(ctx context.Context, l Lease) (Lease, error) {
	next := l
	next.Owner, next.Counter = "", l.Counter+1
	return next, t.update(ctx, l, "release", "SET #c = :next REMOVE #o", nil, true)
}

// Finish marks the shard of a lease l.Owner holds as read to its end, and frees the lease.
func (t *LeaseTable) Finish(ctx context.Context, l Lease) (Lease, error) {
	next := l
	next.Owner, next.Counter, next.Finished = "", l.Counter+1, true
	return next, t.update(ctx, l, "finish", "SET #c = :next, finished = :t REMOVE #o",
		map[string]types.AttributeValue{":t": &types.AttributeValueMemberBOOL{Value: true}}, true)
}

// update applies expr to l's item if its counter (and, when owned, its owner) is still as read.
func (t *LeaseTable) update(ctx context.Context, l Lease, op, expr string, vals map[string]types.AttributeValue, owned bool) error {
	if vals == nil {
		vals = map[string]types.AttributeValue{}
	}
	vals[":cur"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(l.Counter, 10)}
	vals[":next"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(l.Counter+1, 10)}
	cond := "#c = :cur"
	if owned {
		cond += " AND #o = :me"
		vals[":me"] = &types.AttributeValueMemberS{Value: l.Owner}
	}
	_, err := t.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.table),
		Key:                       map[string]types.AttributeValue{"lease_key": &types.AttributeValueMemberS{Value: l.Key}},
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#c": "counter", "#o": "owner"},
		ExpressionAttributeValues: vals,
	})
	return t.condErr(err, op, l.Key)
}

func (t *LeaseTable) condErr(err error, op, key string) error {
	if err == nil {
		return nil
	}
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return fmt.Errorf("%w: %s %s", ErrLeaseLost, op, key)
	}
	return fmt.Errorf("shardrunner: %s lease %s in %s: %w", op, key, t.table, err)
}

// leaseView is what one consumer knows of the leases: when it last saw each counter change.
type leaseView struct {
	seen map[string]observed
}

type observed struct {
	counter int64
	at      time.Time
}

// observe records the leases as just read at now, and forgets leases no longer there.
func (v *leaseView) observe(ls []Lease, now time.Time) {
	if v.seen == nil {
		v.seen = map[string]observed{}
	}
	keep := make(map[string]bool, len(ls))
	for _, l := range ls {
		keep[l.Key] = true
		if o, ok := v.seen[l.Key]; !ok || o.counter != l.Counter {
			v.seen[l.Key] = observed{counter: l.Counter, at: now}
		}
	}
	for k := range v.seen {
		if !keep[k] {
			delete(v.seen, k)
		}
	}
}

// expired reports whether l's counter has not moved for d, as this consumer saw it.
func (v *leaseView) expired(l Lease, now time.Time, d time.Duration) bool {
	o, ok := v.seen[l.Key]
	return ok && o.counter == l.Counter && now.Sub(o.at) >= d
}

// plan is what a consumer decides to take in one round of lease-taking.
type plan struct {
	take  []Lease // free, expired or never-written leases
	steal *Lease  // one lease of an over-loaded owner
}

// balance decides which leases me takes. leases are the eligible shards' leases (never-written
// ones with Counter 0), none finished. An owner counts as alive while it holds a lease that has
// not expired; the leases of dead owners, released leases and never-written ones are free.
//
// The rule is deliberately simple. With n live owners (me included) and N leases, each should
// hold about target = ⌈N/n⌉. me takes free leases up to target; when none is free and some owner
// holds at least two more leases than me, me takes one of that owner's leases — one per round,
// so that ownership settles instead of oscillating. Two consumers on five shards end with three
// and two; a consumer that joins a busy one takes leases one at a time until they are even.
func balance(me string, leases []Lease, expired func(Lease) bool) plan {
	held := map[string][]Lease{}
	var free []Lease
	for _, l := range leases {
		if l.Owner == "" || (l.Owner != me && expired(l)) {
			free = append(free, l)
			continue
		}
		held[l.Owner] = append(held[l.Owner], l)
	}
	owners := len(held)
	if _, ok := held[me]; !ok {
		owners++
	}
	target := (len(leases) + owners - 1) / owners
	mine := len(held[me])
	var p plan
	for _, l := range free {
		if mine >= target {
			break
		}
		p.take = append(p.take, l)
		mine++
	}
	if len(p.take) > 0 || mine >= target {
		return p
	}
	// Steal from the most loaded owner (ties broken by name, for determinism).
	var top string
	for o, ls := range held {
		if o == me {
			continue
		}
		if top == "" || len(ls) > len(held[top]) || (len(ls) == len(held[top]) && o < top) {
			top = o
		}
	}
	if top != "" && len(held[top]) >= mine+2 {
		ls := held[top]
		l := ls[len(ls)-1]
		p.steal = &l
	}
	return p
}
