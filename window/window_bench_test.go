package window

import (
	"cmp"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkTumblingAdd feeds trades as a live market gives them: few keys, timestamps 1 ms apart
// with a little jitter, one-minute windows and 30 s lateness, collecting fired panes as it goes.
func BenchmarkTumblingAdd(b *testing.B) {
	keys := []string{"BTC-USDT", "ETH-USDT", "SOL-USDT", "BTC-USD", "ETH-USD", "SOL-USD"}
	w, err := NewTumbling[string, Sum](Spec{Size: time.Minute, Lateness: 30 * time.Second}, strings.Compare)
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ts += int64(time.Millisecond)
		jitter := int64(i%13) * int64(time.Millisecond)
		if acc := w.Add(ts-jitter, keys[i%len(keys)]); acc != nil {
			acc.Add(1234.5)
		}
		if i%1024 == 0 {
			w.Ready()
		}
		i++
	}
}

// BenchmarkTumblingAddManyKeys is the same with 1000 (symbol, exchange) keys, as a consumer of
// every listed pair would see.
func BenchmarkTumblingAddManyKeys(b *testing.B) {
	type key struct{ symbol, exchange string }
	keys := make([]key, 1000)
	for i := range keys {
		keys[i] = key{fmt.Sprintf("SYM%d-USDT", i/2), []string{"binance", "coinbase"}[i%2]}
	}
	compare := func(a, b key) int {
		return cmp.Or(strings.Compare(a.symbol, b.symbol), strings.Compare(a.exchange, b.exchange))
	}
	w, err := NewTumbling[key, Sum](Spec{Size: time.Minute, Lateness: 30 * time.Second}, compare)
	if err != nil {
		b.Fatal(err)
	}
	ts := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ts += int64(100 * time.Microsecond)
		jitter := int64(i%13) * int64(time.Millisecond)
		if acc := w.Add(ts-jitter, keys[(i*7919)%len(keys)]); acc != nil {
			acc.Add(1234.5)
		}
		if i%1024 == 0 {
			w.Ready()
		}
		i++
	}
}

func BenchmarkSumAdd(b *testing.B) {
	vs := []float64{0.00123, 61234.5, 1.5e6, 3e-8, 987654.321, 42}
	var s Sum
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Add(vs[i%len(vs)])
		i++
	}
	sink = s.Float64()
}

func BenchmarkSumFloat64(b *testing.B) {
	s := Sum{Hi: 123456789, Lo: 0xdeadbeefcafebabe}
	b.ReportAllocs()
	for b.Loop() {
		sink = s.Float64()
		s.Lo++
	}
}

func BenchmarkRollingPush(b *testing.B) {
	r := NewRolling(60)
	b.ReportAllocs()
	v := 0.0
	for b.Loop() {
		r.Push(v)
		v++
	}
}

// BenchmarkRollingStats is the per-window cost of the volume-spike detector: one push, then mean
// and standard deviation over an hour of minute windows.
func BenchmarkRollingStats(b *testing.B) {
	r := NewRolling(60)
	b.ReportAllocs()
	v := 0.0
	for b.Loop() {
		r.Push(v)
		sink = r.Mean() + r.StdDev()
		v++
	}
}

var sink float64
