# Alarm topic, CloudWatch dashboard (seed §8.1) and alarms (seed §8.2): billing (us-east-1),
# Kinesis iterator age, DynamoDB read and write throttles per table and index, quality score.
# deploy/plan_test.go checks every alarm's namespace, metric and dimensions against what the code
# emits (EMF) or what AWS publishes for the resource.

variable "project" {
  description = "Name prefix."
  type        = string
}

variable "region" {
  description = "AWS region of the stack (dashboard widgets)."
  type        = string
}

variable "alarm_email" {
  description = "E-mail subscribed to the topic; empty for none."
  type        = string
}

variable "stream_name" {
  description = "Trade stream name."
  type        = string
}

variable "table_names" {
  description = "DynamoDB table names: alerts, aggregates, state, leases."
  type        = map(string)
}

variable "stream_function_name" {
  description = "The stream Lambda's name."
  type        = string
}

variable "table_indexes" {
  description = "Global secondary index names by table key (alerts: type-time-index, symbol-time-index)."
  type        = map(list(string))
  default     = {}
}

variable "namespaces" {
  description = "EMF namespaces: quality, alerts, batch."
  type        = map(string)
}

variable "billing_threshold" {
  description = "Billing alarm threshold in USD."
  type        = number
}

# The topic uses SNS's AWS-managed key: alarm messages name metrics and thresholds, nothing secret.
#tfsec:ignore:aws-sns-topic-encryption-use-cmk
resource "aws_sns_topic" "alarms" {
  name              = "${var.project}-alarms"
  kms_master_key_id = "alias/aws/sns"
}

# The billing alarm lives in us-east-1, so it needs a topic there too when the stack is elsewhere
# (region: the 6.x provider's per-resource region, instead of an aliased provider).
#tfsec:ignore:aws-sns-topic-encryption-use-cmk
resource "aws_sns_topic" "billing" {
  region            = "us-east-1"
  count             = var.region == "us-east-1" ? 0 : 1
  name              = "${var.project}-billing-alarms"
  kms_master_key_id = "alias/aws/sns"
}

locals {
  billing_topic_arn = var.region == "us-east-1" ? aws_sns_topic.alarms.arn : aws_sns_topic.billing[0].arn
}

