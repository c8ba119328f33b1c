output "cluster_name" {
  description = "The ECS cluster."
  value       = aws_ecs_cluster.producer.name
}

output "service_name" {
  description = "The ECS service, empty until an image is given."
  value       = try(aws_ecs_service.producer[0].name, "")
}

output "repository_url" {
  description = "The ECR repository of the image."
  value       = aws_ecr_repository.producer.repository_url
}

output "log_group" {
  description = "The task's CloudWatch log group."
  value       = aws_cloudwatch_log_group.producer.name
}

output "kafka_bootstrap_brokers" {
  description = "MSK Serverless bootstrap brokers (SASL/IAM), empty when var.kafka is off."
  value       = try(aws_msk_serverless_cluster.kafka[0].bootstrap_brokers_sasl_iam, "")
}

output "kafka_cluster_arn" {
  description = "The MSK Serverless cluster, empty when var.kafka is off."
  value       = try(aws_msk_serverless_cluster.kafka[0].arn, "")
}
