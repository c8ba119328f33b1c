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

# The billing metric EstimatedCharges exists only in us-east-1, whatever the stack's region.
provider "aws" {
  alias  = "billing"
  region = "us-east-1"
}
