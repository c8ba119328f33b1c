# Who may use the stack from outside it: the producer's role (write-only to the trade stream and
# its DLQ), and the analyst role (seed ADR-005: MFA, Athena through a dedicated workgroup, Lake
# Formation SELECT/DESCRIBE on the Glue database's tables, read-only on the processed bucket).

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

variable "stream_arn" {
  description = "Trade stream ARN."
  type        = string
}

variable "dlq_arn" {
  description = "Dead-letter stream ARN."
  type        = string
}

variable "glue_database" {
  description = "Glue database name."
  type        = string
}

variable "bucket_names" {
  description = "Bucket names: raw, processed, athena."
  type        = map(string)
}

variable "bucket_arns" {
  description = "Bucket ARNs: raw, processed, athena."
  type        = map(string)
}

variable "table_arns" {
  description = "DynamoDB table ARNs: alerts, aggregates, state, leases."
  type        = map(string)
}

variable "analyst_principals" {
  description = "Principals that may assume the analyst role; empty: the account root."
  type        = list(string)
}

# --- producer: the long-running adapters/producer on EC2 or ECS (or a Lambda) ---

data "aws_iam_policy_document" "producer_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com", "ecs-tasks.amazonaws.com", "lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "producer" {
  name               = "${var.project}-producer"
  assume_role_policy = data.aws_iam_policy_document.producer_trust.json
}

# Policies are aws_iam_policy_document data sources, whose actions deploy/plan_test.go can read in
# a plan even when the resources' ARNs are not known until apply.
data "aws_iam_policy_document" "producer" {
  statement {
    sid       = "WriteTradesAndDeadLetters"
    actions   = ["kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary", "kinesis:ListShards"]
    resources = [var.stream_arn, var.dlq_arn]
  }
}

resource "aws_iam_role_policy" "producer" {
  name   = "put-trades"
  role   = aws_iam_role.producer.id
  policy = data.aws_iam_policy_document.producer.json
}

resource "aws_iam_instance_profile" "producer" {
  name = "${var.project}-producer"
  role = aws_iam_role.producer.name
}

# --- consumer: the long-running adapters/consumer (Kinesis → pipeline → Iceberg + DynamoDB) ---

resource "aws_iam_role" "consumer" {
  name               = "${var.project}-consumer"
  assume_role_policy = data.aws_iam_policy_document.producer_trust.json
}

