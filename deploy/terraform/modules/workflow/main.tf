# The batch workflow (seed §5.1) as a Step Functions standard state machine rendered from
# workflow.asl.json, its role, its log group, and the daily 02:00 UTC EventBridge schedule
# (disabled by default).

variable "project" {
  description = "Name prefix."
  type        = string
}

variable "batch_function_arn" {
  description = "The batch Lambda's ARN."
  type        = string
}

variable "sns_topic_arn" {
  description = "Topic failures are published to."
  type        = string
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of BatchJobSuccess / BatchJobFailure."
  type        = string
}

variable "poll_seconds" {
  description = "Seconds between reprocess status polls."
  type        = number
  default     = 60
}

variable "retention_days" {
  description = "Days of snapshot history (time travel) the maintain step keeps in every table."
  type        = number
  default     = 7
}

variable "min_quality_score" {
  description = "Quality score a run needs to be published."
  type        = number
}

variable "schedule_enabled" {
  description = "Whether the daily rule is enabled."
  type        = bool
}

variable "symbols" {
  description = "Symbols the scheduled run loads."
  type        = list(string)
}

variable "log_retention_days" {
  description = "Log retention."
  type        = number
}

data "aws_iam_policy_document" "sfn_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "sfn" {
  name               = "${var.project}-batch-workflow"
  assume_role_policy = data.aws_iam_policy_document.sfn_trust.json
}

data "aws_iam_policy_document" "sfn" {
  statement {
    sid       = "InvokeBatch"
    actions   = ["lambda:InvokeFunction"]
    resources = [var.batch_function_arn, "${var.batch_function_arn}:*"]
  }
  statement {
    sid       = "Notify"
    actions   = ["sns:Publish"]
    resources = [var.sns_topic_arn]
  }
  # PutMetricData has no resource type: "*" is the only value IAM accepts; the condition limits
  # it to the batch namespace.
  #tfsec:ignore:aws-iam-no-policy-wildcards
  statement {
    sid       = "BatchMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }
  }
  # Vended log delivery APIs have no resource-level permissions (Step Functions' documented policy).
  #tfsec:ignore:aws-iam-no-policy-wildcards
  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "sfn" {
  name   = "workflow"
  role   = aws_iam_role.sfn.id
  policy = data.aws_iam_policy_document.sfn.json
}

#tfsec:ignore:aws-cloudwatch-log-group-customer-key
resource "aws_cloudwatch_log_group" "sfn" {
  name              = "/aws/vendedlogs/states/${var.project}-batch-workflow"
  retention_in_days = var.log_retention_days
}

resource "aws_sfn_state_machine" "batch" {
  name     = "${var.project}-batch-workflow"
  role_arn = aws_iam_role.sfn.arn
  definition = templatefile("${path.module}/workflow.asl.json", {
    batch_function_arn = var.batch_function_arn
    sns_topic_arn      = var.sns_topic_arn
    metrics_namespace  = var.metrics_namespace
    poll_seconds       = var.poll_seconds
    min_quality_score  = var.min_quality_score
    retention_days     = var.retention_days
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.sfn.arn}:*"
    include_execution_data = true
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = false
  }

  depends_on = [aws_iam_role_policy.sfn]
}

resource "aws_cloudwatch_event_rule" "daily" {
  name                = "${var.project}-batch-daily"
  description         = "Daily 02:00 UTC batch workflow (seed ADR-004)"
  schedule_expression = "cron(0 2 * * ? *)"
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"
}

data "aws_iam_policy_document" "events_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "events" {
  name               = "${var.project}-batch-schedule"
  assume_role_policy = data.aws_iam_policy_document.events_trust.json
}

data "aws_iam_policy_document" "events" {
  statement {
    sid       = "StartWorkflow"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.batch.arn]
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "start-workflow"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}

resource "aws_cloudwatch_event_target" "daily" {
  rule     = aws_cloudwatch_event_rule.daily.name
  arn      = aws_sfn_state_machine.batch.arn
  role_arn = aws_iam_role.events.arn
  input    = jsonencode({ symbols = var.symbols })
}

output "state_machine_arn" {
  description = "Batch workflow ARN."
  value       = aws_sfn_state_machine.batch.arn
}

output "schedule_rule_name" {
  description = "EventBridge rule name."
  value       = aws_cloudwatch_event_rule.daily.name
}
