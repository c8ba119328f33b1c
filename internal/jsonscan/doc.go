// Package jsonscan holds the low-level JSON mechanics ctc's hand-written, allocation-free
// decoders share, once: skipping whitespace, scanning a string eight bytes at a time (SWAR) to
// its closing quote while noting escapes and non-ASCII bytes, skipping any value with its syntax
// checked, and one float parser for JSON numbers and for the decimal strings exchanges send
// ("0.35280000").
//
// # Users
//
// The unified-trade record decoder (quality), the exchange frame decoders (source/binance,
// source/coinbase) and the replay CSV decoder (source/replay). Each keeps its own knowledge — field
// names, schema, error messages — and maps this package's Code to its own wording.
//
// # Exactness
//
// Number and Decimal return what strconv.ParseFloat returns, bit for bit (±Inf beyond the float64
// range). Most inputs take the exact fast path strconv itself has: a mantissa of at most 2^53 and a
// small power of ten are both exact in a float64, so one IEEE multiplication or division rounds
// correctly; the rest go to strconv.ParseFloat. The scanners accept what encoding/json accepts
// (FuzzScan checks both).
//
// # Concurrency
//
// Every function is pure and safe for concurrent use. None allocates, but for a number beyond
// the float64 range, where strconv.ParseFloat builds its error.
package jsonscan
