provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = var.project
      ManagedBy = "terraform"
      Source    = "github.com/coattailcapital/ctc/deploy/terraform"
    }
  }
}

# The billing alarm lives in us-east-1, where EstimatedCharges is published: the monitoring
# module sets region = "us-east-1" on its resources (the 6.x provider's per-resource region)
# instead of using a second, aliased provider.
