package dynamodb_test

import (
	"fmt"
	"time"

	"github.com/coattailcapital/ctc/sink/dynamodb"
)

// A Config is checked before any call reaches DynamoDB; the zero value takes the seed's tables.
func ExampleConfig_Validate() {
	fmt.Println(dynamodb.Config{}.Validate())
	fmt.Println(dynamodb.Config{PageSize: -1}.Validate())
	fmt.Println(dynamodb.Config{BaseBackoff: time.Second, MaxBackoff: time.Millisecond}.Validate())
	fmt.Println(dynamodb.Config{AlertsTable: "hot", AggregatesTable: "hot"}.Validate())
	// Output:
	// <nil>
	// dynamodb: PageSize must be >= 0 (0: automatic), got -1
	// dynamodb: want 0 <= BaseBackoff <= MaxBackoff, got 1s and 1ms
	// dynamodb: AlertsTable and AggregatesTable must differ, both are "hot"
}
