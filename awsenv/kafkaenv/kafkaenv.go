// Package kafkaenv is the Kafka part of the programs' configuration surface (package awsenv holds
// the AWS part): the CTC_KAFKA_* variables, the flags that override them, and the kgo client
// options built from them. It is apart from awsenv so that programs that never talk to Kafka do
// not link franz-go.
//
//	flag                       variable                       default
//	-kafka-brokers LIST        CTC_KAFKA_BROKERS              none: Kinesis. host:port,… selects Kafka
//	-kafka-topic NAME          CTC_KAFKA_TOPIC                coattail-trades
//	-kafka-dlq-topic NAME      CTC_KAFKA_DLQ_TOPIC            coattail-trades-dlq
//	-kafka-group NAME          CTC_KAFKA_GROUP                the consumer's -app
//	-kafka-tls                 CTC_KAFKA_TLS                  false (true with aws-msk-iam)
//	-kafka-tls-ca FILE         CTC_KAFKA_TLS_CA               the system roots
//	-kafka-sasl MECHANISM      CTC_KAFKA_SASL                 none; plain, scram-sha-256, scram-sha-512,
//	                                                          or aws-msk-iam (the SDK's credentials)
//	-kafka-user NAME           CTC_KAFKA_USER                 plain and SCRAM
//	                           CTC_KAFKA_PASSWORD             plain and SCRAM (no flag: it would show in ps)
//	-kafka-state-dir DIR       CTC_KAFKA_STATE_DIR            the consumer: partition states in DIR
//	                                                          (one machine) instead of DynamoDB
//	-kafka-accept-repartition  CTC_KAFKA_ACCEPT_REPARTITION   false: a changed partition count stops
//	                                                          the consumer (kafkarunner.ErrRepartitioned)
package kafkaenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	awssasl "github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/coattailcapital/ctc/sink/kafka"
)

// The SASL mechanisms.
const (
	SASLPlain       = "plain"
	SASLScramSHA256 = "scram-sha-256"
	SASLScramSHA512 = "scram-sha-512"
	SASLMSKIAM      = "aws-msk-iam"
)

// Env is the Kafka configuration the variables (and flags) give.
type Env struct {
	Brokers           string
	Topic, DLQTopic   string
	Group             string
	TLS               bool
	TLSCA             string
	SASL              string
	User, Password    string
	StateDir          string
	AcceptRepartition bool
}

// FromEnv reads the variables with getenv (os.Getenv), applying the defaults.
func FromEnv(getenv func(string) string) Env {
	or := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	yes := func(name string) bool {
		b, _ := strconv.ParseBool(strings.TrimSpace(getenv(name)))
		return b
	}
	return Env{
		Brokers:           or("CTC_KAFKA_BROKERS", ""),
		Topic:             or("CTC_KAFKA_TOPIC", kafka.DefaultTopic),
		DLQTopic:          or("CTC_KAFKA_DLQ_TOPIC", kafka.DefaultDLQTopic),
		Group:             or("CTC_KAFKA_GROUP", ""),
		TLS:               yes("CTC_KAFKA_TLS"),
		TLSCA:             or("CTC_KAFKA_TLS_CA", ""),
		SASL:              strings.ToLower(or("CTC_KAFKA_SASL", "")),
		User:              or("CTC_KAFKA_USER", ""),
		Password:          getenv("CTC_KAFKA_PASSWORD"),
		StateDir:          or("CTC_KAFKA_STATE_DIR", ""),
		AcceptRepartition: yes("CTC_KAFKA_ACCEPT_REPARTITION"),
	}
}

