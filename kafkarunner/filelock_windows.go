//go:build windows

package kafkarunner

import (
	"os"

	"golang.org/x/sys/windows"
)

// allBytes locks the whole file, whatever its length, as cmd/go's lockedfile does.
const allBytes = ^uint32(0)

// lockFile blocks until it holds an exclusive lock on f: os.OpenFile's handles are synchronous,
// so LockFileEx without LOCKFILE_FAIL_IMMEDIATELY waits, as flock does.
func lockFile(f *os.File) error {
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, allBytes, allBytes, new(windows.Overlapped))
}

func unlockFile(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, allBytes, allBytes, new(windows.Overlapped))
}
