//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package embedded

import (
	"fmt"
	"os"
)

// lockFile creates the lock file but cannot lock it on this platform: the caller must make sure
// that one Store at a time opens a file.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	return f, nil
}

func unlockFile(f *os.File) { f.Close() }
