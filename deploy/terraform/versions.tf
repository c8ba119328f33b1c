# Pinned tool and provider versions. Local state by default; backend.tf.example shows the S3
# backend with DynamoDB locking for a shared deployment.
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}
