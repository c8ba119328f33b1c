// Package deploy holds the AWS deployment of ctc: the Terraform under terraform/ (Kinesis, S3,
// Glue, DynamoDB, the Lambdas, API Gateway, Step Functions, EventBridge, CloudWatch, SNS, SSM,
// IAM and Lake Formation), the start/stop scripts under scripts/, and the small programs the build
// and the checks run (internal/zipper, internal/hclfmt, and internal/fakests, the loopback STS
// that lets scripts/check-infra.sh --plan plan offline). Its tests check the Step Functions
// definition against the Terraform that renders it, that a Lambda zip is reproducible, the
// Terraform's defaults against the code's constants, and — given the JSON of a real plan, which
// scripts/check-infra.sh --plan makes — the planned resources, IAM policies, Lambda environments,
// alarms and lifecycle rules against what the code reads and emits.
//
// The package has no Go API; README.md's "Deploy to AWS" section is the user's guide.
package deploy
