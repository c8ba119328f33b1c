# ctc on AWS: the seed architecture with our binaries. Streaming: producer → Kinesis → stream
# Lambda (event-source mapping) → DynamoDB (hot) + Iceberg on S3/Glue (lakehouse). Serving: HTTP
# API → api Lambda. Batch: EventBridge → Step Functions → batch Lambda. See README "Deploy to AWS".

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  namespaces = {
    quality = "CoatTail/Quality"
    alerts  = "CoatTail/Alerts"
    batch   = "CoatTail/Batch"
  }
  glue_database = var.project
  # The evidence report: written by the workflow's Evidence step (batch Lambda), served at
  # /evidence by the API Lambda. Each role is granted this one object only.
  evidence_key = "evidence/latest.json"
}

module "kinesis" {
  source  = "./modules/kinesis"
  project = var.project
}

module "storage" {
  source        = "./modules/storage"
  project       = var.project
  account_id    = local.account_id
  glue_database = local.glue_database
}

module "dynamodb" {
  source  = "./modules/dynamodb"
  project = var.project
}

module "lambdas" {
  source     = "./modules/lambdas"
  project    = var.project
  region     = var.region
  account_id = local.account_id
  zip_dir    = "${path.root}/${var.lambda_zip_dir}"
  zip_names  = { stream = var.stream_zip }
  environment = {
    CTC_STREAM                    = module.kinesis.stream_name
    CTC_DLQ_STREAM                = module.kinesis.dlq_name
    CTC_ALERTS_TABLE              = module.dynamodb.names["alerts"]
    CTC_AGGREGATES_TABLE          = module.dynamodb.names["aggregates"]
    CTC_STATE_TABLE               = module.dynamodb.names["state"]
    CTC_LEASES_TABLE              = module.dynamodb.names["leases"]
    CTC_CATALOG                   = "glue"
    CTC_NAMESPACE                 = module.storage.glue_database
    CTC_WAREHOUSE                 = module.storage.warehouse
    CTC_RAW_BUCKET                = module.storage.bucket_names["raw"]
    CTC_CORS_ORIGINS              = join(",", var.dashboard_origins)
    CTC_METRICS_NAMESPACE_QUALITY = local.namespaces["quality"]
    CTC_METRICS_NAMESPACE_ALERTS  = local.namespaces["alerts"]
    CTC_METRICS_NAMESPACE_BATCH   = local.namespaces["batch"]
    CTC_EVIDENCE_URI              = "s3://${module.storage.bucket_names["processed"]}/${local.evidence_key}"
    # AWS_REGION is set by the Lambda runtime itself (a reserved variable).
  }
  stream_arn         = module.kinesis.stream_arn
  dlq_arn            = module.kinesis.dlq_arn
  table_arns         = module.dynamodb.arns
  bucket_arns        = module.storage.bucket_arns
  glue_database      = module.storage.glue_database
  evidence_key       = local.evidence_key
  streaming_enabled  = var.streaming_enabled
  cors_origins       = var.dashboard_origins
  users_mfa          = var.api_users_mfa
  throttle_rate      = var.api_throttle_rate
  throttle_burst     = var.api_throttle_burst
  log_retention_days = var.log_retention_days
}

module "monitoring" {
  source               = "./modules/monitoring"
  project              = var.project
  region               = var.region
  alarm_email          = var.alarm_email
  stream_name          = module.kinesis.stream_name
  table_names          = module.dynamodb.names
  table_indexes        = module.dynamodb.indexes
  stream_function_name = module.lambdas.function_names["stream"]
  namespaces           = local.namespaces
  billing_threshold    = var.billing_alarm_usd
}

module "workflow" {
  source             = "./modules/workflow"
  project            = var.project
  batch_function_arn = module.lambdas.function_arns["batch"]
  sns_topic_arn      = module.monitoring.topic_arn
  metrics_namespace  = local.namespaces["batch"]
  min_quality_score  = var.min_quality_score
  schedule_enabled   = var.batch_schedule_enabled
  symbols            = var.batch_symbols
  log_retention_days = var.log_retention_days
}

module "governance" {
  source             = "./modules/governance"
  project            = var.project
  region             = var.region
  account_id         = local.account_id
  stream_arn         = module.kinesis.stream_arn
  dlq_arn            = module.kinesis.dlq_arn
  glue_database      = module.storage.glue_database
  bucket_names       = module.storage.bucket_names
  bucket_arns        = module.storage.bucket_arns
  table_arns         = module.dynamodb.arns
  analyst_principals = var.analyst_trusted_principals
}

module "producer" {
  source             = "./modules/producer"
  project            = var.project
  region             = var.region
  image              = var.producer_image
  enabled            = var.streaming_enabled
  stream_name        = module.kinesis.stream_name
  dlq_name           = module.kinesis.dlq_name
  stream_arn         = module.kinesis.stream_arn
  dlq_arn            = module.kinesis.dlq_arn
  symbols            = var.producer_symbols
  binance_ws         = var.binance_ws
  binance_rest       = var.binance_rest
  log_retention_days = var.log_retention_days
  kafka              = var.kafka_enabled
  account_id         = local.account_id
}

# Service discovery: what the producer, consumer and scripts read instead of hard-coded names.
resource "aws_ssm_parameter" "discovery" {
  for_each = {
    "stream"             = module.kinesis.stream_name
    "dlq-stream"         = module.kinesis.dlq_name
    "alerts-table"       = module.dynamodb.names["alerts"]
    "aggregates-table"   = module.dynamodb.names["aggregates"]
    "state-table"        = module.dynamodb.names["state"]
    "leases-table"       = module.dynamodb.names["leases"]
    "raw-bucket"         = module.storage.bucket_names["raw"]
    "processed-bucket"   = module.storage.bucket_names["processed"]
    "warehouse"          = module.storage.warehouse
    "glue-database"      = module.storage.glue_database
    "api-url"            = module.lambdas.api_url
    "event-source-uuid"  = module.lambdas.event_source_mapping_uuid
    "batch-workflow-arn" = module.workflow.state_machine_arn
  }
  name        = "/${var.project}/${each.key}"
  description = "ctc service discovery: ${each.key}"
  type        = "String" # names and URLs, not secrets
  value       = each.value
}
