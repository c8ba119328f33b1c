package kafkaenv_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/awsenv/kafkaenv"
	"github.com/coattailcapital/ctc/sink/kafka"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvAndFlags(t *testing.T) {
	t.Parallel()
	e := kafkaenv.FromEnv(env(map[string]string{"CTC_KAFKA_BROKERS": "a:9092,b:9092", "CTC_KAFKA_SASL": "SCRAM-SHA-512",
		"CTC_KAFKA_USER": "u", "CTC_KAFKA_PASSWORD": "p", "CTC_KAFKA_TLS": "true"}))
	if !e.Enabled() || e.Topic != kafka.DefaultTopic || e.DLQTopic != kafka.DefaultDLQTopic || e.SASL != kafkaenv.SASLScramSHA512 || !e.TLS {
		t.Fatalf("FromEnv = %+v", e)
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	e.RegisterFlags(fs, true)
	if err := fs.Parse([]string{"-kafka-topic", "t", "-kafka-group", "g", "-kafka-accept-repartition"}); err != nil {
		t.Fatal(err)
	}
	if e.Topic != "t" || e.Group != "g" || !e.AcceptRepartition || e.Brokers != "a:9092,b:9092" {
		t.Fatalf("after flags: %+v", e)
	}
	if opts, err := e.ClientOptions(nil); err != nil || len(opts) != 3 {
		t.Fatalf("ClientOptions = %d options, %v; want brokers, TLS, SASL", len(opts), err)
	}
	if e := kafkaenv.FromEnv(env(nil)); e.Enabled() {
		t.Fatal("enabled without brokers")
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	base := kafkaenv.FromEnv(env(map[string]string{"CTC_KAFKA_BROKERS": "localhost:9092"}))
	for name, mod := range map[string]func(*kafkaenv.Env){
		"sasl":       func(e *kafkaenv.Env) { e.SASL = "kerberos" },
		"same topic": func(e *kafkaenv.Env) { e.DLQTopic = e.Topic },
		"no pass":    func(e *kafkaenv.Env) { e.SASL, e.User = kafkaenv.SASLScramSHA256, "u" },
		"no port":    func(e *kafkaenv.Env) { e.Brokers = "localhost" },
		"iam creds":  func(e *kafkaenv.Env) { e.SASL = kafkaenv.SASLMSKIAM },
	} {
		e := base
		mod(&e)
		if _, err := e.ClientOptions(nil); err == nil {
			t.Errorf("%s: ClientOptions accepted %+v", name, e)
		}
	}
}

// The options authenticate with SCRAM-SHA-256 against a broker that requires it.
func TestSCRAM(t *testing.T) {
	t.Parallel()
	c, err := kfake.NewCluster(kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "ctc", "s3cret"),
		kfake.SeedTopics(1, kafka.DefaultTopic, kafka.DefaultDLQTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, pass := range []string{"s3cret", "wrong"} {
		e := kafkaenv.FromEnv(env(map[string]string{"CTC_KAFKA_BROKERS": c.ListenAddrs()[0], "CTC_KAFKA_SASL": "scram-sha-256",
			"CTC_KAFKA_USER": "ctc", "CTC_KAFKA_PASSWORD": pass}))
		opts, err := e.ClientOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		p, err := kafka.Dial(kafka.Config{}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		if err := p.Write(ctx, &ctc.Batch{Trades: []ctc.Trade{{Symbol: "BTC-USDT", Exchange: ctc.Binance}}}); err != nil {
			t.Fatal(err)
		}
		err = p.Close(ctx)
		cancel()
		if (err == nil) != (pass == "s3cret") {
			t.Fatalf("password %q: Close = %v", pass, err)
		}
	}
}
