# The lakehouse: three S3 buckets (raw, processed = the Iceberg warehouse, Athena results), AES256
# with bucket keys, public access blocked, TLS-only bucket policies, lifecycle rules as the seed's
# §10.3; and the Glue database the Iceberg tables are catalogued in.
#
# The seed's fourth bucket, checkpoint, is gone: nothing wrote to it. The consumer and the stream
# Lambda checkpoint in DynamoDB (the shard-state table), with states too large for an item under
# shard-state/ in the raw bucket (CTC_RAW_BUCKET, package shardrunner), and the Iceberg commits
# are the tables' own snapshots in the processed bucket.

variable "project" {
  description = "Name prefix."
  type        = string
}

variable "account_id" {
  description = "AWS account id, suffixed to bucket names (they are global)."
  type        = string
}

variable "glue_database" {
  description = "Glue database (Iceberg namespace, CTC_NAMESPACE)."
  type        = string
}

locals {
  buckets = {
    raw       = "${var.project}-raw-${var.account_id}"
    processed = "${var.project}-processed-${var.account_id}"
    athena    = "${var.project}-athena-results-${var.account_id}"
  }
}

# Server access logging is not enabled: the buckets hold public market data, CloudTrail covers
# the API calls, and a log bucket would need its own lifecycle and cost for a demo stack.
#tfsec:ignore:aws-s3-enable-bucket-logging
resource "aws_s3_bucket" "this" {
  for_each      = local.buckets
  bucket        = each.value
  force_destroy = each.key != "processed"
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = aws_s3_bucket.this
  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# AES256 (SSE-S3) as the seed's §7 chose: the data is public market data and a customer-managed
# KMS key would add $1/month plus per-request charges with no reader to keep out that IAM does not.
#tfsec:ignore:aws-s3-encryption-customer-key
resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

# Versioning on every bucket (tfsec aws-s3-enable-versioning); the processed bucket (the Iceberg
# warehouse) needs it most. Noncurrent versions expire below so versioning costs little.
resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_policy" "tls_only" {
  for_each = aws_s3_bucket.this
  bucket   = each.value.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [each.value.arn, "${each.value.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
  depends_on = [aws_s3_bucket_public_access_block.this]
}

# The raw bucket holds two kinds of object. Under shard-state/ (shardrunner.StatePrefix): the
# current shard states, which must never expire (a state lost is a shard replayed from scratch,
# or from the stream's 24 h); the store deletes a superseded state itself, which versioning turns
# into a noncurrent version, and those do expire. Under captures/: raw exchange captures and
# exports, which move to Standard-IA at 30 days and expire at 90 (seed §10.3). An S3 lifecycle
# filter cannot exclude a prefix, so the expiring rule names its prefix instead of the whole bucket;
# deploy/plan_test.go checks that no rule expiring current versions covers shard-state/.
resource "aws_s3_bucket_lifecycle_configuration" "raw" {
  bucket = aws_s3_bucket.this["raw"].id

  rule {
    id     = "all-noncurrent-7d"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "delete-markers"
    status = "Enabled"
    filter {}
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "captures-ia-30d-expire-90d"
    status = "Enabled"
    filter {
      prefix = "captures/"
    }
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    expiration {
      days = 90
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "processed" {
  bucket = aws_s3_bucket.this["processed"].id

  rule {
    id     = "processed-noncurrent-30d"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "athena" {
  bucket = aws_s3_bucket.this["athena"].id

  rule {
    id     = "athena-expire-7d"
    status = "Enabled"
    filter {}
    expiration {
      days = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_glue_catalog_database" "this" {
  name         = var.glue_database
  description  = "ctc Iceberg tables (raw_trades, volume_aggregates, anomaly_alerts, whale_trades, exchange_spreads, anomalies_reprocessed)"
  location_uri = "s3://${aws_s3_bucket.this["processed"].bucket}/warehouse/${var.glue_database}.db"
}

output "bucket_names" {
  description = "Bucket names by role: raw, processed, athena."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "bucket_arns" {
  description = "Bucket ARNs by role."
  value       = { for k, b in aws_s3_bucket.this : k => b.arn }
}

output "warehouse" {
  description = "Iceberg warehouse location (CTC_WAREHOUSE)."
  value       = "s3://${aws_s3_bucket.this["processed"].bucket}/warehouse"
}

output "glue_database" {
  description = "Glue database name."
  value       = aws_glue_catalog_database.this.name
}

output "glue_database_arn" {
  description = "Glue database ARN."
  value       = aws_glue_catalog_database.this.arn
}
