output "stream_name" {
  description = "Kinesis trade stream (CTC_STREAM)."
  value       = module.kinesis.stream_name
}

output "dlq_stream_name" {
  description = "Kinesis dead-letter stream (CTC_DLQ_STREAM)."
  value       = module.kinesis.dlq_name
}

output "table_names" {
  description = "DynamoDB tables: alerts, aggregates, state, leases."
  value       = module.dynamodb.names
}

output "bucket_names" {
  description = "S3 buckets: raw, processed, athena."
  value       = module.storage.bucket_names
}

output "warehouse" {
  description = "Iceberg warehouse (CTC_WAREHOUSE)."
  value       = module.storage.warehouse
}

output "glue_database" {
  description = "Glue database (CTC_NAMESPACE)."
  value       = module.storage.glue_database
}

output "api_url" {
  description = "HTTP API base URL (dashboard at /, GET /alerts, GET /metrics/{symbol})."
  value       = module.lambdas.api_url
}

output "api_user_pool_id" {
  description = "Cognito user pool whose users may call the API (aws cognito-idp admin-create-user --user-pool-id …)."
  value       = module.lambdas.user_pool_id
}

output "api_client_id" {
  description = "Cognito app client id for sign-in (aws cognito-idp initiate-auth --client-id …)."
  value       = module.lambdas.user_pool_client_id
}

output "function_names" {
  description = "Lambda function names: stream, api, batch."
  value       = module.lambdas.function_names
}

output "event_source_mapping_uuid" {
  description = "The stream Lambda's event-source mapping (deploy/scripts/start-streaming.sh, stop-streaming.sh)."
  value       = module.lambdas.event_source_mapping_uuid
}

output "stream_failures_queue_url" {
  description = "SQS on-failure destination of the stream Lambda."
  value       = module.lambdas.stream_failures_queue_url
}

output "state_machine_arn" {
  description = "Batch workflow (Step Functions)."
  value       = module.workflow.state_machine_arn
}

output "schedule_rule_name" {
  description = "Daily EventBridge rule of the batch workflow."
  value       = module.workflow.schedule_rule_name
}

output "alarm_topic_arn" {
  description = "SNS topic of alarms and workflow failures."
  value       = module.monitoring.topic_arn
}

output "dashboard_url" {
  description = "CloudWatch dashboard."
  value       = "https://${var.region}.console.aws.amazon.com/cloudwatch/home?region=${var.region}#dashboards:name=${module.monitoring.dashboard_name}"
}

output "producer_role_arn" {
  description = "IAM role for adapters/producer."
  value       = module.governance.producer_role_arn
}

output "producer_instance_profile" {
  description = "EC2 instance profile of the producer role."
  value       = module.governance.producer_instance_profile
}

output "consumer_role_arn" {
  description = "IAM role for adapters/consumer."
  value       = module.governance.consumer_role_arn
}

output "consumer_instance_profile" {
  description = "EC2 instance profile of the consumer role."
  value       = module.governance.consumer_instance_profile
}

output "analyst_role_arn" {
  description = "Analyst role (MFA, Athena, Lake Formation SELECT)."
  value       = module.governance.analyst_role_arn
}

output "athena_workgroup" {
  description = "Athena workgroup for queries."
  value       = module.governance.athena_workgroup
}

output "ssm_prefix" {
  description = "SSM parameter path of the service-discovery parameters."
  value       = "/${var.project}/"
}

output "region" {
  description = "AWS region of the stack."
  value       = var.region
}

output "producer_repository_url" {
  description = "ECR repository of the producer's image (push with scripts/build-producer-image.sh -push <url>:<tag>)."
  value       = module.producer.repository_url
}

output "producer_cluster" {
  description = "ECS cluster of the hosted producer."
  value       = module.producer.cluster_name
}

output "producer_service" {
  description = "ECS service of the hosted producer (empty until producer_image is set); the streaming scripts scale it to 1 and 0."
  value       = module.producer.service_name
}

output "kafka_bootstrap_brokers" {
  description = "MSK Serverless bootstrap brokers (SASL/IAM: CTC_KAFKA_BROKERS with CTC_KAFKA_SASL=aws-msk-iam); empty unless kafka_enabled."
  value       = module.producer.kafka_bootstrap_brokers
}
