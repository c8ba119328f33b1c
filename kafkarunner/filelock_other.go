//go:build !unix && !windows

package kafkarunner

import (
	"fmt"
	"os"
	"runtime"
)

func lockFile(*os.File) error {
	return fmt.Errorf("FileStateStore has no file lock on %s: keep the states in another store", runtime.GOOS)
}

func unlockFile(*os.File) error { return nil }
