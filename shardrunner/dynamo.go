package shardrunner

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/coattailcapital/ctc/partrunner"
)

// DefaultStateTable is the DynamoDB table of shard states the deployment creates.
const DefaultStateTable = "coattail-shard-state"

// DefaultInlineLimit is the largest encoded state kept in the DynamoDB item itself; DynamoDB
// items are limited to 400 KB.
const DefaultInlineLimit = 350 << 10

// DynamoConfig configures a DynamoStateStore.
type DynamoConfig struct {
	// Client is the DynamoDB client. Required.
	Client *dynamodb.Client
	// Table is the state table (partition key shard_key, a string); default DefaultStateTable.
	Table string
	// S3 and Bucket, when set, keep states larger than InlineLimit as S3 objects under
	// Prefix/<shard key>/<version>-<random>.state.gz, the item holding their key. A state holds the detectors'
	// history, up to an hour of event ids for dedup and the last checkpoint's output, so a busy
	// shard needs them. The objects of superseded versions are deleted after each save; keep
	// lifecycle expiry rules off the prefix.
	S3     *s3.Client
	Bucket string
	Prefix string
	// InlineLimit overrides DefaultInlineLimit (compressed bytes).
	InlineLimit int
}

// DynamoStateStore keeps shard states in DynamoDB, one item per shard: shard_key, version, and
// the gzip-compressed state in state (binary) or, when large, the S3 key of it in state_s3. A save
// is a PutItem conditional on the version it replaces, so two hosts can never both advance a shard.
//
// Segments (the dedup memory by checkpoint, the pending output) are items of their own in the same
// table, under shard_key "seg#" + name, gzip-compressed in data or, when larger than InlineLimit,
// S3 objects under Prefix/seg/<name>. They are written once, before the head that names them,
// and deleted after a head that no longer names them has replaced it. Segments are immutable, so
// the store keeps those it wrote or read in memory: a warm host (a Lambda container handling the
// next batch of its shard) loads only the head.
type DynamoStateStore struct {
	cfg DynamoConfig

	mu    sync.Mutex
	cache map[string][]byte
}

var _ StateStore = (*DynamoStateStore)(nil)

// NewDynamoStateStore returns a store on cfg's table. It does not create the table: use
// CreateStateTable for local use and tests, Terraform on AWS.
func NewDynamoStateStore(cfg DynamoConfig) (*DynamoStateStore, error) {
	if cfg.Client == nil {
		return nil, errors.New("shardrunner: DynamoConfig.Client is required")
	}
	if cfg.Table == "" {
		cfg.Table = DefaultStateTable
	}
	if cfg.InlineLimit <= 0 {
		cfg.InlineLimit = DefaultInlineLimit
	}
	if (cfg.S3 == nil) != (cfg.Bucket == "") {
		return nil, errors.New("shardrunner: DynamoConfig needs both S3 and Bucket, or neither")
	}
	return &DynamoStateStore{cfg: cfg}, nil
}

// Load implements StateStore with a strongly consistent read.
func (s *DynamoStateStore) Load(ctx context.Context, key string) (*ShardState, error) {
	out, err := s.cfg.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.Table),
		Key:            map[string]types.AttributeValue{"shard_key": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("shardrunner: load %s from %s: %w", key, s.cfg.Table, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	b, err := s.readBlob(ctx, out.Item, "state")
	if err != nil {
		return nil, fmt.Errorf("shardrunner: %s in %s: %w", key, s.cfg.Table, err)
	}
	st, err := DecodeState(b)
	if err != nil {
		return nil, fmt.Errorf("shardrunner: %s: %w", key, err)
	}
	if v, err := numberAttr(out.Item["version"]); err != nil || v != st.Version {
		return nil, fmt.Errorf("shardrunner: %s: item version %d does not match its state's %d (%v)", key, v, st.Version, err)
	}
	var names []string
	if err := JoinState(st, func(name string) ([]byte, error) {
		names = append(names, name)
		return s.segment(ctx, name)
	}); err != nil {
		return nil, err
	}
	s.keepCached(key, names)
	return st, nil
}

func segmentKey(name string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"shard_key": &types.AttributeValueMemberS{Value: "seg#" + name}}
}

// segment returns a segment's data, from memory when this store wrote or read it before.
func (s *DynamoStateStore) segment(ctx context.Context, name string) ([]byte, error) {
	s.mu.Lock()
	data, ok := s.cache[name]
	s.mu.Unlock()
	if ok {
		return data, nil
	}
	out, err := s.cfg.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.cfg.Table), Key: segmentKey(name), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, fmt.Errorf("no item %q in %s: the state was changed outside ctc", "seg#"+name, s.cfg.Table)
	}
	data, err = s.readBlob(ctx, out.Item, "data")
	if err != nil {
		return nil, err
	}
	s.cacheSegment(name, data)
	return data, nil
}

