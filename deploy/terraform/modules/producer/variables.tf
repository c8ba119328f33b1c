variable "project" {
  description = "Name prefix of every resource."
  type        = string
}

variable "region" {
  description = "The region the task runs in (its subnet is in <region>a)."
  type        = string
}

variable "image" {
  description = "The producer's image, pinned by digest: <ecr repository url>@sha256:… as scripts/build-producer-image.sh -push prints it. Empty: no task or service yet (the repository is made, to push to)."
  type        = string
  default     = ""
}

variable "enabled" {
  description = "Run the task (desired count 1) when the service is created; the streaming scripts change it later."
  type        = bool
  default     = false
}

variable "stream_name" {
  description = "Kinesis trade stream (CTC_STREAM)."
  type        = string
}

variable "dlq_name" {
  description = "Kinesis dead-letter stream (CTC_DLQ_STREAM)."
  type        = string
}

variable "stream_arn" {
  description = "ARN of the trade stream, which the task may put to."
  type        = string
}

variable "dlq_arn" {
  description = "ARN of the dead-letter stream, which the task may put to."
  type        = string
}

variable "symbols" {
  description = "Base assets the producer watches (CTC_SYMBOLS)."
  type        = string
}

variable "binance_ws" {
  description = "Binance's WebSocket base URL (its market-data-only endpoint is wss://data-stream.binance.vision)."
  type        = string
}

variable "binance_rest" {
  description = "Binance's REST base URL, for gap repair (its market-data-only endpoint is https://data-api.binance.vision)."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the task's CloudWatch log group."
  type        = number
}

variable "kafka" {
  description = "Add an MSK Serverless cluster (IAM authentication) in the producer's VPC and make the producer write to it instead of Kinesis."
  type        = bool
  default     = false
}

variable "kafka_client_security_groups" {
  description = "Security groups of other Kafka clients (a consumer host in this VPC) allowed to reach the cluster."
  type        = list(string)
  default     = []
}

variable "account_id" {
  description = "The account, for the topic ARNs of the producer's Kafka policy."
  type        = string
}
