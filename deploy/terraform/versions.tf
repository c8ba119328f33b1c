# Pinned tool and provider versions. Local state by default; backend.tf.example shows the S3
# backend with DynamoDB locking for a shared deployment. The provider is pinned to 6.47.x, the 6.x
# line (per-resource region, GSI key_schema) that scripts/check-infra.sh --plan validates and plans
# against: a build of its commit 5f2286d6d836 (6.47.0 and a week of fixes, 2026-06-02).
terraform {
  required_version = ">= 1.6.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.47.0"
    }
  }
}
