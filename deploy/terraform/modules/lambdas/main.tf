# The three Lambdas (arm64, provided.al2023, zips from scripts/build-lambdas.sh), each with its own
# least-privilege role and log group: stream (Kinesis event-source mapping with partial batch
# failures, bisection and an SQS on-failure destination), api (behind an HTTP API with a Cognito
# JWT authorizer on its data routes, throttling, CORS limited to the dashboard's origins and access
# logs) and batch (the Step Functions tasks).

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
  description = "S3 bucket ARNs: raw, processed, athena."
  type        = map(string)
}

variable "glue_database" {
  description = "Glue database name."
  type        = string
}

variable "evidence_key" {
  description = "Key, in the processed bucket, of the evidence report (CTC_EVIDENCE_URI): the batch function writes it, the api function reads it."
  type        = string
}

variable "streaming_enabled" {
  description = "Initial state of the event-source mapping."
  type        = bool
}

variable "cors_origins" {
  description = "Origins the HTTP API's CORS allows (a dashboard served elsewhere); empty: none."
  type        = list(string)
}

variable "users_mfa" {
  description = "MFA configuration of the API's Cognito user pool: OPTIONAL or ON."
  type        = string
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
    api    = { memory = 512, timeout = 15, description = "HTTP API: /alerts, /metrics/{symbol}, /evidence, dashboard" }
    # 3008 MB for the CPU more than the memory: Lambda gives 1.7 vCPU at 3008 MB, 0.6 at 1024. The
    # evidence task reads raw_trades twice and holds none (evidence.Plan): ~0.5 GB for the scans
    # (measured locally), plus under 1 KB per alert window (~550 MB for a week of 1,000 alerts a
    # day). Its default week (~175 M trades today) is CPU-bound at an estimated 0.5-0.75 M
    # trades/s, 250-350 s of the 900 s timeout; at 1024 MB it would not fit (DefaultEvidenceDays).
    batch = { memory = 3008, timeout = 900, description = "Step Functions tasks: historical_load, reprocess, reprocess_status, quality_check, catalog_update, maintain, evidence" }
  }
  glue_arns = [
    "arn:aws:glue:${var.region}:${var.account_id}:catalog",
    "arn:aws:glue:${var.region}:${var.account_id}:database/${var.glue_database}",
    "arn:aws:glue:${var.region}:${var.account_id}:table/${var.glue_database}/*",
  ]
  glue_read  = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"]
  glue_write = ["glue:CreateTable", "glue:UpdateTable"]
  s3_rw      = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
  evidence   = "${var.bucket_arns["processed"]}/${var.evidence_key}"
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

# api: read-only on the alerts and aggregates tables and their indexes, and on the evidence report.
data "aws_iam_policy_document" "api" {
  statement {
    sid     = "ReadHotStores"
    actions = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = [
      var.table_arns["alerts"], "${var.table_arns["alerts"]}/index/*",
      var.table_arns["aggregates"], "${var.table_arns["aggregates"]}/index/*",
    ]
  }
  statement {
    sid       = "ReadEvidenceReport"
    actions   = ["s3:GetObject"]
    resources = [local.evidence]
  }
  # Without ListBucket, S3 answers a GetObject of a missing key 403 AccessDenied instead of 404
  # NoSuchKey: the report not written yet (before the first workflow run) would be a 500 instead
  # of the 404 that hides the dashboard's panel. ListBucket shows object names only (the
  # warehouse's file names; the stream and batch roles list it already), not their contents.
  statement {
    sid       = "EvidenceNotFoundIs404"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arns["processed"]]
  }
}

