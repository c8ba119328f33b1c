package shardrunner

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/internal/awstest"
)

func newDynamoStore(t *testing.T, withS3 bool, inline int) *DynamoStateStore {
	t.Helper()
	ctx := context.Background()
	db := awstest.DynamoDBClient(t)
	table := awstest.Name(t, "state")
	if err := CreateStateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	if err := CreateStateTable(ctx, db, table); err != nil {
		t.Fatalf("creating an existing table: %v", err)
	}
	cfg := DynamoConfig{Client: db, Table: table, InlineLimit: inline}
	if withS3 {
		cfg.S3 = awstest.S3Client(t)
		cfg.Bucket = awstest.Name(t, "ckpt")
		if _, err := cfg.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
			t.Fatal(err)
		}
		cfg.Prefix = "shard-state"
	}
	s, err := NewDynamoStateStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleState(version int64, payload int) *ShardState {
	data := make([]byte, payload)
	rand.Read(data) // incompressible
	return &ShardState{
		Version: version, Shard: "shardId-000000000001", Sequence: seqNo(int(version)), Records: version * 10, Seq: version,
		Ranges: []RangeState{{Range: FullRange, State: &ctc.State{
			Detectors: map[string][]byte{"whale": {}, "volume_spike": data},
			Checker:   []byte{1, 2, 3},
			Stats:     ctc.Stats{Records: 42},
		}}},
		Pending: &ctc.Batch{DeadLetters: []ctc.DeadLetter{{Reason: "malformed", Detail: "x", Data: []byte("{")}}},
	}
}

func TestDynamoStateStore(t *testing.T) {
	for _, c := range []struct {
		name    string
		s3      bool
		payload int
	}{{"inline", false, 1000}, {"s3", true, 64 << 10}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			s := newDynamoStore(t, c.s3, 16<<10)
			const key = "app/shardId-000000000001"
			if st, err := s.Load(ctx, key); err != nil || st != nil {
				t.Fatalf("Load of a new key = %v, %v; want nil, nil", st, err)
			}
			if err := s.Save(ctx, key, sampleState(2, c.payload)); !errors.Is(err, ErrConflict) {
				t.Fatalf("saving version 2 first: %v, want ErrConflict", err)
			}
			for v := int64(1); v <= 3; v++ {
				want := sampleState(v, c.payload)
				if err := s.Save(ctx, key, want); err != nil {
					t.Fatalf("save version %d: %v", v, err)
				}
				got, err := s.Load(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
					t.Fatalf("version %d does not round-trip (-saved +loaded):\n%s", v, d)
				}
			}
			if err := s.Save(ctx, key, sampleState(3, c.payload)); !errors.Is(err, ErrConflict) {
				t.Fatalf("saving over a stale version: %v, want ErrConflict", err)
			}
			if c.s3 {
				// Only the current version's object is left.
				objs, err := s.cfg.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(s.cfg.Bucket)})
				if err != nil {
					t.Fatal(err)
				}
				if len(objs.Contents) != 1 || !strings.HasPrefix(*objs.Contents[0].Key, "shard-state/"+key+"/3-") {
					var keys []string
					for _, o := range objs.Contents {
						keys = append(keys, *o.Key)
					}
					t.Fatalf("objects left: %v, want only version 3's", keys)
				}
			}
		})
	}
}

func TestDynamoStateStoreTooBigWithoutS3(t *testing.T) {
	s := newDynamoStore(t, false, 1<<10)
	err := s.Save(context.Background(), "app/s", sampleState(1, 8<<10))
	if err == nil || errors.Is(err, ErrConflict) {
		t.Fatalf("saving a state too big for an item without S3: %v, want an error naming the fix", err)
	}
}

// A runner on DynamoDB picks up where another host left it.
func TestRunnerOnDynamoDB(t *testing.T) {
	ctx := context.Background()
	store := newDynamoStore(t, false, 0)
	table := ctctest.NewTable()
	cfg := &Config{App: "app", Store: store, NewProcessor: newProc, Sinks: []ctc.Sink{table.Sink()}}
	shard := Shard{ID: "shardId-000000000000", Range: FullRange}
	recs := []Record{
		{SequenceNumber: seqNo(1), PartitionKey: "BTC", Data: []byte(`{"event_id":"0b6a0f3c-9f3e-4bb4-8b1e-2f1f3c1d9a01","exchange":"binance","symbol":"BTC-USDT","price":50000,"quantity":3,"side":"buy","timestamp":"2024-01-15T10:00:00Z"}`)},
		{SequenceNumber: seqNo(2), PartitionKey: "BTC", Data: []byte(`not json`)},
		{SequenceNumber: seqNo(3), PartitionKey: "ETH", Data: []byte(`{"also": "not a trade"}`)},
	}
	r, err := Open(ctx, cfg, shard)
	if err != nil {
		t.Fatal(err)
	}
	r.Process(recs[:1])
	if err := r.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(ctx, cfg, shard)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Sequence() != seqNo(1) {
		t.Fatalf("reopened at %q, want %q", r2.Sequence(), seqNo(1))
	}
	if n := r2.Process(recs[:2]); n != 1 {
		t.Fatalf("processed %d records, want 1 (the first is in the state already)", n)
	}
	if err := r2.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// The first host, still running, has lost the shard.
	r.Process(recs[2:])
	if err := r.Checkpoint(ctx); !errors.Is(err, ErrConflict) {
		t.Fatalf("checkpoint by the old owner: %v, want ErrConflict", err)
	}
	got := table.Committed(cfg.Key(shard.ID))
	if len(got.Trades) != 1 || len(got.DeadLetters) != 1 || len(got.Output.Whales) != 1 {
		t.Fatalf("committed %d trades, %d dead letters, %d whales; want 1, 1, 1", len(got.Trades), len(got.DeadLetters), len(got.Output.Whales))
	}
}

