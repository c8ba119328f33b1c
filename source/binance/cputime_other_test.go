//go:build !unix

package binance

import "time"

func cpuTime() time.Duration { return 0 }