// RegisterFlags adds the Kafka flags to fs, bound to e's fields: call it after FromEnv. consumer
// adds the consumer's own flags.
func (e *Env) RegisterFlags(fs *flag.FlagSet, consumer bool) {
	fs.StringVar(&e.Brokers, "kafka-brokers", e.Brokers, "Kafka bootstrap `brokers`, host:port comma-separated: use Kafka instead of Kinesis (CTC_KAFKA_BROKERS)")
	fs.StringVar(&e.Topic, "kafka-topic", e.Topic, "Kafka trade `topic` (CTC_KAFKA_TOPIC)")
	fs.StringVar(&e.DLQTopic, "kafka-dlq-topic", e.DLQTopic, "Kafka dead-letter `topic` (CTC_KAFKA_DLQ_TOPIC)")
	fs.BoolVar(&e.TLS, "kafka-tls", e.TLS, "connect to Kafka over TLS (CTC_KAFKA_TLS)")
	fs.StringVar(&e.TLSCA, "kafka-tls-ca", e.TLSCA, "PEM `file` of the CA that signed the brokers' certificates (default: the system roots) (CTC_KAFKA_TLS_CA)")
	fs.StringVar(&e.SASL, "kafka-sasl", e.SASL, "SASL `mechanism`: plain, scram-sha-256, scram-sha-512 or aws-msk-iam (CTC_KAFKA_SASL; the password is CTC_KAFKA_PASSWORD)")
	fs.StringVar(&e.User, "kafka-user", e.User, "SASL plain or SCRAM `user` (CTC_KAFKA_USER)")
	if consumer {
		fs.StringVar(&e.Group, "kafka-group", e.Group, "Kafka consumer `group` (default: -app) (CTC_KAFKA_GROUP)")
		fs.StringVar(&e.StateDir, "kafka-state-dir", e.StateDir, "keep partition states in this local `directory` (consumers on one machine) instead of the DynamoDB state table (CTC_KAFKA_STATE_DIR)")
		fs.BoolVar(&e.AcceptRepartition, "kafka-accept-repartition", e.AcceptRepartition, "go on when the topic's partition count changed, restarting the windows of the keys that moved (CTC_KAFKA_ACCEPT_REPARTITION)")
	}
}

// Enabled reports whether Kafka is configured (brokers given).
func (e Env) Enabled() bool { return e.Brokers != "" }

// Validate reports a configuration that cannot work.
func (e Env) Validate() error {
	switch e.SASL {
	case "", SASLPlain, SASLScramSHA256, SASLScramSHA512, SASLMSKIAM:
	default:
		return fmt.Errorf("-kafka-sasl must be plain, scram-sha-256, scram-sha-512 or aws-msk-iam, got %q", e.SASL)
	}
	switch {
	case e.Topic == "" || e.Topic == e.DLQTopic:
		return fmt.Errorf("-kafka-topic and -kafka-dlq-topic must be two different names, got %q and %q", e.Topic, e.DLQTopic)
	case (e.SASL == SASLPlain || strings.HasPrefix(e.SASL, "scram")) && (e.User == "" || e.Password == ""):
		return fmt.Errorf("-kafka-sasl %s needs -kafka-user and CTC_KAFKA_PASSWORD", e.SASL)
	}
	for _, b := range e.brokers() {
		if !strings.Contains(b, ":") {
			return fmt.Errorf("-kafka-brokers: %q is not host:port", b)
		}
	}
	return nil
}

func (e Env) brokers() []string {
	var out []string
	for _, b := range strings.Split(e.Brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// ClientOptions are the kgo options of the brokers, TLS and SASL. creds gives AWS credentials
// for aws-msk-iam (the SDK's default chain: aws.Config.Credentials); it is not used otherwise.
func (e Env) ClientOptions(creds aws.CredentialsProvider) ([]kgo.Opt, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	opts := []kgo.Opt{kgo.SeedBrokers(e.brokers()...)}
	if e.TLS || e.TLSCA != "" || e.SASL == SASLMSKIAM {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if e.TLSCA != "" {
			pem, err := os.ReadFile(e.TLSCA)
			if err != nil {
				return nil, fmt.Errorf("-kafka-tls-ca: %w", err)
			}
			cfg.RootCAs = x509.NewCertPool()
			if !cfg.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("-kafka-tls-ca: %s holds no PEM certificate", e.TLSCA)
			}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	var m sasl.Mechanism
	switch e.SASL {
	case SASLPlain:
		m = plain.Auth{User: e.User, Pass: e.Password}.AsMechanism()
	case SASLScramSHA256:
		m = scram.Auth{User: e.User, Pass: e.Password}.AsSha256Mechanism()
	case SASLScramSHA512:
		m = scram.Auth{User: e.User, Pass: e.Password}.AsSha512Mechanism()
	case SASLMSKIAM:
		if creds == nil {
			return nil, errors.New("-kafka-sasl aws-msk-iam needs AWS credentials")
		}
		m = awssasl.ManagedStreamingIAM(func(ctx context.Context) (awssasl.Auth, error) {
			c, err := creds.Retrieve(ctx)
			if err != nil {
				return awssasl.Auth{}, fmt.Errorf("aws-msk-iam: AWS credentials: %w", err)
			}
			return awssasl.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		})
	}
	if m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}
