package kafkaenv_test

import (
	"flag"
	"fmt"

	"github.com/coattailcapital/ctc/awsenv/kafkaenv"
)

// A command reads the CTC_KAFKA_* variables, lets its flags override them, and builds the kgo
// options of the brokers, TLS and SASL.
func ExampleEnv_ClientOptions() {
	vars := map[string]string{"CTC_KAFKA_BROKERS": "b-1.msk:9096,b-2.msk:9096", "CTC_KAFKA_SASL": "scram-sha-512",
		"CTC_KAFKA_USER": "ctc", "CTC_KAFKA_PASSWORD": "from-a-secret"}
	e := kafkaenv.FromEnv(func(k string) string { return vars[k] })
	fs := flag.NewFlagSet("producer", flag.ContinueOnError)
	e.RegisterFlags(fs, false)
	_ = fs.Parse([]string{"-kafka-tls", "-kafka-topic", "trades"})
	opts, err := e.ClientOptions(nil)
	fmt.Println(e.Enabled(), e.Topic, e.DLQTopic, e.SASL, len(opts), err)
	// Output: true trades coattail-trades-dlq scram-sha-512 3 <nil>
}