// putBlob sets data, gzip-compressed, in item: inline under attr, or — larger than InlineLimit —
// as the S3 object objKey names, whose key goes under attr+"_s3" and is returned. what names the
// blob in errors. The head and the segments are kept alike.
func (s *DynamoStateStore) putBlob(ctx context.Context, item map[string]types.AttributeValue, attr, what string, data []byte, objKey func() string) (string, error) {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		return "", err
	}
	if z.Len() <= s.cfg.InlineLimit {
		item[attr] = &types.AttributeValueMemberB{Value: z.Bytes()}
		return "", nil
	}
	if s.cfg.S3 == nil {
		return "", fmt.Errorf("shardrunner: %s is %d bytes compressed, more than a DynamoDB item holds: configure DynamoConfig.S3 and Bucket", what, z.Len())
	}
	k := objKey()
	if _, err := s.cfg.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(s.cfg.Bucket), Key: aws.String(k), Body: bytes.NewReader(z.Bytes()),
	}); err != nil {
		return "", fmt.Errorf("shardrunner: save %s to s3://%s/%s: %w", what, s.cfg.Bucket, k, err)
	}
	item[attr+"_s3"] = &types.AttributeValueMemberS{Value: k}
	return k, nil
}

// readBlob returns what putBlob set in item under attr, decompressed.
func (s *DynamoStateStore) readBlob(ctx context.Context, item map[string]types.AttributeValue, attr string) ([]byte, error) {
	var z []byte
	switch {
	case item[attr] != nil:
		b, ok := item[attr].(*types.AttributeValueMemberB)
		if !ok {
			return nil, fmt.Errorf("%s is not binary", attr)
		}
		z = b.Value
	case item[attr+"_s3"] != nil:
		k, ok := item[attr+"_s3"].(*types.AttributeValueMemberS)
		if !ok || s.cfg.S3 == nil {
			return nil, errors.New("kept in S3: configure DynamoConfig.S3 and Bucket")
		}
		obj, err := s.cfg.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(k.Value)})
		if err != nil {
			return nil, fmt.Errorf("s3://%s/%s: %w", s.cfg.Bucket, k.Value, err)
		}
		z, err = io.ReadAll(obj.Body)
		obj.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("s3://%s/%s: %w", s.cfg.Bucket, k.Value, err)
		}
	default:
		return nil, fmt.Errorf("no %s attribute", attr)
	}
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func (s *DynamoStateStore) cacheSegment(name string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = map[string][]byte{}
	}
	s.cache[name] = data
}

// keepCached forgets the cached segments of key that its latest head does not name.
func (s *DynamoStateStore) keepCached(key string, names []string) {
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.cache {
		if !keep[n] && strings.HasPrefix(n, key+"/") {
			delete(s.cache, n)
		}
	}
}

// putSegment writes one segment, unconditionally: a name is only ever written with one content.
func (s *DynamoStateStore) putSegment(ctx context.Context, name string, data []byte) error {
	item := segmentKey(name)
	if _, err := s.putBlob(ctx, item, "data", "segment "+name, data, func() string { return s.prefix() + "seg/" + name }); err != nil {
		return err
	}
	if _, err := s.cfg.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.cfg.Table), Item: item}); err != nil {
		return fmt.Errorf("shardrunner: save segment %s to %s: %w", name, s.cfg.Table, err)
	}
	s.cacheSegment(name, data)
	return nil
}

// deleteSegments deletes segments a head no longer names. Failures only leave garbage behind.
func (s *DynamoStateStore) deleteSegments(ctx context.Context, names []string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, n := range names {
		out, err := s.cfg.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.cfg.Table), Key: segmentKey(n), ReturnValues: types.ReturnValueAllOld,
		})
		if err == nil && s.cfg.S3 != nil {
			if k, ok := out.Attributes["data_s3"].(*types.AttributeValueMemberS); ok {
				s.deleteObject(ctx, k.Value)
			}
		}
	}
}

func (s *DynamoStateStore) prefix() string {
	p := s.cfg.Prefix
	if p != "" && p[len(p)-1] != '/' {
		p += "/"
	}
	return p
}

