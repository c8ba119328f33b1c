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