// replayPuts sends every PutItem twice and answers with the second response: what a client sees
// when the first answer is lost and the SDK retries a write that had landed.
type replayPuts struct{ base http.RoundTripper }

func (r replayPuts) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".PutItem") {
		return r.base.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	send := func() (*http.Response, error) {
		c := req.Clone(req.Context())
		c.Body = io.NopCloser(bytes.NewReader(body))
		return r.base.RoundTrip(c)
	}
	first, err := send()
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, first.Body)
	first.Body.Close()
	return send()
}

// A save whose first attempt landed is a success, not a conflict, when its retry finds the item
// already at its version — for states in the item and in S3 alike.
func TestDynamoStateStoreRetriedSaveLanded(t *testing.T) {
	for _, big := range []bool{false, true} {
		t.Run(fmt.Sprintf("s3=%v", big), func(t *testing.T) {
			ctx := context.Background()
			s := newDynamoStore(t, true, 16<<10)
			ep := awstest.DynamoDB(t)
			s.cfg.Client = ddb.NewFromConfig(ep.Config, func(o *ddb.Options) {
				o.BaseEndpoint = aws.String(ep.URL)
				o.HTTPClient = &http.Client{Transport: replayPuts{http.DefaultTransport}}
			})
			payload := 100
			if big {
				payload = 64 << 10
			}
			for v := int64(1); v <= 2; v++ {
				if err := s.Save(ctx, "app/s", sampleState(v, payload)); err != nil {
					t.Fatalf("save version %d: %v", v, err)
				}
				got, err := s.Load(ctx, "app/s")
				if err != nil || got.Version != v {
					t.Fatalf("load after save %d: %+v, %v", v, got, err)
				}
			}
			// A different save at a version already taken is still a conflict.
			if err := s.Save(ctx, "app/s", sampleState(2, payload)); !errors.Is(err, ErrConflict) {
				t.Fatalf("a second writer's save of version 2: %v, want ErrConflict", err)
			}
		})
	}
}

// TestDynamoStateStoreSegments: segments are written once, before the head that names them; a
// save deletes the shard's own segments its head no longer names and leaves inherited ones; a
// fresh store (another host) loads every named segment; a warm one reads only the head.
func TestDynamoStateStoreSegments(t *testing.T) {
	for _, withS3 := range []bool{false, true} {
		t.Run(fmt.Sprintf("s3=%v", withS3), func(t *testing.T) {
			ctx := context.Background()
			s := newDynamoStore(t, withS3, 4<<10)
			const key = "app/shardId-000000000002"
			seg := func(name string, n int) ctc.Segment {
				d := make([]byte, n)
				rand.Read(d)
				return ctc.Segment{Name: name, Data: d}
			}
			inherited := seg("app/shardId-000000000000/00/quality/0-aa", 100)
			one := seg(key+"/00/quality/1-bb", 8<<10) // over the inline limit: S3, or an error without it
			two := seg(key+"/00/quality/2-cc", 300)
			state := func(version int64, segs ...ctc.Segment) *ShardState {
				st := sampleState(version, 10)
				st.Ranges[0].State.Segments = segs
				return st
			}
			// The parent's segment is in the store already, as its own save left it.
			if err := s.putSegment(ctx, inherited.Name, inherited.Data); err != nil {
				t.Fatal(err)
			}
			err := s.Save(ctx, key, state(1, ctc.Segment{Name: inherited.Name}, one))
			if !withS3 {
				if err == nil || !strings.Contains(err.Error(), "configure DynamoConfig.S3") {
					t.Fatalf("a segment over the item limit without S3: %v", err)
				}
				one = seg(key+"/00/quality/1-bb", 200)
				err = s.Save(ctx, key, state(1, ctc.Segment{Name: inherited.Name}, one))
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Save(ctx, key, state(2, ctc.Segment{Name: inherited.Name}, ctc.Segment{Name: one.Name}, two)); err != nil {
				t.Fatal(err)
			}
			// The third state no longer names "one" (expired) nor the inherited segment.
			if err := s.Save(ctx, key, state(3, ctc.Segment{Name: two.Name})); err != nil {
				t.Fatal(err)
			}
			cold, err := NewDynamoStateStore(s.cfg)
			if err != nil {
				t.Fatal(err)
			}
			st, err := cold.Load(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Ranges[0].State.Segments; len(got) != 1 || !bytes.Equal(got[0].Data, two.Data) {
				t.Fatalf("loaded segments %v", got)
			}
			if _, err := cold.segment(ctx, one.Name); err == nil {
				t.Error("the shard's superseded segment was not deleted")
			}
			if _, err := cold.segment(ctx, inherited.Name); err != nil {
				t.Errorf("the inherited segment was deleted: %v", err)
			}
			if st.Pending == nil || len(st.Pending.DeadLetters) != 1 {
				t.Fatalf("pending output %+v", st.Pending)
			}
		})
	}
}
