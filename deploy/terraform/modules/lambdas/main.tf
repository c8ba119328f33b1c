# The three Lambdas (arm64, provided.al2023, zips from scripts/build-lambdas.sh), each with its own
# least-privilege role and log group: stream (Kinesis event-source mapping with partial batch
# failures, bisection and an SQS on-failure destination), api (behind an HTTP API with throttling,
# CORS and access logs) and batch (the Step Functions tasks).

variable "project" {
  description = "Name prefix."
  type        = string
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "account_id" {
  description = "AWS account id."
  type        = string
}

variable "zip_dir" {
  description = "Folder holding api.zip, stream.zip and batch.zip."
  type        = string
}

variable "zip_names" {
  description = "Zip to run for a function, by function name, when not <function>.zip: stream = \"customdetector\" runs your own detectors."
  type        = map(string)
  default     = {}
}

variable "environment" {
  description = "CTC_* environment variables shared by the functions."
  type        = map(string)
}

variable "stream_arn" {
  description = "Trade stream ARN (the event source)."
  type        = string
}

variable "dlq_arn" {
  description = "Dead-letter stream ARN."
  type        = string
}

variable "table_arns" {
  description = "DynamoDB table ARNs: alerts, aggregates, state, leases."
  type        = map(string)
}

variable "bucket_arns" {
  description = "S3 bucket ARNs: raw, processed, checkpoint, athena."
  type        = map(string)
}

variable "glue_database" {
  description = "Glue database name."
  type        = string
}

variable "streaming_enabled" {
  description = "Initial state of the event-source mapping."
  type        = bool
}

variable "cors_origins" {
  description = "Allowed CORS origins."
  type        = list(string)
}

variable "throttle_rate" {
  description = "HTTP API rate limit (req/s)."
  type        = number
}

variable "throttle_burst" {
  description = "HTTP API burst limit."
  type        = number
}

variable "log_retention_days" {
  description = "Log retention."
  type        = number
}

locals {
  functions = {
    stream = { memory = 1024, timeout = 120, description = "Kinesis trades -> detectors -> DynamoDB + Iceberg" }
    api    = { memory = 512, timeout = 15, description = "HTTP API: /alerts, /metrics/{symbol}, dashboard" }
    batch  = { memory = 1024, timeout = 900, description = "Step Functions tasks: historical_load, reprocess, reprocess_status, quality_check, catalog_update, maintain" }
  }
  glue_arns = [
    "arn:aws:glue:${var.region}:${var.account_id}:catalog",
    "arn:aws:glue:${var.region}:${var.account_id}:database/${var.glue_database}",
    "arn:aws:glue:${var.region}:${var.account_id}:table/${var.glue_database}/*",
  ]
  glue_read  = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"]
  glue_write = ["glue:CreateTable", "glue:UpdateTable"]
  s3_rw      = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
}

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each           = local.functions
  name               = "${var.project}-${each.key}-lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
}

# Log groups encrypted with CloudWatch Logs' own key: Lambda logs here carry no secrets.
#tfsec:ignore:aws-cloudwatch-log-group-customer-key
resource "aws_cloudwatch_log_group" "this" {
  for_each          = local.functions
  name              = "/aws/lambda/${var.project}-${each.key}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "logs" {
  for_each = local.functions
  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  for_each = local.functions
  name     = "logs"
  role     = aws_iam_role.this[each.key].id
  policy   = data.aws_iam_policy_document.logs[each.key].json
}

# stream: read one stream, write alerts/aggregates/state, the warehouse (Glue + S3), large shard
# states under the raw bucket's shard-state/, dead letters on the DLQ stream and failed batches'
# metadata on the on-failure queue.
data "aws_iam_policy_document" "stream" {
  statement {
    sid = "ReadTradeStream"
    actions = [
      "kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords",
      "kinesis:GetShardIterator", "kinesis:ListShards",
    ]
    resources = [var.stream_arn]
  }
  statement {
    sid       = "DeadLetters"
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords"]
    resources = [var.dlq_arn]
  }
  statement {
    sid = "HotStores"
    actions = [
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
      "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:ConditionCheckItem",
    ]
    resources = [var.table_arns["alerts"], var.table_arns["aggregates"], var.table_arns["state"]]
  }
  statement {
    sid       = "WarehouseCatalog"
    actions   = concat(local.glue_read, local.glue_write)
    resources = local.glue_arns
  }
  statement {
    sid       = "WarehouseFiles"
    actions   = local.s3_rw
    resources = ["${var.bucket_arns["processed"]}/warehouse/*", "${var.bucket_arns["raw"]}/shard-state/*"]
  }
  statement {
    sid       = "ListWarehouse"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arns["processed"], var.bucket_arns["raw"]]
  }
  statement {
    sid       = "OnFailureDestination"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.stream_failures.arn]
  }
}

# api: read-only on the alerts and aggregates tables and their indexes.
data "aws_iam_policy_document" "api" {
  statement {
    sid     = "ReadHotStores"
    actions = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = [
      var.table_arns["alerts"], "${var.table_arns["alerts"]}/index/*",
      var.table_arns["aggregates"], "${var.table_arns["aggregates"]}/index/*",
    ]
  }
}