resource "aws_sns_topic_subscription" "email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_sns_topic_subscription" "billing_email" {
  region    = "us-east-1"
  count     = var.alarm_email != "" && var.region != "us-east-1" ? 1 : 0
  topic_arn = local.billing_topic_arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

resource "aws_cloudwatch_metric_alarm" "billing" {
  region              = "us-east-1"
  alarm_name          = "${var.project}-billing-over-${var.billing_threshold}usd"
  alarm_description   = "Estimated charges this month above the budget"
  namespace           = "AWS/Billing"
  metric_name         = "EstimatedCharges"
  dimensions          = { Currency = "USD" }
  statistic           = "Maximum"
  period              = 21600
  evaluation_periods  = 1
  threshold           = var.billing_threshold
  comparison_operator = "GreaterThanThreshold"
  alarm_actions       = [local.billing_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  alarm_name          = "${var.project}-kinesis-iterator-age"
  alarm_description   = "Consumers lag the trade stream by more than 5 minutes"
  namespace           = "AWS/Kinesis"
  metric_name         = "GetRecords.IteratorAgeMilliseconds"
  dimensions          = { StreamName = var.stream_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = 300000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# Throttling per table and per global secondary index. ReadThrottleEvents and WriteThrottleEvents
# are published per TableName (and per TableName + GlobalSecondaryIndexName for an index), which
# is what an alarm can name; ThrottledRequests is published per TableName *and* Operation, so an
# alarm on TableName alone would watch a metric that does not exist and never fire. A throttled
# write to a GSI throttles the table's writes too, hence the index alarms.
locals {
  throttle_metrics = { read = "ReadThrottleEvents", write = "WriteThrottleEvents" }
  throttle_alarms = merge(
    { for p in setproduct(keys(var.table_names), keys(local.throttle_metrics)) : "${p[0]}-${p[1]}" => {
      metric     = local.throttle_metrics[p[1]], what = "${p[1]}s on ${var.table_names[p[0]]}",
      dimensions = { TableName = var.table_names[p[0]] }
    } },
    { for p in flatten([for t, idx in var.table_indexes : [for i in idx : [for k, m in local.throttle_metrics : { t = t, i = i, k = k, m = m }]]]) :
      "${p.t}-${p.i}-${p.k}" => {
        metric     = p.m, what = "${p.k}s on ${var.table_names[p.t]} index ${p.i}",
        dimensions = { TableName = var.table_names[p.t], GlobalSecondaryIndexName = p.i }
    } },
  )
}

resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  for_each            = local.throttle_alarms
  alarm_name          = "${var.project}-dynamodb-throttles-${each.key}"
  alarm_description   = "Throttled ${each.value.what}"
  namespace           = "AWS/DynamoDB"
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 2
  threshold           = 5
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "quality" {
  alarm_name          = "${var.project}-quality-score"
  alarm_description   = "Data quality score below 95 % for 5 minutes"
  namespace           = var.namespaces["quality"]
  metric_name         = "QualityScore"
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 1
  threshold           = 95
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = var.project
  dashboard_body = jsonencode({
    widgets = [
      { type = "metric", x = 0, y = 0, width = 12, height = 6, properties = {
        title = "Kinesis incoming records", region = var.region, stat = "Sum", period = 60, view = "timeSeries",
      metrics = [["AWS/Kinesis", "IncomingRecords", "StreamName", var.stream_name]] } },
      { type = "metric", x = 12, y = 0, width = 12, height = 6, properties = {
        title = "Kinesis iterator age (ms)", region = var.region, stat = "Maximum", period = 60, view = "timeSeries",
      metrics = [["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", var.stream_name]] } },
      { type = "metric", x = 0, y = 6, width = 12, height = 6, properties = {
        title = "DynamoDB consumed write capacity", region = var.region, stat = "Sum", period = 300, view = "timeSeries",
      metrics = [for k, t in var.table_names : ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", t]] } },
      { type = "metric", x = 12, y = 6, width = 6, height = 6, properties = {
        title = "Estimated charges (USD)", region = "us-east-1", stat = "Maximum", period = 21600, view = "singleValue",
      metrics = [["AWS/Billing", "EstimatedCharges", "Currency", "USD"]] } },
      { type = "metric", x = 18, y = 6, width = 6, height = 6, properties = {
        title = "Quality score", region = var.region, stat = "Average", period = 300, view = "timeSeries",
      metrics = [[var.namespaces["quality"], "QualityScore"]] } },
      { type = "metric", x = 0, y = 12, width = 12, height = 6, properties = {
        title = "Alerts", region = var.region, stat = "Sum", period = 300, view = "timeSeries",
      metrics = [for m in ["AnomalyCount", "WhaleCount", "SpreadAlertCount"] : [var.namespaces["alerts"], m]] } },
      { type = "metric", x = 12, y = 12, width = 12, height = 6, properties = {
        title = "Stream Lambda errors and duration", region = var.region, period = 300, view = "timeSeries",
        metrics = [
          ["AWS/Lambda", "Errors", "FunctionName", var.stream_function_name, { stat = "Sum" }],
          ["AWS/Lambda", "Duration", "FunctionName", var.stream_function_name, { stat = "p99", yAxis = "right" }],
      ] } },
      { type = "metric", x = 0, y = 18, width = 12, height = 6, properties = {
        title = "Batch jobs", region = var.region, stat = "Sum", period = 3600, view = "timeSeries",
        metrics = [
          [{ expression = "SEARCH('{${var.namespaces["batch"]},Job} MetricName=\"BatchJobSuccess\"', 'Sum', 3600)", id = "s" }],
          [{ expression = "SEARCH('{${var.namespaces["batch"]},Job} MetricName=\"BatchJobFailure\"', 'Sum', 3600)", id = "f" }],
      ] } },
    ]
  })
}

output "topic_arn" {
  description = "Alarm topic ARN (also the workflow's failure topic)."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard name."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}
