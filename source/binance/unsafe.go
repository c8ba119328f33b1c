package binance

import "unsafe"

// unsafeString views b as a string for a call that does not keep it (strconv.ParseFloat copies
// into its error), which is what keeps price parsing free of allocation.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