// Save implements StateStore.
//
// The segments new in st are written first, then the head, conditionally; once the head has
// landed, the segments of key that the replaced head named and the new one does not are deleted.
func (s *DynamoStateStore) Save(ctx context.Context, key string, st *ShardState) error {
	head, fresh, names := SplitState(key, st)
	for _, g := range fresh {
		if err := s.putSegment(ctx, g.Name, g.Data); err != nil {
			return err
		}
	}
	b, err := EncodeState(head)
	if err != nil {
		return err
	}
	item := map[string]types.AttributeValue{
		"shard_key":  &types.AttributeValueMemberS{Value: key},
		"version":    &types.AttributeValueMemberN{Value: strconv.FormatInt(st.Version, 10)},
		"finished":   &types.AttributeValueMemberBOOL{Value: st.Finished},
		"checkpoint": &types.AttributeValueMemberN{Value: strconv.FormatInt(st.Seq, 10)},
	}
	if st.Sequence != "" {
		item["sequence"] = &types.AttributeValueMemberS{Value: st.Sequence}
	}
	if len(names) > 0 {
		item["segments"] = &types.AttributeValueMemberSS{Value: names}
	}
	objKey, err := s.putBlob(ctx, item, "state", "state of "+key, b, func() string { return s.objectKey(key, st.Version) })
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.cfg.Table), Item: item, ReturnValues: types.ReturnValueAllOld}
	if st.Version <= 1 {
		in.ConditionExpression = aws.String("attribute_not_exists(shard_key)")
	} else {
		in.ConditionExpression = aws.String("version = :prev")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":prev": &types.AttributeValueMemberN{Value: strconv.FormatInt(st.Version-1, 10)},
		}
	}
	out, err := s.cfg.Client.PutItem(ctx, in)
	if err != nil {
		var cf *types.ConditionalCheckFailedException
		if errors.As(err, &cf) {
			// The SDK retries a PutItem whose answer was lost; if the first attempt landed, the
			// retry fails its own condition. The item then holds exactly this save: success.
			if landed, lerr := s.landed(ctx, key, st.Version, item); lerr == nil && landed {
				return nil
			}
			if objKey != "" {
				s.deleteObject(ctx, objKey)
			}
			return fmt.Errorf("%w: %s is no longer at version %d", ErrConflict, key, st.Version-1)
		}
		if objKey != "" {
			s.deleteObject(ctx, objKey)
		}
		return fmt.Errorf("shardrunner: save %s to %s: %w", key, s.cfg.Table, err)
	}
	if old, ok := out.Attributes["state_s3"].(*types.AttributeValueMemberS); ok && s.cfg.S3 != nil {
		s.deleteObject(ctx, old.Value) // the superseded version's object
	}
	var oldNames []string
	if ss, ok := out.Attributes["segments"].(*types.AttributeValueMemberSS); ok {
		oldNames = ss.Value
	}
	if drop := partrunner.StaleSegments(key, oldNames, names); len(drop) > 0 {
		s.deleteSegments(ctx, drop)
	}
	s.keepCached(key, names)
	return nil
}

// objectKey names a save's object: unique per attempt, so that a save that loses the race
// can delete its own object without touching the winner's.
// landed reports whether the stored item is the one this save wrote: the same version and the
// same state bytes (or, for a state in S3, the same per-attempt object key).
func (s *DynamoStateStore) landed(ctx context.Context, key string, version int64, item map[string]types.AttributeValue) (bool, error) {
	out, err := s.cfg.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.cfg.Table),
		Key:            map[string]types.AttributeValue{"shard_key": &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil || out.Item == nil {
		return false, err
	}
	if v, err := numberAttr(out.Item["version"]); err != nil || v != version {
		return false, err
	}
	if want, ok := item["state"].(*types.AttributeValueMemberB); ok {
		got, ok := out.Item["state"].(*types.AttributeValueMemberB)
		return ok && bytes.Equal(got.Value, want.Value), nil
	}
	want, _ := item["state_s3"].(*types.AttributeValueMemberS)
	got, ok := out.Item["state_s3"].(*types.AttributeValueMemberS)
	return ok && want != nil && got.Value == want.Value, nil
}

func (s *DynamoStateStore) objectKey(key string, version int64) string {
	p := s.prefix()
	var r [6]byte
	rand.Read(r[:])
	return p + key + "/" + strconv.FormatInt(version, 10) + "-" + hex.EncodeToString(r[:]) + ".state.gz"
}

func (s *DynamoStateStore) deleteObject(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, _ = s.cfg.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.cfg.Bucket), Key: aws.String(key)})
}

func numberAttr(v types.AttributeValue) (int64, error) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, errors.New("not a number")
	}
	return strconv.ParseInt(n.Value, 10, 64)
}

// CreateStateTable creates the shard-state table (on-demand capacity) and waits until it is
// active; an existing table is left as it is. For local use and tests: on AWS the Terraform in
// deploy/ creates it.
func CreateStateTable(ctx context.Context, client *dynamodb.Client, table string) error {
	if table == "" {
		table = DefaultStateTable
	}
	return createKeyedTable(ctx, client, table, "shard_key")
}

// createKeyedTable creates an on-demand table with a string partition key and waits until it is
// active; an existing table is left as it is.
func createKeyedTable(ctx context.Context, client *dynamodb.Client, table, key string) error {
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("shardrunner: create table %s: %w", table, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, 2*time.Minute); err != nil {
		return fmt.Errorf("shardrunner: table %s did not become active: %w", table, err)
	}
	return nil
}
