//go:build unix || windows

package kafkarunner_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
)

// Saves are conditional on the version, across the processes sharing the directory: a save
// derived from a state that another save has replaced fails with ErrConflict.
func ExampleFileStateStore() {
	dir, _ := os.MkdirTemp("", "states")
	defer os.RemoveAll(dir)
	s, err := kafkarunner.NewFileStateStore(dir)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	key := "app/coattail-trades/0"
	fmt.Println(s.Save(ctx, key, &partrunner.ShardState{Version: 1, Shard: "coattail-trades/0", Sequence: "41"}))
	// Two members loaded version 1; the first to save wins.
	fmt.Println(s.Save(ctx, key, &partrunner.ShardState{Version: 2, Sequence: "99"}))
	err = s.Save(ctx, key, &partrunner.ShardState{Version: 2, Sequence: "57"})
	fmt.Println(errors.Is(err, partrunner.ErrConflict))
	st, _ := s.Load(ctx, key)
	fmt.Println(st.Version, st.Sequence)
	// Output:
	// <nil>
	// <nil>
	// true
	// 2 99
}
