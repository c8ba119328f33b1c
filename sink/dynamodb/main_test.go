package dynamodb_test

import (
	"os"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/coattailcapital/ctc"
	"github.com/coattailcapital/ctc/ctctest"
	"github.com/coattailcapital/ctc/internal/awstest"
	"github.com/coattailcapital/ctc/sink/dynamodb"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// newStore creates fresh tables on dynalite and a Store over them.
func newStore(t testing.TB, client *ddb.Client, cfg dynamodb.Config) *dynamodb.Store {
	t.Helper()
	if client == nil {
		client = awstest.DynamoDBClient(t)
	}
	if cfg.AlertsTable == "" {
		cfg.AlertsTable = awstest.Name(t, "alerts")
	}
	if cfg.AggregatesTable == "" {
		cfg.AggregatesTable = awstest.Name(t, "aggs")
	}
	if err := dynamodb.CreateTables(t.Context(), client, cfg); err != nil {
		t.Fatal(err)
	}
	st, err := dynamodb.New(client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestAlertStore(t *testing.T) {
	ctctest.TestAlertStore(t, ctctest.AlertStoreFeatures{SymbolsLinger: time.Hour}, func(t *testing.T, now func() time.Time) ctc.AlertStore {
		return newStore(t, nil, dynamodb.Config{Now: now})
	})
}

func TestAlertStoreSmallPages(t *testing.T) {
	ctctest.TestAlertStore(t, ctctest.AlertStoreFeatures{SymbolsLinger: time.Hour}, func(t *testing.T, now func() time.Time) ctc.AlertStore {
		return newStore(t, nil, dynamodb.Config{Now: now, PageSize: 3})
	})
}
