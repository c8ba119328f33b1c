package evidence

import (
	"strings"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
)

// Direction is which way an alert expects its measured move to go.
type Direction int8

// The directions. None is an alert that says nothing of direction: its move is judged by size.
const (
	Down Direction = -1
	None Direction = 0
	Up   Direction = 1
)

// String returns "up", "down" or "none".
func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "none"
}

// DirectionOf is the default direction of the built-in alerts:
//
//   - whale and whale_cluster: Up for a buy, Down for a sell — the taker's side, which the
//     detectors write after the amount in the message ("…: $251.3k buy of 83.7 at …",
//     "…: $150.0k sell split into a cluster …"); None when the message names no side.
//   - spread: the spread closing. A spread alert's move is the Binance leg's return minus the
//     Coinbase leg's, which is the change of the spread itself; a positive spread (Binance
//     dearer) expects it to fall (Down), a negative one to rise (Up). The signed move is then the
//     return of the convergence trade: buy the cheap exchange, sell the dear one.
//   - volume_spike and every other type: None. A volume spike says that something happens, not
//     which way; its move is judged by size (the absolute move).
func DirectionOf(a ctc.Alert) Direction {
	switch a.AlertType {
	case ctc.Whale, detect.WhaleCluster:
		return sideInMessage(a.Message)
	case ctc.Spread:
		switch {
		case a.ActualValue > 0:
			return Down
		case a.ActualValue < 0:
			return Up
		}
	}
	return None
}

// sideInMessage finds the side word the whale detectors write after the amount, following the
// first ": ".
func sideInMessage(msg string) Direction {
	_, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return None
	}
	f := strings.Fields(rest)
	if len(f) < 2 {
		return None
	}
	switch f[1] {
	case "buy":
		return Up
	case "sell":
		return Down
	}
	return None
}