# batch: the warehouse (read raw_trades, write raw_trades and anomalies_reprocessed, table
# properties, snapshot expiry; the maintain task rewrites, lists and deletes files of every table)
# and the raw bucket; the evidence task writes its report.
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
  statement {
    sid       = "WriteEvidenceReport"
    actions   = ["s3:PutObject"]
    resources = [local.evidence]
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

  # GOMEMLIMIT at 90 % of the function's memory: the Go runtime collects harder near it instead
  # of letting the heap double past what the function has.
  environment {
    variables = merge(var.environment, { GOMEMLIMIT = "${floor(each.value.memory * 0.9)}MiB" })
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

  # Only for a dashboard served from another origin (var.cors_origins); the one at / is same-origin.
  dynamic "cors_configuration" {
    for_each = length(var.cors_origins) > 0 ? [1] : []
    content {
      allow_origins = var.cors_origins
      allow_methods = ["GET", "OPTIONS"]
      allow_headers = ["authorization", "content-type"]
      max_age       = 3600
    }
  }
}

# Who may read the API: the users of this Cognito user pool, by the JWT API Gateway checks itself
# (a JWT authorizer, native to HTTP APIs: no authorizer Lambda to run, pay for or keep warm;
# Cognito signs the tokens, rotates the keys, expires tokens after an hour and revokes them). HTTP
# APIs have no API keys or usage plans (those are REST APIs'). Users are created by an
# administrator only; README "Deploy to AWS" shows how to add one and get a token.
resource "aws_cognito_user_pool" "api" {
  name                = "${var.project}-api-users"
  deletion_protection = "INACTIVE" # terraform destroy removes the demo stack whole
  mfa_configuration   = var.users_mfa

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  software_token_mfa_configuration {
    enabled = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "admin_only"
      priority = 1
    }
  }
}

# A public client (no secret: a browser or the CLI holds it): SRP sign-in, or USER_PASSWORD_AUTH
# (the password goes to Cognito over TLS) for `aws cognito-idp initiate-auth` from a script.
resource "aws_cognito_user_pool_client" "api" {
  name                          = "${var.project}-api"
  user_pool_id                  = aws_cognito_user_pool.api.id
  generate_secret               = false
  explicit_auth_flows           = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true
  access_token_validity         = 1
  id_token_validity             = 1
  refresh_token_validity        = 12

  token_validity_units {
    access_token  = "hours"
    id_token      = "hours"
    refresh_token = "hours"
  }
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  api_id           = aws_apigatewayv2_api.http.id
  name             = "cognito"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    # An access token carries the client id as client_id, an ID token as aud: API Gateway accepts either.
    audience = [aws_cognito_user_pool_client.api.id]
    issuer   = "https://${aws_cognito_user_pool.api.endpoint}"
  }
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.this["api"].invoke_arn
  payload_format_version = "2.0"
}

locals {
  # Routes anyone may call: the dashboard's page and static files (no data; the page asks for a
  # token when the API answers 401) and the health check.
  public_routes = ["GET /", "GET /index.html", "GET /static/{file}", "GET /healthz"]
}

resource "aws_apigatewayv2_route" "public" {
  for_each           = toset(local.public_routes)
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = each.value
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "NONE"
}

# Every other GET (alerts, metrics, volumes, spreads, symbols, quality, …) wants a valid Cognito
# JWT: Authorization: Bearer <token>. API Gateway answers 401 without calling the Lambda otherwise.
resource "aws_apigatewayv2_route" "data" {
  api_id             = aws_apigatewayv2_api.http.id
  route_key          = "GET /{proxy+}"
  target             = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.jwt.id
}

# The first version had one open route resource for both; keep a deployed stack's routes.
moved {
  from = aws_apigatewayv2_route.get["GET /"]
  to   = aws_apigatewayv2_route.public["GET /"]
}

moved {
  from = aws_apigatewayv2_route.get["GET /{proxy+}"]
  to   = aws_apigatewayv2_route.data
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

output "user_pool_id" {
  description = "Cognito user pool of the API's users."
  value       = aws_cognito_user_pool.api.id
}

output "user_pool_client_id" {
  description = "Cognito app client the API's tokens must be issued to."
  value       = aws_cognito_user_pool_client.api.id
}

output "event_source_mapping_uuid" {
  description = "UUID of the stream Lambda's Kinesis event-source mapping (start/stop scripts)."
  value       = aws_lambda_event_source_mapping.stream.uuid
}

output "stream_failures_queue_url" {
  description = "SQS queue receiving failed batches' metadata."
  value       = aws_sqs_queue.stream_failures.url
}
