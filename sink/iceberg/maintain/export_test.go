package maintain

import "context"

// WithBeforeCommit returns a context under which Compact runs f between staging its rewrite on
// the table it loaded and committing it.
func WithBeforeCommit(ctx context.Context, f func()) context.Context {
	return context.WithValue(ctx, beforeCommitKey{}, f)
}

// RemoveOrphansAnyAge is RemoveOrphans without the minimum age, for stores whose files cannot be
// backdated.
func RemoveOrphansAnyAge(ctx context.Context, lake Lake, name string, opt OrphanOptions) (*OrphanResult, error) {
	return removeOrphans(ctx, lake, name, opt)
}
