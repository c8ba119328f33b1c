# The hot stores: alerts (two GSIs for GET /alerts by type or symbol), aggregates (per-series
# windows for GET /metrics), the stream Lambda's and consumer's per-shard detector state, and the
# consumer's lease table. All on-demand, encrypted, with point-in-time recovery; alerts and
# aggregates expire through ttl_epoch, which the writers set. The indexes name their keys with
# key_schema blocks (the 6.x provider deprecates an index's hash_key and range_key).

variable "project" {
  description = "Name prefix."
  type        = string
}

locals {
  # The alerts table's indexes: name => partition key (sort key detected_at).
  alert_indexes = { "type-time-index" = "alert_type", "symbol-time-index" = "symbol" }
}

# SSE with the AWS-managed key aws/dynamodb (enabled = true, no key ARN); a customer-managed key buys nothing for
# public market data and costs per request.
#tfsec:ignore:aws-dynamodb-table-customer-key
resource "aws_dynamodb_table" "alerts" {
  name         = "${var.project}-alerts"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "alert_id"
  range_key    = "detected_at"

  attribute {
    name = "alert_id"
    type = "S"
  }
  attribute {
    name = "detected_at"
    type = "S"
  }
  attribute {
    name = "alert_type"
    type = "S"
  }
  attribute {
    name = "symbol"
    type = "S"
  }

  # GET /alerts by type or by symbol, newest first.
  dynamic "global_secondary_index" {
    for_each = local.alert_indexes
    content {
      name            = global_secondary_index.key
      projection_type = "ALL"
      key_schema {
        attribute_name = global_secondary_index.value
        key_type       = "HASH"
      }
      key_schema {
        attribute_name = "detected_at"
        key_type       = "RANGE"
      }
    }
  }

  ttl {
    attribute_name = "ttl_epoch"
    enabled        = true
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = true
  }
}

#tfsec:ignore:aws-dynamodb-table-customer-key
resource "aws_dynamodb_table" "aggregates" {
  name         = "${var.project}-aggregates"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "series"
  range_key    = "sk" # sink/dynamodb: volume#SYMBOL → window_start#exchange, spread#INSTRUMENT → window_start

  attribute {
    name = "series"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "ttl_epoch"
    enabled        = true
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = true
  }
}

#tfsec:ignore:aws-dynamodb-table-customer-key
resource "aws_dynamodb_table" "keyed" {
  for_each = {
    state  = { name = "${var.project}-shard-state", key = "shard_key" }
    leases = { name = "${var.project}-shard-leases", key = "lease_key" }
  }
  name         = each.value.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = each.value.key

  attribute {
    name = each.value.key
    type = "S"
  }

  server_side_encryption {
    enabled = true
  }

  point_in_time_recovery {
    enabled = true
  }
}

output "names" {
  description = "Table names: alerts, aggregates, state, leases."
  value = {
    alerts     = aws_dynamodb_table.alerts.name
    aggregates = aws_dynamodb_table.aggregates.name
    state      = aws_dynamodb_table.keyed["state"].name
    leases     = aws_dynamodb_table.keyed["leases"].name
  }
}

output "indexes" {
  description = "Global secondary index names by table: alerts (the throttle alarms watch each)."
  value       = { alerts = keys(local.alert_indexes) }
}

output "arns" {
  description = "Table ARNs: alerts, aggregates, state, leases."
  value = {
    alerts     = aws_dynamodb_table.alerts.arn
    aggregates = aws_dynamodb_table.aggregates.arn
    state      = aws_dynamodb_table.keyed["state"].arn
    leases     = aws_dynamodb_table.keyed["leases"].arn
  }
}
