# The trade stream (ON_DEMAND: no shard management, billed per GB and stream-hour) and the
# dead-letter stream the producer puts malformed or unputtable records on (48 h retention, for
# investigation). Both encrypted with the AWS-managed Kinesis key.

variable "project" {
  description = "Name prefix."
  type        = string
}

resource "aws_kinesis_stream" "trades" {
  name             = "${var.project}-trades"
  retention_period = 24
  encryption_type  = "KMS"
  kms_key_id       = "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = "ON_DEMAND"
  }
}

resource "aws_kinesis_stream" "dlq" {
  name             = "${var.project}-trades-dlq"
  retention_period = 48
  encryption_type  = "KMS"
  kms_key_id       = "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = "ON_DEMAND"
  }
}

output "stream_name" {
  description = "Trade stream name (CTC_STREAM)."
  value       = aws_kinesis_stream.trades.name
}

output "stream_arn" {
  description = "Trade stream ARN."
  value       = aws_kinesis_stream.trades.arn
}

output "dlq_name" {
  description = "Dead-letter stream name (CTC_DLQ_STREAM)."
  value       = aws_kinesis_stream.dlq.name
}

output "dlq_arn" {
  description = "Dead-letter stream ARN."
  value       = aws_kinesis_stream.dlq.arn
}
