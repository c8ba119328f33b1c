package shardrunner

import (
	"context"
	"testing"

	"github.com/coattailcapital/ctc"
)

type resumeSink struct{ at []int64 }

func (s *resumeSink) Write(context.Context, *ctc.Batch) error      { return nil }
func (s *resumeSink) Commit(context.Context, ctc.Checkpoint) error { return nil }
func (s *resumeSink) Resume(_ context.Context, cp ctc.Checkpoint) error {
	s.at = append(s.at, cp.Seq)
	return nil
}

// The consumer's commit-retrying wrapper passes Resume on, so that a runner resumes a Resumer
// sink the consumer wrapped; a sink that is not a Resumer is left alone.
func TestWrappedSinksResume(t *testing.T) {
	c := &Consumer{cfg: ConsumerConfig{CommitAttempts: 3}}
	inner := &resumeSink{}
	sinks := c.wrapSinks([]ctc.Sink{inner, &observer{}})
	r, ok := sinks[0].(ctc.Resumer)
	if !ok {
		t.Fatalf("the wrapped sink %T hides Resume", sinks[0])
	}
	if err := r.Resume(context.Background(), ctc.Checkpoint{PipelineID: "app/shard", Seq: 7}); err != nil || len(inner.at) != 1 || inner.at[0] != 7 {
		t.Fatalf("Resume reached the sink at %v (err %v), want [7]", inner.at, err)
	}
	if _, ok := sinks[1].(ctc.Resumer); ok {
		t.Fatalf("a sink that is not a Committer is wrapped: %T", sinks[1])
	}
}
