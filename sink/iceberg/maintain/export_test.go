package maintain

import "context"

// WithBeforeCommit returns a context under which Compact runs f between staging its rewrite on
// the table it loaded and committing it.
func WithBeforeCommit(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, beforeCommitKey{}, f)
}
