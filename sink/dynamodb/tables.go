package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/coattailcapital/ctc/internal/clock"
)

// CreateTables creates the alerts table (alert_id + detected_at, the indexes type-time-index and
// symbol-time-index, all attributes projected) and the aggregates table (series + sk), both
// PAY_PER_REQUEST, and waits until they and their indexes are ACTIVE; tables that exist are left as
// they are. It then enables TTL on ttl_epoch. For local use and tests: on AWS, Terraform creates
// the tables.
//
// Emulators such as dynalite do not implement UpdateTimeToLive (and never expire items): its
// UnknownOperationException is ignored, as is the answer that TTL is already on. Queries filter
// expired items either way.
func CreateTables(ctx context.Context, client *ddb.Client, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	s := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	key := func(hash, rng string) []types.KeySchemaElement {
		return []types.KeySchemaElement{
			{AttributeName: aws.String(hash), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(rng), KeyType: types.KeyTypeRange},
		}
	}
	gsi := func(name, hash string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName:  aws.String(name),
			KeySchema:  key(hash, attrDetectedAt),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	tables := []*ddb.CreateTableInput{{
		TableName:              aws.String(cfg.AlertsTable),
		AttributeDefinitions:   []types.AttributeDefinition{s(attrAlertID), s(attrDetectedAt), s(attrAlertType), s(attrSymbol)},
		KeySchema:              key(attrAlertID, attrDetectedAt),
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{gsi(TypeTimeIndex, attrAlertType), gsi(SymbolTimeIndex, attrSymbol)},
		BillingMode:            types.BillingModePayPerRequest,
	}, {
		TableName:            aws.String(cfg.AggregatesTable),
		AttributeDefinitions: []types.AttributeDefinition{s(attrSeries), s(attrSortKey)},
		KeySchema:            key(attrSeries, attrSortKey),
		BillingMode:          types.BillingModePayPerRequest,
	}}
	for _, in := range tables {
		_, err := client.CreateTable(ctx, in)
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("dynamodb: create table %s: %w", *in.TableName, err)
		}
	}
	for _, in := range tables {
		if err := waitActive(ctx, client, *in.TableName); err != nil {
			return err
		}
		if err := enableTTL(ctx, client, *in.TableName); err != nil {
			return err
		}
	}
	return nil
}

// waitActive polls DescribeTable until the table and every index of it are ACTIVE.
func waitActive(ctx context.Context, client *ddb.Client, table string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	wait := 20 * time.Millisecond
	for {
		out, err := client.DescribeTable(ctx, &ddb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return fmt.Errorf("dynamodb: describe table %s: %w", table, err)
		}
		active := out.Table.TableStatus == types.TableStatusActive
		for _, x := range out.Table.GlobalSecondaryIndexes {
			active = active && x.IndexStatus == types.IndexStatusActive
		}
		if active {
			return nil
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("dynamodb: table %s did not become active: %w", table, err)
		}
		wait = min(2*wait, time.Second)
	}
}

// enableTTL turns on expiry by ttl_epoch, tolerating servers that lack the operation.
func enableTTL(ctx context.Context, client *ddb.Client, table string) error {
	_, err := client.UpdateTimeToLive(ctx, &ddb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attrTTLEpoch),
			Enabled:       aws.Bool(true),
		},
	})
	if err == nil || ttlUnsupported(err) {
		return nil
	}
	return fmt.Errorf("dynamodb: enable TTL on %s.%s: %w", table, attrTTLEpoch, err)
}

// ttlUnsupported reports an answer to UpdateTimeToLive that leaves nothing to do: the server does
// not implement it (dynalite), or TTL is on already.
func ttlUnsupported(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch code := ae.ErrorCode(); {
	case strings.Contains(code, "UnknownOperation"), strings.Contains(code, "NotImplemented"):
		return true
	case code == "ValidationException":
		return strings.Contains(strings.ToLower(ae.ErrorMessage()), "already enabled")
	}
	return false
}
