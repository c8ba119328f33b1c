package notify_test

import (
	"context"
	"encoding/binary"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/notify"
	"github.com/coattailcapital/ctc/notify/notifytest"
)

// nth returns alert a with an id of its own for iteration i.
func nth(a ctc.Alert, i int) ctc.Alert {
	binary.BigEndian.PutUint64(a.AlertID[8:], uint64(i))
	return a
}

// BenchmarkLatency measures the time from Write of a batch holding an alert to the webhook
// request arriving (its body read) at a signature-verifying loopback receiver, with the delivery
// log fsynced after each delivery as in production. The issue requires p99 < 2 s.
//
//   - one: one alert per batch, the next written once the previous arrived.
//   - burst100: 100 alerts in one batch, each timed to its own arrival: queueing behind the others.
func BenchmarkLatency(b *testing.B) {
	for _, per := range []struct {
		name  string
		batch int
	}{{"one", 1}, {"burst100", 100}} {
		b.Run(per.name, func(b *testing.B) {
			wh := notifytest.NewWebhook(b, hmacKey)
			arrived := make(chan time.Time, per.batch)
			wh.OnRequest(func(r notifytest.Request) { arrived <- r.At })
			n, _ := setup{dests: []string{webhookDest("hook", wh)}, secrets: map[string]string{"hmac": hmacKey},
				delivery: `{"log_path": "delivered.ndjson", "queue": 1024}`}.open(b)
			base := alert(1, ctc.High)
			bt := &ctc.Batch{}
			var lat []time.Duration
			id := 0
			b.ResetTimer()
			for range b.N {
				bt.Reset()
				for range per.batch {
					bt.Output.Alerts = append(bt.Output.Alerts, nth(base, id))
					id++
				}
				start := time.Now()
				if err := n.Write(context.Background(), bt); err != nil {
					b.Fatal(err)
				}
				for range per.batch {
					lat = append(lat, (<-arrived).Sub(start))
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}

// reportLatency reports the latencies' p50, p99 and max in ms, and fails the benchmark when p99
// passes the 2 s the issue allows.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.Helper()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
	if q(0.99) > 2000 {
		b.Errorf("p99 %.1f ms is over the 2 s the issue allows", q(0.99))
	}
}

// BenchmarkWriteSlowDestination measures Write while every destination takes a second per
// request: Write only queues (dropping the oldest when a queue is full), so its cost does not
// depend on the destinations. Each batch holds one alert routed to three destinations.
func BenchmarkWriteSlowDestination(b *testing.B) {
	release := make(chan struct{})
	slow := newHTTPServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second):
		case <-release:
		case <-r.Context().Done():
		}
	}))
	var dests []string
	for _, name := range []string{"a", "b", "c"} {
		dests = append(dests, `{"name": "`+name+`", "kind": "webhook", "url": "`+slow.URL+`", "secret": "file:hmac"}`)
	}
	n, _ := setup{dests: dests, secrets: map[string]string{"hmac": hmacKey},
		delivery: `{"dead_letter_path": "dead.ndjson", "log_path": "delivered.ndjson"}`}.open(b)
	base := alert(1, ctc.High)
	bt := &ctc.Batch{Output: ctc.Output{Alerts: make([]ctc.Alert, 1)}}
	took := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		bt.Output.Alerts[0] = nth(base, i)
		start := time.Now()
		if err := n.Write(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(took)
	var dropped int64
	for _, s := range n.Stats() {
		dropped += s.Dropped
	}
	b.ReportMetric(float64(took[len(took)*99/100])/float64(time.Microsecond), "p99-write-µs")
	b.ReportMetric(float64(took[len(took)-1])/float64(time.Microsecond), "max-write-µs")
	b.ReportMetric(float64(dropped)/float64(b.N), "dropped/op")
	close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = n.Close(ctx) // what is left is dead-lettered as shutdown
}

// BenchmarkWriteNoAlerts is the common case: a batch of trades and aggregates with no alert.
func BenchmarkWriteNoAlerts(b *testing.B) {
	n, _ := setup{rules: `[{"to": ["r"]}]`, opts: []notify.Option{notify.WithDestination(&recorder{name: "r"})}}.open(b)
	bt := &ctc.Batch{Trades: make([]ctc.Trade, 100), Output: ctc.Output{Volumes: make([]ctc.VolumeWindow, 10)}}
	b.ReportAllocs()
	for range b.N {
		if err := n.Write(context.Background(), bt); err != nil {
			b.Fatal(err)
		}
	}
}
