// Command kafkalocal is a Kafka broker on this machine for trying ctc's Kafka path without
// installing Kafka: franz-go's kfake, an in-process broker speaking the Kafka protocol, with the
// trade and DLQ topics created.
//
//	go run ./examples/kafkalocal                 # a broker on 127.0.0.1:9092 until Ctrl-C
//	go run ./examples/kafkalocal -demo           # broker, producer and consumer in one process
//
// With the broker running, the producer and the consumer commands take -kafka-brokers
// 127.0.0.1:9092. With -demo it also plays an hour of the simulated market onto the topic
// (sink/kafka), reads it back in a consumer group through the quality chain and the detectors
// (kafkarunner: partition states in -dir/states, Iceberg tables in -dir/lake, alerts in
// -dir/alerts.db), prints the alerts as their checkpoints commit, and stops when every record is
// processed. kfake keeps its topics in memory: a new broker starts empty, so a demo runs in a new
// -dir (by default a temporary one).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/detect"
	"github.com/coattailcapital/ctc/kafkarunner"
	"github.com/coattailcapital/ctc/partrunner"
	"github.com/coattailcapital/ctc/quality"
	"github.com/coattailcapital/ctc/sink/embedded"
	icesink "github.com/coattailcapital/ctc/sink/iceberg"
	"github.com/coattailcapital/ctc/sink/kafka"
	"github.com/coattailcapital/ctc/source/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "kafkalocal:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("kafkalocal", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9092, "broker `port` on 127.0.0.1 (0: any free port)")
	partitions := fs.Int("partitions", 3, "partitions of the trade topic")
	demo := fs.Bool("demo", false, "produce an hour of the simulated market, consume it, print the alerts, and stop")
	dir := fs.String("dir", "", "-demo: directory of the states, tables and alert store (default: a new temporary one)")
	market := fs.Duration("market", time.Hour, "-demo: how much simulated market to play")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(*port),
		kfake.SeedTopics(int32(*partitions), kafka.DefaultTopic), kfake.SeedTopics(1, kafka.DefaultDLQTopic))
	if err != nil {
		return err
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	fmt.Fprintf(stderr, "kafkalocal: broker on %s, topics %s (%d partitions) and %s\n", addrs[0], kafka.DefaultTopic, *partitions, kafka.DefaultDLQTopic)
	if !*demo {
		<-ctx.Done()
		return nil
	}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "ctc-kafka-demo-"); err != nil {
			return err
		}
	}
	return runDemo(ctx, addrs, *dir, *market, stdout, stderr)
}

func runDemo(ctx context.Context, addrs []string, dir string, market time.Duration, stdout, stderr io.Writer) error {
	// The producer: the simulator through the quality chain onto the topic.
	start := time.Now().UTC().Truncate(time.Minute).Add(-market)
	src, err := sim.New(sim.Config{Seed: 1, Start: start, Duration: market})
	if err != nil {
		return err
	}
	prod, err := kafka.Dial(kafka.Config{}, kgo.SeedBrokers(addrs...))
	if err != nil {
		return err
	}
	chain, err := quality.New(quality.Config{})
	if err != nil {
		return err
	}
	p, err := ctc.NewPipeline(src, ctc.WithChecker(chain), ctc.WithSinks(prod))
	if err != nil {
		return err
	}
	if err := p.Run(ctx); err != nil {
		return err
	}
	if err := prod.Close(ctx); err != nil {
		return err
	}
	st := prod.Stats()
	fmt.Fprintf(stderr, "kafkalocal: produced %d trades of %s of simulated market (%d dead letters)\n", st.Sent, market, st.DeadLettered)

	// The consumer: one group member, as adapters/consumer runs it.
	states, err := kafkarunner.NewFileStateStore(filepath.Join(dir, "states"))
	if err != nil {
		return err
	}
	alerts, err := embedded.Open(filepath.Join(dir, "alerts.db"))
	if err != nil {
		return err
	}
	defer alerts.Close(context.WithoutCancel(ctx))
	lake := icesink.Config{Dir: filepath.Join(dir, "lake")}
	cons, err := kafkarunner.New(kafkarunner.Config{
		Client: []kgo.Opt{kgo.SeedBrokers(addrs...)}, App: "kafkalocal", Store: states,
		Runner: partrunner.Config{
			NewProcessor: partrunner.Processors(quality.Config{}, detect.DefaultThresholds(), nil),
			Sinks:        []ctc.Sink{alerts, printer{stdout}},
		},
		NewSinks: func(ctx context.Context, id string) ([]ctc.Sink, error) {
			s, err := icesink.Open(ctx, lake)
			return []ctc.Sink{s}, err
		},
		CheckpointEvery: time.Second,
	})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cons.Run(cctx) }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for cons.Stats().Records < st.Sent {
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
	}
	cancel() // the final checkpoint commits the rest
	if err := <-done; err != nil {
		return err
	}
	cs := cons.Stats()
	fmt.Fprintf(stderr, "kafkalocal: consumed %d records in %d checkpoints; tables in %s, alerts in %s\n",
		cs.Records, cs.Checkpoints, lake.Dir, filepath.Join(dir, "alerts.db"))
	return nil
}

// printer prints a checkpoint's alerts when the sinks commit it.
type printer struct{ w io.Writer }

func (p printer) Write(_ context.Context, b *ctc.Batch) error {
	for _, a := range b.Output.Alerts {
		fmt.Fprintf(p.w, "%s %-8s %-12s %-9s %s\n", a.DetectedAt.Format(time.TimeOnly), a.Severity, a.AlertType, a.Symbol, a.Message)
	}
	return nil
}