# batch: the warehouse (read raw_trades, write raw_trades and anomalies_reprocessed, table
# properties, snapshot expiry; the maintain task rewrites, lists and deletes files of every table)
# and the raw bucket.
data "aws_iam_policy_document" "batch" {
  statement {
    sid       = "WarehouseCatalog"
    actions   = concat(local.glue_read, local.glue_write)
    resources = local.glue_arns
  }
  statement {
    sid       = "WarehouseFiles"
    actions   = local.s3_rw
    resources = ["${var.bucket_arns["processed"]}/warehouse/*", "${var.bucket_arns["raw"]}/*"]
  }
  statement {
    sid       = "ListWarehouse"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arns["processed"], var.bucket_arns["raw"]]
  }
}

resource "aws_iam_role_policy" "access" {
  for_each = {
    stream = data.aws_iam_policy_document.stream.json
    api    = data.aws_iam_policy_document.api.json
    batch  = data.aws_iam_policy_document.batch.json
  }
  name   = "access"
  role   = aws_iam_role.this[each.key].id
  policy = each.value
}

# X-Ray tracing is off: the functions emit EMF metrics and JSON logs; tracing would need
# xray:PutTraceSegments on "*" and costs per trace for a demo.
#tfsec:ignore:aws-lambda-enable-tracing
resource "aws_lambda_function" "this" {
  for_each         = local.functions
  function_name    = "${var.project}-${each.key}"
  description      = each.value.description
  role             = aws_iam_role.this[each.key].arn
  filename         = "${var.zip_dir}/${lookup(var.zip_names, each.key, each.key)}.zip"
  source_code_hash = filebase64sha256("${var.zip_dir}/${lookup(var.zip_names, each.key, each.key)}.zip")
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = ["arm64"]
  memory_size      = each.value.memory
  timeout          = each.value.timeout

  environment {
    variables = var.environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this[each.key].name
  }

  depends_on = [aws_iam_role_policy.logs, aws_iam_role_policy.access]
}

# On-failure destination of the event-source mapping. A Kinesis stream cannot be one (Lambda
# accepts SQS, SNS or S3), so failed batches' metadata (shard, sequence range, error) go to an SQS
# queue kept 14 days: enough to replay the range from the stream (24 h retention) or inspect it.
# The DLQ stream stays the producer's, for records that were malformed before reaching Kinesis.
resource "aws_sqs_queue" "stream_failures" {
  name                      = "${var.project}-stream-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_lambda_event_source_mapping" "stream" {
  function_name     = aws_lambda_function.this["stream"].arn
  event_source_arn  = var.stream_arn
  enabled           = var.streaming_enabled
  starting_position = "LATEST"
  # Each invocation checkpoints (DynamoDB state) and commits the Iceberg tables (S3 PUTs, Glue
  # UpdateTable), so fewer, larger batches cost less: up to 20 s or 10 000 records per shard
  # (≈ 3 MB at ~300 B per record, under the 6 MB payload limit). Alerts reach DynamoDB within ~20 s.
  batch_size                         = 10000
  maximum_batching_window_in_seconds = 20
  parallelization_factor             = 1 # per-shard detector state needs one invocation per shard at a time
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = 10
  maximum_record_age_in_seconds      = 3600
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.stream_failures.arn
    }
  }
}

resource "aws_apigatewayv2_api" "http" {
  name          = "${var.project}-api"
  protocol_type = "HTTP"
  description   = "ctc REST API and dashboard"

  cors_configuration {
    allow_origins = var.cors_origins
    allow_methods = ["GET", "OPTIONS"]
    allow_headers = ["content-type"]
    max_age       = 3600
  }
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.this["api"].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "get" {
  for_each  = toset(["GET /", "GET /{proxy+}"])
  api_id    = aws_apigatewayv2_api.http.id
  route_key = each.value
  target    = "integrations/${aws_apigatewayv2_integration.api.id}"
  # Public read-only market data: the API is unauthenticated by design (seed §9), throttled below.
  authorization_type = "NONE"
}

#tfsec:ignore:aws-cloudwatch-log-group-customer-key
resource "aws_cloudwatch_log_group" "api_access" {
  name              = "/aws/apigateway/${var.project}-api"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.throttle_rate
    throttling_burst_limit = var.throttle_burst
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId", ip = "$context.identity.sourceIp", time = "$context.requestTime",
      method    = "$context.httpMethod", path = "$context.path", status = "$context.status",
      latency   = "$context.integrationLatency", bytes = "$context.responseLength"
    })
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["api"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.http.execution_arn}/*/*"
}

output "function_arns" {
  description = "Function ARNs: stream, api, batch."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "function_names" {
  description = "Function names: stream, api, batch."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "api_url" {
  description = "HTTP API base URL."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "event_source_mapping_uuid" {
  description = "UUID of the stream Lambda's Kinesis event-source mapping (start/stop scripts)."
  value       = aws_lambda_event_source_mapping.stream.uuid
}

output "stream_failures_queue_url" {
  description = "SQS queue receiving failed batches' metadata."
  value       = aws_sqs_queue.stream_failures.url
}
