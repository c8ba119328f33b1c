package shardrunner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coattailcapital/ctc/internal/awstest"
)

func leasesOf(owners ...string) []Lease {
	out := make([]Lease, len(owners))
	for i, o := range owners {
		out[i] = Lease{Key: fmt.Sprintf("app/shard-%d", i), Shard: fmt.Sprintf("shard-%d", i), Owner: o, Counter: int64(i + 1)}
	}
	return out
}

func keys(ls []Lease) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Shard)
	}
	return out
}

func TestBalance(t *testing.T) {
	never := func(Lease) bool { return false }
	for _, c := range []struct {
		name    string
		leases  []Lease
		expired func(Lease) bool
		take    []string
		steal   string
	}{
		{"alone, all free", leasesOf("", "", "", ""), never, []string{"shard-0", "shard-1", "shard-2", "shard-3"}, ""},
		{"free up to an even share", leasesOf("b", "", "", ""), never, []string{"shard-1", "shard-2"}, ""},
		{"even share held", leasesOf("me", "me", "b", "b"), never, nil, ""},
		{"one over is even enough", leasesOf("me", "me", "b", "b", "b"), never, nil, ""},
		{"steal one from a busy owner", leasesOf("b", "b", "b", "b"), never, nil, "shard-3"},
		{"steal from the busiest", leasesOf("b", "b", "c", "c", "c", "c"), never, nil, "shard-5"},
		{"a dead owner's leases are free", leasesOf("dead", "dead", "b", "b"), func(l Lease) bool { return l.Owner == "dead" },
			[]string{"shard-0", "shard-1"}, ""},
		{"my own lease never counts as expired", leasesOf("me", "b"), func(Lease) bool { return true }, []string{"shard-1"}, ""},
		{"nothing to balance", nil, never, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := balance("me", c.leases, c.expired)
			if d := cmp.Diff(c.take, keys(p.take)); d != "" {
				t.Errorf("take (-want +got):\n%s", d)
			}
			steal := ""
			if p.steal != nil {
				steal = p.steal.Shard
			}
			if steal != c.steal {
				t.Errorf("steal %q, want %q", steal, c.steal)
			}
		})
	}
}

// Two consumers taking turns converge on an even split, whatever the starting point.
func TestBalanceConverges(t *testing.T) {
	for n := 1; n <= 9; n++ {
		ls := leasesOf(slices.Repeat([]string{"a"}, n)...)
		for round := 0; round < 2*n; round++ {
			for _, me := range []string{"b", "a"} {
				p := balance(me, ls, func(Lease) bool { return false })
				for _, l := range append(p.take, derefAll(p.steal)...) {
					i := slices.IndexFunc(ls, func(x Lease) bool { return x.Key == l.Key })
					ls[i].Owner = me
				}
			}
		}
		a := 0
		for _, l := range ls {
			if l.Owner == "a" {
				a++
			}
		}
		if b := n - a; a-b > 1 || b-a > 1 {
			t.Errorf("%d shards: a holds %d, b %d", n, a, b)
		}
	}
}

func derefAll(l *Lease) []Lease {
	if l == nil {
		return nil
	}
	return []Lease{*l}
}

func TestLeaseViewExpiry(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var v leaseView
	l := Lease{Key: "app/s", Owner: "b", Counter: 3}
	if v.expired(l, t0, time.Second) {
		t.Fatal("a lease never observed expired")
	}
	v.observe([]Lease{l}, t0)
	if v.expired(l, t0.Add(999*time.Millisecond), time.Second) {
		t.Fatal("expired before its duration")
	}
	if !v.expired(l, t0.Add(time.Second), time.Second) {
		t.Fatal("not expired after its duration without a renewal")
	}
	l.Counter++ // renewed
	v.observe([]Lease{l}, t0.Add(2*time.Second))
	if v.expired(l, t0.Add(2500*time.Millisecond), time.Second) {
		t.Fatal("a renewed lease expired")
	}
	v.observe(nil, t0.Add(3*time.Second))
	if len(v.seen) != 0 {
		t.Fatal("a lease gone from the table is still remembered")
	}
}

func TestLeaseTable(t *testing.T) {
	ctx := context.Background()
	db := awstest.DynamoDBClient(t)
	name := awstest.Name(t, "leases")
	if err := CreateLeaseTable(ctx, db, name); err != nil {
		t.Fatal(err)
	}
	if err := CreateLeaseTable(ctx, db, name); err != nil {
		t.Fatalf("creating an existing table: %v", err)
	}
	lt, err := NewLeaseTable(db, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewLeaseTable(nil, name); err == nil {
		t.Fatal("NewLeaseTable without a client succeeded")
	}
	now := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	fresh := Lease{Key: "app/shardId-000000000001", Shard: "shardId-000000000001"}

	if l, err := lt.Get(ctx, fresh.Key); err != nil || l != fresh {
		t.Fatalf("Get of a lease never written = %+v, %v; want %+v", l, err, fresh)
	}
	a, err := lt.Acquire(ctx, fresh, "a", now)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := lt.Get(ctx, fresh.Key); err != nil || l.Owner != "a" || l.Counter != 1 {
		t.Fatalf("Get after Acquire = %+v, %v", l, err)
	}
	if _, err := lt.Acquire(ctx, fresh, "b", now); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("second acquire of a new lease: %v, want ErrLeaseLost", err)
	}
	if _, err := lt.Acquire(ctx, Lease{Key: "other/shardId-000000000001", Shard: "shardId-000000000001"}, "c", now); err != nil {
		t.Fatal(err)
	}
	a, err = lt.Renew(ctx, a, now.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	got, err := lt.List(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	want := []Lease{{Key: fresh.Key, Shard: fresh.Shard, Owner: "a", Counter: 2, Heartbeat: now.Add(time.Second)}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("List (-want +got):\n%s", d)
	}
	// b takes the lease over (as from a dead or over-loaded owner): a's renewal then fails.
	b, err := lt.Acquire(ctx, got[0], "b", now.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lt.Renew(ctx, a, now); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renewing a lease taken over: %v, want ErrLeaseLost", err)
	}
	if _, err := lt.Release(ctx, a); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("releasing a lease taken over: %v, want ErrLeaseLost", err)
	}
	if _, err := lt.Acquire(ctx, got[0], "c", now); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("acquiring from a stale read: %v, want ErrLeaseLost", err)
	}
	b, err = lt.Release(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if b.Owner != "" {
		t.Fatalf("released lease owned by %q", b.Owner)
	}
	a, err = lt.Acquire(ctx, b, "a", now)
	if err != nil {
		t.Fatalf("acquiring a released lease: %v", err)
	}
	if _, err := lt.Finish(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err = lt.List(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Finished || got[0].Owner != "" || got[0].Counter != 6 {
		t.Fatalf("after Finish: %+v, want one free finished lease at counter 6", got)
	}
}
