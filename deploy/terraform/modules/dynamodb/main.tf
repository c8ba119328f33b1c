# The hot stores: alerts (two GSIs for GET /alerts by type or symbol), aggregates (per-series
# windows for GET /metrics), the stream Lambda's and consumer's per-shard detector state, and the
# consumer's lease table. All on-demand, encrypted, with point-in-time recovery; alerts and
# aggregates expire through ttl_epoch, which the writers set.

variable "project" {
  description = "Name prefix."
  type        = string
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

  global_secondary_index {
    name            = "type-time-index"
    hash_key        = "alert_type"
    range_key       = "detected_at"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "symbol-time-index"
    hash_key        = "symbol"
    range_key       = "detected_at"
    projection_type = "ALL"
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

output "arns" {
  description = "Table ARNs: alerts, aggregates, state, leases."
  value = {
    alerts     = aws_dynamodb_table.alerts.arn
    aggregates = aws_dynamodb_table.aggregates.arn
    state      = aws_dynamodb_table.keyed["state"].arn
    leases     = aws_dynamodb_table.keyed["leases"].arn
  }
}
