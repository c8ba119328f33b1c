variable "region" {
  description = "AWS region of the stack. Default eu-west-1 (Ireland): Binance answers HTTP 451 to AWS's US regions, and serves Ireland; see README \"Deploy to AWS\"."
  type        = string
  default     = "eu-west-1"
}

variable "project" {
  description = "Name prefix of every resource (coattail gives coattail-trades, coattail-alerts, …)."
  type        = string
  default     = "coattail"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.project))
    error_message = "project must be 2-21 lowercase letters, digits or dashes, starting with a letter (it prefixes bucket names)."
  }
}

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (confirm the subscription mail). Empty: no subscription."
  type        = string
  default     = ""
}

variable "lambda_zip_dir" {
  description = "Folder with api.zip, stream.zip and batch.zip from scripts/build-lambdas.sh, relative to this folder."
  type        = string
  default     = "../../build/lambda"
}

variable "stream_zip" {
  description = "Zip in lambda_zip_dir the stream function runs: stream (the built-in detectors), or a build of your own such as customdetector (examples/customdetector/lambda)."
  type        = string
  default     = "stream"
}

variable "streaming_enabled" {
  description = "Whether the stream Lambda's Kinesis event-source mapping starts enabled (deploy/scripts/start-streaming.sh and stop-streaming.sh toggle it)."
  type        = bool
  default     = true
}

variable "batch_schedule_enabled" {
  description = "Whether the daily 02:00 UTC EventBridge rule starts the batch workflow (disabled by default: enable for a demo)."
  type        = bool
  default     = false
}

variable "batch_symbols" {
  description = "Symbols the scheduled historical load fetches from Binance (the batch code's DefaultSymbols; deploy/defaults_test.go keeps them equal)."
  type        = list(string)
  default     = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
}

variable "min_quality_score" {
  description = "Quality score (0-100) a reprocess run needs before the workflow publishes it."
  type        = number
  default     = 95
}

variable "dashboard_origins" {
  description = "Origins (scheme://host[:port]) of a dashboard served from elsewhere than the API itself, e.g. an S3 or CloudFront site: the only origins the HTTP API's CORS (and CTC_CORS_ORIGINS) allow. Empty: no cross-origin access; the dashboard the API serves at / is same-origin and needs none."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for o in var.dashboard_origins : can(regex("^https?://[a-z0-9.-]+(:[0-9]+)?$", o))])
    error_message = "dashboard_origins must be origins like https://dashboard.example.com (no wildcard, path or trailing slash)."
  }
}

variable "api_users_mfa" {
  description = "MFA for the API's Cognito users: OPTIONAL (each user may add a TOTP app) or ON (required)."
  type        = string
  default     = "OPTIONAL"

  validation {
    condition     = contains(["OPTIONAL", "ON"], var.api_users_mfa)
    error_message = "api_users_mfa must be OPTIONAL or ON."
  }
}

variable "api_throttle_rate" {
  description = "HTTP API steady-state request rate limit (requests per second)."
  type        = number
  default     = 50
}

variable "api_throttle_burst" {
  description = "HTTP API burst limit (requests)."
  type        = number
  default     = 100
}

variable "billing_alarm_usd" {
  description = "Estimated monthly charges (USD) above which the billing alarm fires."
  type        = number
  default     = 25
}

variable "log_retention_days" {
  description = "Retention of the Lambda, API and Step Functions log groups."
  type        = number
  default     = 14
}

variable "analyst_trusted_principals" {
  description = "IAM principal ARNs allowed to assume the analyst role (with MFA). Empty: the account root, i.e. any IAM user the account lets assume it."
  type        = list(string)
  default     = []
}

variable "producer_image" {
  description = "The producer's container image by digest (<repository_url>@sha256:…, from scripts/build-producer-image.sh -push). Empty: the ECR repository only, no ECS service yet."
  type        = string
  default     = ""
}

variable "producer_symbols" {
  description = "Base assets the hosted producer watches on Binance (X-USDT) and Coinbase (X-USD)."
  type        = string
  default     = "BTC,ETH,SOL"
}

variable "binance_ws" {
  description = "Binance WebSocket base URL for the hosted producer. Binance answers HTTP 451 to many US addresses; its market-data-only endpoint is wss://data-stream.binance.vision."
  type        = string
  default     = "wss://data-stream.binance.vision"
}

variable "binance_rest" {
  description = "Binance REST base URL for the hosted producer's gap repair (market-data-only: https://data-api.binance.vision)."
  type        = string
  default     = "https://data-api.binance.vision"
}

variable "kafka_enabled" {
  description = "The optional Kafka path: an MSK Serverless cluster (IAM authentication) that the hosted producer writes to instead of Kinesis, for Kafka consumers (adapters/consumer -kafka-brokers, kafkarunner). Off by default: Kinesis is the path the rest of the stack reads."
  type        = bool
  default     = false
}