data "aws_iam_policy_document" "consumer" {
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
    sid = "HotStoresStateAndLeases"
    actions = [
      "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
      "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheckItem",
    ]
    resources = values(var.table_arns)
  }
  statement {
    sid     = "WarehouseCatalog"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable"]
    resources = [
      "arn:aws:glue:${var.region}:${var.account_id}:catalog",
      "arn:aws:glue:${var.region}:${var.account_id}:database/${var.glue_database}",
      "arn:aws:glue:${var.region}:${var.account_id}:table/${var.glue_database}/*",
    ]
  }
  statement {
    sid       = "WarehouseFiles"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.bucket_arns["processed"]}/warehouse/*", "${var.bucket_arns["raw"]}/shard-state/*"]
  }
  statement {
    sid       = "ListWarehouse"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arns["processed"], var.bucket_arns["raw"]]
  }
}

resource "aws_iam_role_policy" "consumer" {
  name   = "consume-trades"
  role   = aws_iam_role.consumer.id
  policy = data.aws_iam_policy_document.consumer.json
}

resource "aws_iam_instance_profile" "consumer" {
  name = "${var.project}-consumer"
  role = aws_iam_role.consumer.name
}

# --- analyst ---

data "aws_iam_policy_document" "analyst_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = length(var.analyst_principals) > 0 ? var.analyst_principals : ["arn:aws:iam::${var.account_id}:root"]
    }
    condition {
      test     = "Bool"
      variable = "aws:MultiFactorAuthPresent"
      values   = ["true"]
    }
  }
}

resource "aws_iam_role" "analyst" {
  name                 = "${var.project}-analyst"
  assume_role_policy   = data.aws_iam_policy_document.analyst_trust.json
  max_session_duration = 3600
}

resource "aws_athena_workgroup" "analyst" {
  name          = "${var.project}-analyst"
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = 10737418240 # 10 GiB: a runaway query costs at most $0.05

    result_configuration {
      output_location = "s3://${var.bucket_names["athena"]}/results/"
      # SSE-S3 like the bucket (see the storage module on customer-managed keys).
      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }
}

data "aws_iam_policy_document" "analyst" {
  statement {
    sid = "Athena"
    actions = [
      "athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
      "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListQueryExecutions",
    ]
    resources = [aws_athena_workgroup.analyst.arn]
  }
  statement {
    sid     = "CatalogRead"
    actions = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
    resources = [
      "arn:aws:glue:${var.region}:${var.account_id}:catalog",
      "arn:aws:glue:${var.region}:${var.account_id}:database/${var.glue_database}",
      "arn:aws:glue:${var.region}:${var.account_id}:table/${var.glue_database}/*",
    ]
  }
  statement {
    sid       = "ReadWarehouse"
    actions   = ["s3:GetObject", "s3:ListBucket"]
    resources = [var.bucket_arns["processed"], "${var.bucket_arns["processed"]}/warehouse/*"]
  }
  statement {
    sid       = "QueryResults"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:AbortMultipartUpload"]
    resources = [var.bucket_arns["athena"], "${var.bucket_arns["athena"]}/results/*"]
  }
  # lakeformation:GetDataAccess has no resource-level permissions; Lake Formation's own grants
  # (below) decide which tables it vends credentials for.
  #tfsec:ignore:aws-iam-no-policy-wildcards
  statement {
    sid       = "LakeFormation"
    actions   = ["lakeformation:GetDataAccess"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "analyst" {
  name   = "read-only-analytics"
  role   = aws_iam_role.analyst.id
  policy = data.aws_iam_policy_document.analyst.json
}

# LF-Tags: governance by attribute instead of by table name. The Iceberg tables are created by the
# sink at its first commit, not by Terraform, so the tags are set on the database and every table
# in it inherits them (a table may still get its own value later, e.g. tier=raw on raw_trades, with
# aws lakeformation add-lf-tags-to-resource). Grants then name tag values, not tables: a table
# added tomorrow with the same tags is readable without a new grant, and one tagged otherwise is
# not.
resource "aws_lakeformation_lf_tag" "domain" {
  key    = "${var.project}-domain"
  values = ["market-data", "restricted"]
}

resource "aws_lakeformation_lf_tag" "tier" {
  key    = "${var.project}-tier"
  values = ["raw", "curated"]
}

resource "aws_lakeformation_resource_lf_tags" "database" {
  database {
    name = var.glue_database
  }
  lf_tag {
    key   = aws_lakeformation_lf_tag.domain.key
    value = "market-data"
  }
  lf_tag {
    key   = aws_lakeformation_lf_tag.tier.key
    value = "curated"
  }
}

# The analyst reads every database and table tagged domain=market-data (all of ctc's, by
# inheritance), whatever its tier, and nothing tagged restricted.
resource "aws_lakeformation_permissions" "analyst_database" {
  principal   = aws_iam_role.analyst.arn
  permissions = ["DESCRIBE"]

  lf_tag_policy {
    resource_type = "DATABASE"
    expression {
      key    = aws_lakeformation_lf_tag.domain.key
      values = ["market-data"]
    }
  }
}

resource "aws_lakeformation_permissions" "analyst_tables" {
  principal   = aws_iam_role.analyst.arn
  permissions = ["SELECT", "DESCRIBE"]

  lf_tag_policy {
    resource_type = "TABLE"
    expression {
      key    = aws_lakeformation_lf_tag.domain.key
      values = ["market-data"]
    }
    expression {
      key    = aws_lakeformation_lf_tag.tier.key
      values = ["raw", "curated"]
    }
  }
}

output "producer_role_arn" {
  description = "Role for adapters/producer."
  value       = aws_iam_role.producer.arn
}

output "producer_instance_profile" {
  description = "Instance profile wrapping the producer role, for EC2."
  value       = aws_iam_instance_profile.producer.name
}

output "consumer_role_arn" {
  description = "Role for adapters/consumer."
  value       = aws_iam_role.consumer.arn
}

output "consumer_instance_profile" {
  description = "Instance profile wrapping the consumer role, for EC2."
  value       = aws_iam_instance_profile.consumer.name
}

output "analyst_role_arn" {
  description = "Analyst role ARN (assume with MFA)."
  value       = aws_iam_role.analyst.arn
}

output "athena_workgroup" {
  description = "Athena workgroup for analysts."
  value       = aws_athena_workgroup.analyst.name
}
